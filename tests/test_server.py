from __future__ import annotations

import concurrent.futures
import socket
import threading
import time

import chess
import httpx
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

import engine  # noqa: E402
from engine.server import create_app  # noqa: E402
from engine.server_config import ServerConfig  # noqa: E402

WHITE_MATES_IN_ONE = "6k1/5ppp/8/8/8/8/8/R5K1 w - - 0 1"
BLACK_MATES_IN_ONE = "r5k1/8/8/8/8/8/5PPP/6K1 b - - 0 1"
SCHOLARS_MATE = "startpos moves e4 e5 Qh5 Nc6 Bc4 Nf6 Qxf7"


@pytest.fixture(scope="module")
def network(policy_network) -> engine.Engine:
    return engine.load(policy_network)


@pytest.fixture(scope="module")
def client(network) -> TestClient:
    config = ServerConfig(cloud_eval_nodes=64, max_nodes=500, max_batch=8, max_search_batch=4)
    return TestClient(create_app(network, config))


def test_health_and_docs(client, network) -> None:
    health = client.get("/healthz").json()
    assert health == {"status": "ok", "network": network.name, "policy_head": True,
                      "in_flight": 0, "max_in_flight": 64}  # fmt: skip
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/cloud-eval", "/v1/evaluate", "/healthz"} <= set(paths)


def test_cloud_eval_has_the_lichess_shape(client) -> None:
    fen = chess.Board().fen()
    response = client.get("/api/cloud-eval", params={"fen": fen, "multiPv": 3})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"fen", "knodes", "depth", "pvs"}
    assert body["fen"] == fen and isinstance(body["knodes"], int) and body["depth"] >= 1
    assert len(body["pvs"]) == 3
    for pv in body["pvs"]:
        assert set(pv) == {"moves", "cp"} and isinstance(pv["cp"], int)
        board = chess.Board(fen)
        for move in pv["moves"].split():
            board.push_uci(move)
    assert len({pv["moves"].split()[0] for pv in body["pvs"]}) == 3


@pytest.mark.parametrize(("fen", "mate"), [(WHITE_MATES_IN_ONE, 1), (BLACK_MATES_IN_ONE, -1)])
def test_cloud_eval_mates_are_from_whites_view(client, fen, mate) -> None:
    (pv,) = client.get("/api/cloud-eval", params={"fen": fen}).json()["pvs"]
    assert pv["mate"] == mate and "cp" not in pv


def test_cloud_eval_errors(client) -> None:
    bad = client.get("/api/cloud-eval", params={"fen": "rnbqkbnr/pppppppp w"})
    assert bad.status_code == 400 and "bad FEN" in bad.json()["detail"]
    mated = chess.Board()
    for san in SCHOLARS_MATE.split()[2:]:
        mated.push_san(san)
    assert client.get("/api/cloud-eval", params={"fen": mated.fen()}).status_code == 404
    assert client.get("/api/cloud-eval").status_code == 422
    assert (
        client.get("/api/cloud-eval", params={"fen": "startpos", "multiPv": 0}).status_code == 422
    )
    assert (
        client.get("/api/cloud-eval", params={"fen": "startpos", "multiPv": 99}).status_code == 400
    )
    assert (
        client.get("/api/cloud-eval", params={"fen": "startpos", "multiPv": "two"}).status_code
        == 422
    )


def test_serve_binds_to_loopback_unless_told() -> None:
    import argparse

    from engine.server_config import add_arguments, config_from_args

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert (config_from_args(parser.parse_args([])).host, ServerConfig().host) == (
        "127.0.0.1",
        "127.0.0.1",
    )
    assert config_from_args(parser.parse_args(["--host", "0.0.0.0"])).host == "0.0.0.0"


def test_evaluate_static_batch(client, network) -> None:
    positions = ["startpos", {"fen": "startpos", "moves": ["e4", "c7c5"]}, WHITE_MATES_IN_ONE]
    response = client.post("/v1/evaluate", json={"positions": positions})
    assert response.status_code == 200
    results = response.json()["results"]
    expected = [network.evaluate("startpos"), network.evaluate("startpos", ["e4", "c5"]),
                network.evaluate(WHITE_MATES_IN_ONE)]  # fmt: skip
    for result, single in zip(results, expected, strict=True):
        assert result["fen"] == single.fen and result["cp"] == single.cp
        assert result["value"] == pytest.approx(single.value, abs=1e-6)
        assert result["wdl"] == list(single.wdl) and result["best_move"] is None
        assert result["nodes"] == 0 and result["lines"] == []


def test_evaluate_with_search(client) -> None:
    body = {"positions": [WHITE_MATES_IN_ONE, "startpos", SCHOLARS_MATE], "nodes": 60,
            "multipv": 2}  # fmt: skip
    mate, start, over = client.post("/v1/evaluate", json=body).json()["results"]
    assert over["mate"] == 0 and over["best_move"] is None and over["lines"] == []
    assert mate["best_move"] == "a1a8" and mate["mate"] == 1 and mate["cp"] is None
    assert start["nodes"] >= 60 and len(start["lines"]) == 2
    assert chess.Move.from_uci(start["best_move"]) in chess.Board().legal_moves
    assert start["lines"][0]["moves"][0] == start["best_move"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"positions": ["startpos", "not a fen"]}, 400, "position 1: bad FEN"),
        ({"positions": [{"fen": "startpos", "moves": ["e2e5"]}]}, 400, "not legal"),
        ({"positions": ["startpos moves e4 0000"]}, 400, "move 2 ('0000') is not legal"),
        ({"positions": ["8/8/8/8/8/8/8/8 w - - 0 1"]}, 400, "no white king"),
        ({"positions": ["startpos"] * 9}, 413, "at most 8"),
        ({"positions": ["startpos"] * 5, "nodes": 10}, 413, "at most 4"),
        ({"positions": ["startpos"], "nodes": 501}, 400, "nodes is at most 500"),
        ({"positions": "startpos"}, 422, None),
        ({"positions": [5]}, 422, None),
        ({"positions": ["startpos"], "nodes": "many"}, 422, None),
        ({"positions": ["startpos"], "nodes": 0}, 422, None),
        ({}, 422, None),
    ],
)
def test_evaluate_rejects_bad_requests(client, body, status, message) -> None:
    response = client.post("/v1/evaluate", json=body)
    assert response.status_code == status
    if message:
        assert message in response.json()["detail"]


def test_malformed_json_is_422(client) -> None:
    response = client.post(
        "/v1/evaluate", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422


# --- a real server --------------------------------------------------------------------


@pytest.fixture
def serve():
    """Starts uvicorn on a free loopback port in a thread; yields its base URL."""
    import uvicorn

    servers = []

    def start(app) -> str:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(app, log_config=None))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        servers.append((server, thread))
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


def test_fifty_concurrent_requests_over_http(serve, network) -> None:
    url = serve(create_app(network, ServerConfig(cloud_eval_nodes=32)))
    board, fens = chess.Board(), []
    for san in [
        "e4",
        "c5",
        "Nf3",
        "d6",
        "d4",
        "cxd4",
        "Nxd4",
        "Nf6",
        "Nc3",
        "a6",
        "Be3",
        "e5",
        "Nb3",
        "Be6",
        "f3",
        "Be7",
        "Qd2",
        "O-O",
    ]:
        board.push_san(san)
        fens.append(board.fen())
    expected = {fen: network.evaluate(fen) for fen in fens}

    def ask(index: int) -> tuple[int, dict, str]:
        fen = fens[index % len(fens)]
        with httpx.Client(base_url=url, timeout=60) as http:
            if index % 5 == 0:
                response = http.get("/api/cloud-eval", params={"fen": fen})
            else:
                response = http.post("/v1/evaluate", json={"positions": [fen]})
        return response.status_code, response.json(), fen

    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(ask, range(50)))
    assert [status for status, _, _ in answers] == [200] * 50
    for index, (_, body, fen) in enumerate(answers):
        if index % 5 == 0:
            assert body["fen"] == fen and body["pvs"]
            assert (
                chess.Move.from_uci(body["pvs"][0]["moves"].split()[0])
                in chess.Board(fen).legal_moves
            )
        else:
            (result,) = body["results"]
            assert result["fen"] == fen and result["cp"] == expected[fen].cp


def test_the_limit_counts_requests_still_waiting_for_a_worker_thread(serve, network) -> None:
    # More requests in flight than uvicorn's thread pool has threads (40): the ones
    # waiting for a thread count too, so the limit is what the config says. One long
    # search holds the only search thread; the short ones queue behind it.
    limit = 44
    config = ServerConfig(max_in_flight=limit, max_nodes=100_000, max_seconds=4.0,
                          search_threads=1)  # fmt: skip
    url = serve(create_app(network, config))

    def in_flight() -> int:
        return httpx.get(f"{url}/healthz").json()["in_flight"]

    def wait_for(count: int) -> None:
        deadline = time.monotonic() + 10
        while in_flight() < count:
            assert time.monotonic() < deadline
            time.sleep(0.02)

    def post(nodes: int) -> httpx.Response:
        body = {"positions": ["startpos"], "nodes": nodes}
        return httpx.post(f"{url}/v1/evaluate", json=body, timeout=60)

    with concurrent.futures.ThreadPoolExecutor(limit) as pool:
        answers = [pool.submit(post, 100_000)]
        wait_for(1)
        answers += [pool.submit(post, 8) for _ in range(limit - 1)]
        wait_for(limit)
        busy = httpx.post(f"{url}/v1/evaluate", json={"positions": ["startpos"]})
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
        assert [answer.result().status_code for answer in answers] == [200] * limit


def test_requests_over_the_limit_get_503(serve, network) -> None:
    config = ServerConfig(max_in_flight=1, max_nodes=100_000, max_seconds=5.0)
    url = serve(create_app(network, config))
    slow = threading.Thread(
        target=httpx.post,
        args=(f"{url}/v1/evaluate",),
        kwargs={"json": {"positions": ["startpos"], "nodes": 100_000}, "timeout": 60},
    )
    slow.start()
    deadline = time.monotonic() + 10
    while httpx.get(f"{url}/healthz").json()["in_flight"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    busy = httpx.post(f"{url}/v1/evaluate", json={"positions": ["startpos"]})
    assert busy.status_code == 503 and "busy" in busy.json()["detail"]
    slow.join()
    assert httpx.post(f"{url}/v1/evaluate", json={"positions": ["startpos"]}).status_code == 200
