"""The searcher: legal moves, found mates, draws by rule, prompt stop, tree reuse."""

from __future__ import annotations

import random
import threading
import time

import chess
import numpy as np
import pytest

from engine.evaluator import MaterialEvaluator, RandomEvaluator
from engine.mcts import DRAW, LOSS, MCTS, SearchConfig, SearchLimit, _terminal_value


def final_info(searcher: MCTS, board: chess.Board, limit: SearchLimit):
    infos = list(searcher.search(board, limit))
    assert infos
    return infos[-1]


def suite(shared_data, name: str) -> list[chess.Board]:
    lines = (shared_data / "suites" / name).read_text().splitlines()
    return [chess.Board(line.strip()) for line in lines if line.strip()]


def test_always_legal_moves_and_principal_variations(shared_data) -> None:
    lines = (shared_data / "suites" / "perft-marcel.epd").read_text().splitlines()
    rng = random.Random(1)
    for line in rng.sample(lines, 25):
        board = chess.Board(line.split(";")[0].strip())
        if board.is_game_over():
            continue
        info = final_info(MCTS(RandomEvaluator()), board, SearchLimit(nodes=120))
        assert info.best.move in board.legal_moves
        replay = board.copy()
        for move in info.best.pv:
            assert move in replay.legal_moves
            replay.push(move)
        assert {line.move for line in info.lines} == set(board.legal_moves)


def test_finds_every_mate_in_one(shared_data) -> None:
    for board in suite(shared_data, "mate1.fen"):
        info = final_info(MCTS(MaterialEvaluator()), board, SearchLimit(nodes=500))
        assert info.best.mate == 1, board.fen()
        after = board.copy()
        after.push(info.best.move)
        assert after.is_checkmate()


def test_finds_mates_in_two_with_the_material_evaluator(shared_data) -> None:
    boards = suite(shared_data, "mate2.fen")[:40]
    found = 0
    for board in boards:
        info = final_info(MCTS(MaterialEvaluator()), board, SearchLimit(nodes=2000))
        if info.best.mate is not None and info.best.mate > 0:
            assert info.best.mate <= 2, board.fen()
            found += 1
    assert found >= 36, f"{found}/{len(boards)}"


def test_being_mated_is_reported_as_a_negative_mate() -> None:
    # Black is in check and must play Kg8, then Qa8 mates: mated in one.
    board = chess.Board("7k/1p6/6K1/8/8/8/8/Q7 b - - 0 1")
    info = final_info(MCTS(MaterialEvaluator()), board, SearchLimit(nodes=3000))
    assert [(line.move.uci(), line.mate) for line in info.lines] == [("h8g8", -1)]


def test_rules_decide_terminal_positions() -> None:
    mated = chess.Board("7k/6Q1/6K1/8/8/8/8/8 b - - 0 1")
    assert _terminal_value(mated, at_root=False) == LOSS
    stalemate = chess.Board("7k/5Q2/6K1/8/8/8/8/8 b - - 0 1")
    assert _terminal_value(stalemate, at_root=False) == DRAW
    assert _terminal_value(chess.Board("8/8/4k3/8/8/4K3/8/8 w - - 0 1"), at_root=False) == DRAW
    fifty = chess.Board("8/8/4k3/8/8/4K3/8/4Q3 w - - 100 80")
    assert _terminal_value(fifty, at_root=False) == DRAW
    board = chess.Board()
    for san in ["Nf3", "Nf6", "Ng1", "Ng8"]:
        board.push_san(san)
    assert _terminal_value(board, at_root=False) == DRAW  # back where the game began
    assert _terminal_value(board, at_root=True) is None


def test_a_move_back_to_a_position_of_the_game_is_a_drawn_child() -> None:
    # The tree copies only the moves since the last capture; the repetition is after it.
    board = chess.Board()
    for san in ["e4", "d5", "exd5", "Qxd5", "Nc3", "Qd8", "Nf3", "Nf6", "Ng1"]:
        board.push_san(san)
    searcher = MCTS(MaterialEvaluator(), SearchConfig(mode="value"))
    list(searcher.search(board, SearchLimit(nodes=40)))
    root = searcher.root
    back = root.moves.index(board.parse_san("Ng8"))  # the position after 6. ... Qd8
    assert root.child_proven[back] == DRAW
    assert (np.delete(root.child_proven, back) != DRAW).all()


def test_fifty_move_rule_saves_the_side_that_is_behind() -> None:
    # White is a queen for a rook down, but every move (none captures) ends the game
    # drawn by the fifty-move rule: the root is a proven draw.
    board = chess.Board("4k3/8/8/3q4/8/8/8/R3K3 w - - 99 90")
    assert not any(board.is_capture(move) for move in board.legal_moves)
    info = final_info(MCTS(MaterialEvaluator()), board, SearchLimit(nodes=400))
    assert info.best.value == 0.0 and info.wdl == (0, 1000, 0)
    assert all(line.value == 0.0 for line in info.lines)


def test_stop_from_another_thread_returns_within_50_ms() -> None:
    searcher = MCTS(MaterialEvaluator())
    board = chess.Board("r1bqkbnr/pppp1ppp/2n5/4p3/2B1P3/5N2/PPPP1PPP/RNBQK2R b KQkq - 3 3")
    infos = []
    thread = threading.Thread(target=lambda: infos.extend(searcher.search(board, SearchLimit())))
    thread.start()
    time.sleep(0.5)
    stopped_at = time.monotonic()
    searcher.stop()
    thread.join()
    assert time.monotonic() - stopped_at < 0.05
    assert infos and infos[-1].best.move in board.legal_moves


def test_movetime_and_node_limits_hold() -> None:
    start = time.monotonic()
    info = final_info(MCTS(MaterialEvaluator()), chess.Board(), SearchLimit(movetime=0.3))
    assert 0.25 < time.monotonic() - start < 0.6
    info = final_info(MCTS(MaterialEvaluator(), SearchConfig(batch_size=4)), chess.Board(),
                      SearchLimit(nodes=50))  # fmt: skip
    assert 50 <= info.nodes < 50 + 4


def test_tree_reuse_keeps_the_subtree() -> None:
    searcher = MCTS(MaterialEvaluator())
    board = chess.Board()
    info = final_info(searcher, board, SearchLimit(nodes=300))
    reply_visits = {line.move: line.visits for line in info.lines}
    board.push(info.best.move)
    kept = searcher.root.children[searcher.root.moves.index(info.best.move)]
    final_info(searcher, board, SearchLimit(nodes=1))
    assert searcher.root is kept and kept.visits >= reply_visits[info.best.move]
    searcher.reset()
    final_info(searcher, board, SearchLimit(nodes=1))
    assert searcher.root is not kept


def test_untrained_network_plays_a_whole_game_against_a_random_mover(
    tmp_path, make_network
) -> None:
    from engine.evaluator import NetworkEvaluator

    searcher = MCTS(NetworkEvaluator(make_network(tmp_path)))
    rng = random.Random(7)
    board = chess.Board()
    while not board.is_game_over(claim_draw=True) and board.ply() < 120:
        if board.turn == chess.WHITE:
            move = final_info(searcher, board, SearchLimit(nodes=30)).best.move
        else:
            move = rng.choice(list(board.legal_moves))
        assert move in board.legal_moves
        board.push(move)
    assert board.ply() >= 20 or board.is_game_over()


def test_policy_mode_searches_with_a_policy_head(tmp_path, make_network) -> None:
    from engine.evaluator import NetworkEvaluator

    network = NetworkEvaluator(make_network(tmp_path, policy=True))
    searcher = MCTS(network, SearchConfig(mode="policy", batch_size=4))
    board = chess.Board("r1bqkbnr/pppp1ppp/2n5/4p2Q/2B1P3/8/PPPP1PPP/RNB1K1NR w KQkq - 2 3")
    info = final_info(searcher, board, SearchLimit(nodes=300))
    assert info.best.move == chess.Move.from_uci("h5f7") and info.best.mate == 1
    with pytest.raises(ValueError, match="policy head"):
        final_info(MCTS(MaterialEvaluator(), SearchConfig(mode="policy")), board,
                   SearchLimit(nodes=5))  # fmt: skip


def test_policy_mode_proves_mates_in_one_the_policy_ignores(shared_data, tmp_path,
                                                            make_network) -> None:  # fmt: skip
    from engine.evaluator import NetworkEvaluator

    # An untrained policy knows nothing of mates, and no prior goes to checks: the
    # rules alone must prove the mate when the root is expanded, before any visit.
    network = NetworkEvaluator(make_network(tmp_path, policy=True))
    searcher = MCTS(network, SearchConfig(mode="policy", forcing_prior=0.0))
    for board in suite(shared_data, "mate1.fen")[:30]:
        searcher.reset()
        info = final_info(searcher, board, SearchLimit(nodes=1))
        assert info.best.mate == 1 and info.nodes <= 1, board.fen()
        after = board.copy()
        after.push(info.best.move)
        assert after.is_checkmate()


def test_shipped_network_finds_mates_in_two_in_policy_mode(shared_data) -> None:
    from engine.evaluator import NetworkEvaluator
    from engine.network_files import default_network

    network = NetworkEvaluator(default_network())
    assert network.has_policy
    boards = suite(shared_data, "mate2.fen")[:20]
    found = 0
    for board in boards:
        info = final_info(MCTS(network, SearchConfig(mode="policy")), board,
                          SearchLimit(nodes=800))  # fmt: skip
        found += info.best.mate is not None and 0 < info.best.mate <= 2
    assert found >= 18, f"{found}/{len(boards)}"


def test_policy_temperature_divides_the_logits() -> None:
    from engine.evaluator import NetworkEvaluator
    from engine.network_files import default_network

    network = NetworkEvaluator(default_network())
    board = chess.Board("r1bqkbnr/pppp1ppp/2n5/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R w KQkq - 2 3")
    log_priors = []
    for temperature in (1.0, 3.0):
        searcher = MCTS(network, SearchConfig(mode="policy", forcing_prior=0.0,
                                              policy_temperature=temperature))  # fmt: skip
        final_info(searcher, board, SearchLimit(nodes=1))
        log_prior = np.log(searcher.root.prior.astype(np.float64))
        log_priors.append(log_prior - log_prior.mean())
    np.testing.assert_allclose(log_priors[0], 3.0 * log_priors[1], atol=1e-4)
    assert np.ptp(log_priors[0]) > 2.0  # the shipped policy does prefer some moves
