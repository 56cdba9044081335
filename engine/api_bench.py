"""The API benchmark: static evaluations per second through HTTP against the Python API.

Same run, same network, same positions (distinct, so no answer comes from a cache),
same batches and the same number of concurrent callers: ``Engine.evaluate_many`` from
client threads, then ``POST /v1/evaluate`` from as many HTTP clients against a uvicorn
server on a loopback port. The ratio is the share of throughput left after JSON, HTTP
and the server's threads.
"""

from __future__ import annotations

import concurrent.futures
import socket
import threading
import time
from pathlib import Path
from typing import Any

from engine.positions import Position


def real_game_positions(path: Path, count: int) -> list[str]:
    """*count* distinct FENs from the games in *path* (every position, game by game)."""
    import io

    import chess.pgn

    from dataset.reader import iter_games

    fens: dict[str, None] = {}
    for text in iter_games(path, require_evals=False):
        game = chess.pgn.read_game(io.StringIO(text.decode(errors="replace")))
        board = game.board() if game else chess.Board()
        for move in game.mainline_moves() if game else ():
            board.push(move)
            fens[board.fen()] = None
            if len(fens) >= count:
                return list(fens)
    return list(fens)


def bench_api(
    positions: list[Position],
    *,
    weights: Path | None = None,
    batch_size: int = 64,
    clients: int = 4,
) -> dict[str, Any]:
    import httpx
    import uvicorn

    from engine.api import load
    from engine.server import create_app
    from engine.server_config import ServerConfig

    batches = [positions[i : i + batch_size] for i in range(0, len(positions), batch_size)]
    python_engine = load(weights, max_batch=batch_size * clients)
    python_engine.evaluate_many(["startpos"])  # the same warm-up as the HTTP side's
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(python_engine.evaluate_many, batches))
    python_seconds = time.perf_counter() - start

    http_engine = load(weights, max_batch=batch_size * clients)
    config = ServerConfig(max_batch=batch_size)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(http_engine, config), log_config=None))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1/evaluate"
    try:
        with httpx.Client(timeout=120) as http:
            http.post(url, json={"positions": ["startpos"]}).raise_for_status()  # warm-up

            def send(batch: list[Position]) -> int:
                response = http.post(url, json={"positions": batch})
                response.raise_for_status()
                return len(response.json()["results"])

            start = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(clients) as pool:
                answered = sum(pool.map(send, batches))
            http_seconds = time.perf_counter() - start
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    if answered != len(positions):
        raise RuntimeError(f"HTTP answered {answered} of {len(positions)} positions")
    python_rate = len(positions) / python_seconds
    http_rate = len(positions) / http_seconds
    return {
        "network": http_engine.name,
        "positions": len(positions),
        "batch_size": batch_size,
        "clients": clients,
        "python_evals_per_s": round(python_rate, 1),
        "http_evals_per_s": round(http_rate, 1),
        "ratio": round(http_rate / python_rate, 3),
        "http_network_calls": http_engine.network_calls,
        "python_network_calls": python_engine.network_calls,  # both count the warm-up
    }
