"""The residual CNN: a functional Keras builder, presets, and the policy move encoding.

Input: the encoder's planes ``(8, 8, NUM_PLANES)``, side to move's view. Output
``value``: a scalar in [-1, 1] for the side to move. Optional output ``policy``: 4096
logits, one per (from, to) square pair in the mover's frame (promotions share their
pawn move's entry, as the move played nearly always promotes to a queen).

The value head has BN + ReLU and a zero-initialised last layer, and each residual
block's last BN starts at gamma 0, so an untrained net outputs 0 for every board
instead of saturating the tanh (see docs/TRAINING.md for the failure this prevents).
Imports Keras; keep it out of modules that must start without TensorFlow.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import layers

from engine.encoding import NUM_PLANES
from engine.model_config import ModelConfig
from engine.moves import POLICY_SIZE

BN_MOMENTUM = 0.9
"""PyTorch's default. Keras's 0.99 lets the moving statistics lag the weights by
hundreds of steps: short runs then validate far worse than they train.

Batch normalisation is ``synchronized``: under ``tf.distribute`` the batch
statistics are reduced across replicas, so every worker keeps the same moving
statistics (a no-op on one device)."""


def _regularizer(config: ModelConfig) -> keras.regularizers.Regularizer | None:
    return keras.regularizers.L2(config.l2) if config.l2 else None


def _conv_bn(
    x: Any,
    filters: int,
    kernel: int,
    name: str,
    config: ModelConfig,
    *,
    relu: bool = True,
    zero_gamma: bool = False,
) -> Any:
    x = layers.Conv2D(
        filters,
        kernel,
        padding="same",
        use_bias=False,
        kernel_regularizer=_regularizer(config),
        name=f"{name}_conv",
    )(x)
    x = layers.BatchNormalization(
        momentum=BN_MOMENTUM,
        synchronized=True,
        gamma_initializer="zeros" if zero_gamma else "ones",
        name=f"{name}_bn",
    )(x)
    return layers.ReLU(name=f"{name}_relu")(x) if relu else x


def _residual_block(x: Any, index: int, config: ModelConfig) -> Any:
    name = f"block{index}"
    skip = x
    x = _conv_bn(x, config.filters, 3, f"{name}_a", config)
    x = _conv_bn(x, config.filters, 3, f"{name}_b", config, relu=False, zero_gamma=True)
    if config.squeeze_excitation:
        squeezed = layers.GlobalAveragePooling2D(name=f"{name}_se_pool")(x)
        squeezed = layers.Dense(
            max(config.filters // config.se_ratio, 1), activation="relu", name=f"{name}_se_reduce"
        )(squeezed)
        gate = layers.Dense(config.filters, activation="sigmoid", name=f"{name}_se_gate")(squeezed)
        x = layers.Multiply(name=f"{name}_se_scale")(
            [x, layers.Reshape((1, 1, config.filters))(gate)]
        )
    x = layers.Add(name=f"{name}_add")([skip, x])
    return layers.ReLU(name=f"{name}_out")(x)


def build_value_network(config: ModelConfig | None = None) -> keras.Model:
    """The network for *config*: outputs ``value`` (and ``policy`` when configured)."""
    config = config or ModelConfig()
    planes = keras.Input((8, 8, NUM_PLANES), name="planes")
    x = _conv_bn(planes, config.filters, 3, "stem", config)
    for index in range(config.blocks):
        x = _residual_block(x, index, config)

    value = _conv_bn(x, config.value_channels, 1, "value_head", config)
    value = layers.Flatten(name="value_head_flatten")(value)
    value = layers.Dense(
        config.value_hidden, kernel_regularizer=_regularizer(config), name="value_head_dense"
    )(value)
    value = layers.BatchNormalization(
        momentum=BN_MOMENTUM, synchronized=True, name="value_head_dense_bn"
    )(value)
    value = layers.ReLU(name="value_head_dense_relu")(value)
    value = layers.Dense(1, kernel_initializer="zeros", name="value_head_out")(value)
    value = layers.Activation("tanh", name="value", dtype="float32")(value)
    outputs: dict[str, Any] = {"value": value}

    if config.policy_head:
        policy = _conv_bn(x, config.filters, 3, "policy_head", config)
        policy = layers.Conv2D(64, 1, name="policy_head_to_square")(policy)  # (rank, file, to)
        policy = layers.Reshape((POLICY_SIZE,), name="policy_head_flatten")(policy)
        outputs["policy"] = layers.Activation("linear", name="policy", dtype="float32")(policy)

    return keras.Model(planes, outputs, name=f"boardeval_{config.name}")


def multiply_adds(model: keras.Model) -> int:
    """Multiply-adds per position of the convolutions and dense layers."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            height, width = layer.output.shape[1:3]
            total += height * width * int(np.prod(layer.kernel.shape))
        elif isinstance(layer, layers.Dense):
            total += int(np.prod(layer.kernel.shape))
    return int(total)
