"""XwiseNet builder: 3D ShuffleNet V2 with Xwise Separable Convolutions and SS blocks.

Paper sec. III-C and Fig. 1(b)-(d). Fig. 1 is missing from the text, so the skeleton follows the
3D ShuffleNet V2 of Efficient-3DCNNs (DESIGN.md section 3): stem 3x3x3 conv to 24 channels with
stride (1, 2, 2), 3x3x3 max pool with stride 2, three stages of [4, 8, 4] units, a 1x1x1 conv to
1024 channels, global average pooling, dropout and the classifier. In every unit the depthwise
3x3x3 conv and the pointwise conv after it form one X-Conv (or the Table II variant chosen).
"""

from __future__ import annotations

import keras

from xwisenet_tf.layers.context_blocks import make_context_block
from xwisenet_tf.layers.conv_variants import NAME_TAGS, TraditionalConv3D, make_conv
from xwisenet_tf.layers.pooling import FoldedMaxPool3D
from xwisenet_tf.layers.shuffle import ChannelShuffle, ChannelShuffleSplit, ChannelSplit
from xwisenet_tf.layers.stochastic_depth import SkipBranch
from xwisenet_tf.models.presets import (
    HEAD_CHANNELS,
    STAGE_CHANNELS,
    STEM_CHANNELS,
    XwiseNetSpec,
)


def build_xwisenet(
    spec: XwiseNetSpec,
    num_classes: int,
    input_shape=(16, 112, 112, 3),
    name: str = "xwisenet",
    classifier_activation: str | None = "softmax",
    fuse_shuffle_split: bool = True,
) -> keras.Model:
    """Builds a functional XwiseNet from `spec`.

    Input shape: `(batch, frames, height, width, 3)`.
    Output shape: `(batch, num_classes)` class probabilities (logits if
    `classifier_activation=None`). With `spec.causal` the temporal kernels see past frames
    only; the global average over time is then the mean of per-frame features that
    `xwisenet_tf.streaming` accumulates frame by frame.

    `fuse_shuffle_split`: a unit followed by a Same Unit ends with one `ChannelShuffleSplit`
    (the shuffle and the next unit's channel split in one transpose) instead of a
    `ChannelShuffle` and the next unit's `ChannelSplit`. Same outputs and the same weights
    and weight names either way (the two layers have no weights); `False` builds the layer
    graph of before issue 15.
    """
    inputs = keras.Input(shape=tuple(input_shape), name="clips")
    padding = "causal" if spec.causal else spec.padding
    x = TraditionalConv3D(
        STEM_CHANNELS,
        3,
        strides=(1, 2, 2),
        implementation=spec.implementation,
        padding=padding,
        name="stem_conv",
    )(inputs)
    x = FoldedMaxPool3D(
        3, strides=(spec.temporal_strides[0], 2, 2), padding=padding, name="stem_pool"
    )(x)
    if spec.block and 1 in spec.block_stages:
        x = _context_block(spec, "stage1")(x)

    units = [
        (stage, unit, channels)
        for stage, (repeats, channels) in enumerate(
            zip(spec.stage_repeats, STAGE_CHANNELS[spec.width], strict=True), start=2
        )
        for unit in range(1, repeats + 1)
    ]
    fuse = fuse_shuffle_split and not (spec.block and spec.block_position == "after_shuffle")
    same_units = sum(1 for _, unit, _ in units if unit > 1)
    seen = 0
    for i, (stage, unit, channels) in enumerate(units):
        prefix = f"stage{stage}_unit{unit}"
        # The next unit is a Same Unit: hand it the two halves it splits its input into.
        split = fuse and i + 1 < len(units) and units[i + 1][1] > 1
        if unit == 1:
            x = _downsample_unit(x, channels, spec.temporal_strides[stage - 1], spec, prefix, split)
        else:
            with_block = bool(spec.block) and stage in spec.block_stages
            seen += 1
            skip = spec.stochastic_depth * seen / same_units
            x = _same_unit(x, spec, prefix, with_block, split, skip)

    x = TraditionalConv3D(
        HEAD_CHANNELS[spec.width], 1, implementation=spec.implementation, name="head_conv"
    )(x)
    x = keras.layers.GlobalAveragePooling3D(name="head_pool")(x)
    if spec.dropout:
        x = keras.layers.Dropout(spec.dropout, name="head_dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation=classifier_activation, name="predictions")(
        x
    )
    return keras.Model(inputs, outputs, name=name)


def _branch_conv(spec: XwiseNetSpec, filters: int, strides, name: str):
    return make_conv(
        spec.conv_type,
        filters,
        name=name,
        kernel_size=3,
        strides=strides,
        implementation=spec.implementation,
        inner_activation=spec.inner_activation,
        temporal_init=spec.temporal_init,
        depthwise_init=spec.depthwise_init,
        padding="causal" if spec.causal else spec.padding,
    )


def _pointwise(spec: XwiseNetSpec, filters: int, name: str):
    return TraditionalConv3D(filters, 1, implementation=spec.implementation, name=name)


def _context_block(spec: XwiseNetSpec, prefix: str):
    return make_context_block(
        spec.block, name=f"{prefix}_{spec.block}", context_pooling=spec.context_pooling
    )


def _shuffle(x, prefix: str, split: bool):
    """The unit's channel shuffle; with `split`, also the next unit's channel split."""
    if split and x.shape[-1] % 4 == 0:
        return ChannelShuffleSplit(name=f"{prefix}_shuffle")(x)
    return ChannelShuffle(2, name=f"{prefix}_shuffle")(x)


def _downsample_unit(
    x, channels: int, temporal_stride: int, spec: XwiseNetSpec, prefix: str, split: bool = False
):
    """Downsample Unit (Fig. 1(c)): both branches strided, channels doubled, then shuffled.

    Context blocks go in the Same Units only: with them in all 16 units the model would have
    3.67 M parameters instead of the paper's 3.51 M (docs/reproduction.md).
    With `split`, returns the two halves of the shuffled output (`_shuffle`).
    """
    half = channels // 2
    strides = (temporal_stride, 2, 2)
    tag = NAME_TAGS[spec.conv_type]
    left = _branch_conv(spec, half, strides, f"{prefix}_left_{tag}")(x)
    right = _pointwise(spec, half, f"{prefix}_pw")(x)
    right = _branch_conv(spec, half, strides, f"{prefix}_{tag}")(right)
    x = keras.layers.Concatenate(name=f"{prefix}_concat")([left, right])
    return _shuffle(x, prefix, split)


def _same_unit(
    x, spec: XwiseNetSpec, prefix: str, with_block: bool, split: bool = False, skip: float = 0.0
):
    """Same Unit (Fig. 1(b)): channel split, one X-Conv branch, concat, shuffle.

    With `skip` > 0, training skips the branch for that share of the clips (`SkipBranch`,
    stochastic depth).
    The context block sits at `spec.block_position` (Table III(b)): after the branch's last
    1x1x1 conv, before the channel shuffle (the paper's default) or after it.
    `x` is the unit's input, or its two halves when the unit before has split it already;
    with `split`, returns the two halves of the shuffled output (`_shuffle`).
    """
    if isinstance(x, (list, tuple)):
        left, right = x
    else:
        left, right = ChannelSplit(name=f"{prefix}_split")(x)
    half = right.shape[-1]
    tag = NAME_TAGS[spec.conv_type]
    branch_input = right
    right = _pointwise(spec, half, f"{prefix}_pw")(right)
    right = _branch_conv(spec, half, 1, f"{prefix}_{tag}")(right)
    if skip:
        right = SkipBranch(skip, name=f"{prefix}_skip")([branch_input, right])
    if with_block and spec.block_position == "after_pointwise":
        right = _context_block(spec, prefix)(right)
    x = keras.layers.Concatenate(name=f"{prefix}_concat")([left, right])
    if with_block and spec.block_position == "before_shuffle":
        x = _context_block(spec, prefix)(x)
    x = _shuffle(x, prefix, split)
    if with_block and spec.block_position == "after_shuffle":
        x = _context_block(spec, prefix)(x)
    return x
