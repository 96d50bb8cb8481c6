"""The option values of the layers a model spec chooses from, and the check of a choice.

TensorFlow-free and importing nothing of the package, so that a preset and its options
(`xwisenet_tf.models.presets`) are checked before Keras loads (``train.py --model``,
``--model_option``); the layers (`layers.conv_variants`, `layers.context_blocks`) use the same
names.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

# The 3D convolutions of Table II (`layers.conv_variants`) and how they are computed.
CONV_TYPES = ("traditional", "st", "dw", "xwise")
IMPLEMENTATIONS = ("folded", "reference")
TEMPORAL_INITS = ("he", "identity")
DEPTHWISE_INITS = ("he", "centred")
INNER_ACTIVATIONS = (True, "first", False)
# The context blocks of Table IV and the SS block's context pooling, Table III(a)
# (`layers.context_blocks`).
BLOCKS = (None, "ss", "gc", "se", "cbam")
CONTEXT_POOLINGS = ("channel", "temporal", "channel_temporal")
# Name scope of the few ops that a full-integer TFLite export keeps in float: the context
# blocks' softmax division and LayerNorm, which have no int8 kernel in XNNPACK, LiteRT's CPU
# delegate (`xwisenet_tf.export.int8_recipe`).
FLOAT_SCOPE = "float_context"


def check_choice(value, allowed: Sequence, name: str):
    """Returns `value` if it is one of `allowed`, else raises a ValueError naming all three."""
    if value not in allowed:
        raise ValueError(f"`{name}` must be one of {list(allowed)}. Received: {name}={value!r}")
    return value


def check_half_life(half_life, name: str = "half_life") -> float | None:
    """The horizon of a stream's average over time (`layers.RunningMean`): ``None`` for the
    cumulative mean (``None`` or 0), else the half-life in frames of an exponential moving
    average, a positive number.

    Raises:
        ValueError: a negative, infinite or non-numeric value, named.
    """
    if half_life is None or (not isinstance(half_life, bool) and half_life == 0):
        return None
    try:
        value = float(half_life)
    except (TypeError, ValueError):
        value = float("nan")
    if isinstance(half_life, bool) or not 0 < value < float("inf"):
        raise ValueError(
            f"`{name}` must be a positive number of frames, or 0 / None for the cumulative "
            f"mean. Received: {name}={half_life!r}"
        )
    return value


def check_frames_per_step(frames_per_step, name: str = "frames_per_step") -> int:
    """The frames a streaming step takes at once (`xwisenet_tf.streaming.build_step_model`):
    a positive int, 1 for frame by frame.

    Raises:
        ValueError: anything but a positive int, named.
    """
    try:
        value = None if isinstance(frames_per_step, bool) else operator.index(frames_per_step)
    except TypeError:
        value = None
    if value is None or value < 1:
        raise ValueError(
            f"`{name}` must be a positive number of frames (1: frame by frame). "
            f"Received: {name}={frames_per_step!r}"
        )
    return int(value)


def ema_weight(half_life: float) -> float:
    """The weight ``1 - 2 ** (-1 / half_life)`` of the newest frame in an exponential moving
    average whose older frames lose half their weight every ``half_life`` frames."""
    value = check_half_life(half_life)
    if value is None:
        raise ValueError(f"an exponential average needs a half-life. Received: {half_life!r}")
    return 1.0 - 2.0 ** (-1.0 / value)
