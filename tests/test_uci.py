"""The UCI engine driven by real clients: python-chess, a raw pipe, and Stockfish."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import time

import chess
import chess.engine
import pytest

ENGINE = [sys.executable, "-m", "engine.uci"]
STOCKFISH = shutil.which("stockfish") or "/usr/games/stockfish"


@pytest.fixture
def engine():
    with chess.engine.SimpleEngine.popen_uci(ENGINE, timeout=30) as engine:
        yield engine


def test_uciok_arrives_within_a_second() -> None:
    start = time.monotonic()
    process = subprocess.Popen(ENGINE, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    process.stdin.write("uci\n")
    process.stdin.flush()
    lines = []
    while not lines or lines[-1] != "uciok":
        lines.append(process.stdout.readline().strip())
    elapsed = time.monotonic() - start
    process.stdin.write("quit\n")
    process.stdin.flush()
    process.wait(timeout=10)
    assert elapsed < 1.0, elapsed
    assert lines[0].startswith("id name") and any("SyzygyPath" in line for line in lines)


def test_plays_legal_moves_at_node_and_time_limits(engine) -> None:
    board = chess.Board()
    for limit in (chess.engine.Limit(nodes=60), chess.engine.Limit(time=0.2)):
        result = engine.play(board, limit)
        assert result.move in board.legal_moves
        board.push(result.move)


def test_analyse_with_multipv(engine) -> None:
    board = chess.Board("r1bqkbnr/pppp1ppp/2n5/4p2Q/2B1P3/8/PPPP1PPP/RNB1K1NR w KQkq - 2 3")
    infos = engine.analyse(board, chess.engine.Limit(nodes=300), multipv=3)
    assert len(infos) == 3
    assert infos[0]["pv"][0] == chess.Move.from_uci("h5f7")
    assert infos[0]["score"].relative == chess.engine.Mate(1)
    assert 0 <= infos[0]["hashfull"] <= 1000


def test_infinite_analysis_stops_on_request(engine) -> None:
    with engine.analysis(chess.Board()) as analysis:
        time.sleep(0.6)
        assert analysis.info.get("nodes", 0) > 0
        analysis.stop()
        best = analysis.wait()
    assert best.move in chess.Board().legal_moves


def test_ponder_and_ponderhit(engine) -> None:
    board = chess.Board()
    first = engine.play(board, chess.engine.Limit(time=0.2), ponder=True)
    board.push(first.move)
    if first.ponder is not None:
        board.push(first.ponder)  # the opponent plays the expected move: ponderhit
    else:
        board.push(next(iter(board.legal_moves)))
    second = engine.play(board, chess.engine.Limit(white_clock=5, black_clock=5), ponder=True)
    assert second.move in board.legal_moves


def test_fast_games_are_never_lost_on_time(engine) -> None:
    rng = random.Random(3)
    for _ in range(2):
        board = chess.Board()
        clock, increment = 1.0, 0.01
        while not board.is_game_over() and board.ply() < 80:
            if board.turn == chess.WHITE:
                start = time.monotonic()
                limit = chess.engine.Limit(
                    white_clock=clock, black_clock=clock, white_inc=increment, black_inc=increment
                )
                move = engine.play(board, limit).move
                clock += increment - (time.monotonic() - start)
                assert clock > 0, f"lost on time at ply {board.ply()}"
            else:
                move = rng.choice(list(board.legal_moves))
            board.push(move)


def test_garbage_between_commands_never_kills_the_engine() -> None:
    rng = random.Random(5)
    garbage = [
        "",
        "go nodes",
        "go wtime x",
        "position fen nonsense",
        "position startpos moves e2e5",
        "setoption name Nope value 1",
        "setoption name Hash value -5",
        "setoption name CPuct value fast",
        "setoption name ForcingPrior value 2",
        "\x00\x01",
        "position",
        "go searchmoves zz99",
        "ucinewgame extra",
        "debug on",
        "stop",
        "ponderhit",
        "go infinite",
        "d" * 5000,
    ]
    process = subprocess.Popen(ENGINE, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask_ready() -> None:
        process.stdin.write("isready\n")
        process.stdin.flush()
        while process.stdout.readline().strip() != "readyok":
            pass

    process.stdin.write("uci\n")
    for _ in range(60):
        line = rng.choice(garbage) + (
            "".join(chr(rng.randrange(32, 127)) for _ in range(rng.randrange(4)))
        )
        process.stdin.write(line.replace("\n", " ") + "\n")
        process.stdin.write("stop\n")
        ask_ready()
    process.stdin.write("position startpos\ngo nodes 20\n")
    process.stdin.flush()
    while not (line := process.stdout.readline()).startswith("bestmove"):
        assert line, "engine died"
    process.stdin.write("quit\n")
    process.stdin.flush()
    assert process.wait(timeout=10) == 0


def test_real_valued_options_are_checked_when_set() -> None:
    from engine.uci import UCIEngine

    lines: list[str] = []
    uci = UCIEngine(lines.append)
    uci.handle("uci")
    assert "option name ForcingPrior type string default 0.25" in lines
    for command, message in [
        ("setoption name CPuct value fast", "CPuct takes a number, not 'fast'"),
        ("setoption name ForcingPrior value 1.5", "ForcingPrior must be in [0, 1]"),
        ("setoption name PolicyTemperature value 0", "PolicyTemperature must be in [0.1, 10]"),
    ]:
        uci.handle(command)
        assert lines[-1] == f"info string error in setoption: {message}"
    uci.handle("setoption name ForcingPrior value 0.1")
    assert uci.options["forcingprior"].value == "0.1" and uci.options["cpuct"].value == "1.5"
    uci.handle("setoption name PolicyTemperature value 1.5")
    assert uci.options["policytemperature"].value == "1.5"


def test_no_legal_moves_gives_bestmove_none(engine) -> None:
    mated = chess.Board("7k/6Q1/6K1/8/8/8/8/8 b - - 0 1")
    result = engine.play(mated, chess.engine.Limit(nodes=10))
    assert result.move is None


@pytest.mark.skipif(
    not shutil.which(STOCKFISH) and not __import__("os").path.exists(STOCKFISH),
    reason="stockfish is not installed",
)
def test_a_real_game_against_stockfish(engine) -> None:
    with chess.engine.SimpleEngine.popen_uci(STOCKFISH) as stockfish:
        stockfish.configure({"Threads": 1, "Hash": 16})
        board = chess.Board()
        while not board.is_game_over(claim_draw=True) and board.ply() < 100:
            player = engine if board.turn == chess.WHITE else stockfish
            move = player.play(board, chess.engine.Limit(nodes=50)).move
            assert move in board.legal_moves
            board.push(move)
    assert board.ply() >= 10
