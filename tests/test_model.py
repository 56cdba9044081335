"""The network: shapes, a quiet start, heads, presets, and lossless saving."""

from __future__ import annotations

import chess
import numpy as np
import pytest

keras = pytest.importorskip("keras")

from engine.encoding import NUM_PLANES, encode_boards  # noqa: E402
from engine.model import build_value_network, multiply_adds  # noqa: E402
from engine.model_config import PRESETS, ModelConfig  # noqa: E402
from engine.moves import (  # noqa: E402
    POLICY_SIZE,
    UNDERPROMOTION_PENALTY,
    legal_move_logits,
    move_index,
    move_indices,
)


def sample_planes(count: int = 16) -> np.ndarray:
    rng = np.random.default_rng(0)
    boards = []
    board = chess.Board()
    while len(boards) < count:
        if board.is_game_over():
            board = chess.Board()
        board.push(rng.choice(list(board.legal_moves)))
        boards.append(board.copy())
    return encode_boards(boards)


def test_value_output_shape_range_and_quiet_start() -> None:
    model = build_value_network(ModelConfig(blocks=2, filters=16))
    assert model.input_shape == (None, 8, 8, NUM_PLANES)
    value = model.predict(sample_planes(), verbose=0)["value"]
    assert value.shape == (16, 1)
    # Zero-initialised last layer: the untrained net says 0, not a saturated ±1.
    np.testing.assert_array_equal(value, 0.0)


def test_trained_weights_stay_in_range() -> None:
    model = build_value_network(ModelConfig(blocks=1, filters=8))
    rng = np.random.default_rng(1)
    for weight in model.weights:
        if "kernel" in weight.path:  # large kernels drive the tanh hard into saturation
            weight.assign(rng.normal(0, 3, weight.shape).astype("float32"))
    value = model.predict(sample_planes(), verbose=0)["value"]
    assert np.all(np.abs(value) <= 1.0) and np.abs(value).max() > 0.5


def test_policy_head_and_named_layers() -> None:
    model = build_value_network(
        ModelConfig(blocks=1, filters=8, policy_head=True, squeeze_excitation=True)
    )
    outputs = model.predict(sample_planes(4), verbose=0)
    assert outputs["policy"].shape == (4, POLICY_SIZE)
    names = {layer.name for layer in model.layers}
    assert {"value", "policy", "stem_conv", "block0_se_gate", "value_head_conv"} <= names


def test_save_load_gives_identical_outputs(tmp_path) -> None:
    model = build_value_network(ModelConfig(blocks=2, filters=8, policy_head=True))
    rng = np.random.default_rng(2)
    for weight in model.weights:
        if "kernel" in weight.path:
            weight.assign(rng.normal(0, 0.3, weight.shape).astype("float32"))
    planes = sample_planes()
    before = model.predict(planes, verbose=0)
    path = tmp_path / "net.keras"
    model.save(path)
    after = keras.models.load_model(path).predict(planes, verbose=0)
    for head in ("value", "policy"):
        np.testing.assert_array_equal(before[head], after[head])


def test_presets_grow_in_parameters_and_work() -> None:
    sizes = []
    for name in PRESETS:
        model = build_value_network(ModelConfig.preset(name))
        sizes.append((model.count_params(), multiply_adds(model)))
    assert sizes == sorted(sizes) and sizes[0][0] < sizes[-1][0]
    # 6x64: 12 convolutions 3x3x64x64 on 64 squares dominate the multiply-adds.
    assert 12 * 64 * 9 * 64 * 64 < sizes[1][1] < 1.2 * 12 * 64 * 9 * 64 * 64 + 3e6


def test_bad_preset_is_refused() -> None:
    with pytest.raises(ValueError, match="6x64"):
        ModelConfig.preset("big")


def test_move_indices_mirror_black_moves() -> None:
    e2e4 = chess.Move.from_uci("e2e4")
    e7e5 = chess.Move.from_uci("e7e5")
    assert move_index(e2e4, chess.WHITE) == move_index(e7e5, chess.BLACK) == 12 * 64 + 28
    codes = np.array(
        [e2e4.from_square | e2e4.to_square << 6, e7e5.from_square | e7e5.to_square << 6, 0xFFFF]
    )
    np.testing.assert_array_equal(move_indices(codes, [True, False, True]), [796, 796, -1])


def test_promotions_share_the_queens_logit_and_underpromotions_pay_for_it() -> None:
    board = chess.Board("8/2P5/8/8/8/8/5k2/K7 w - - 0 1")
    moves = list(board.legal_moves)
    policy = np.zeros(POLICY_SIZE, np.float32)
    policy[move_index(chess.Move.from_uci("c7c8q"), chess.WHITE)] = 4.0
    logits = dict(zip((m.uci() for m in moves), legal_move_logits(policy, moves, board.turn),
                      strict=True))  # fmt: skip
    assert logits["c7c8q"] == 4.0
    for piece in "rbn":
        assert logits[f"c7c8{piece}"] == 4.0 - UNDERPROMOTION_PENALTY
    assert logits["a1b1"] == 0.0
