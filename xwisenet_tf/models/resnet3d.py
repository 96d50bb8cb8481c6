"""3D-ResNet-18/34/50 (Hara et al., paper ref. [5]) with a pluggable 3x3x3 convolution.

The backbone of the paper's Table II: only the 3x3x3 convolutions of the residual blocks change
with `conv_type`; the 7x7x7 stem (stride (1, 2, 2)) stays a dense convolution, followed by a
3x3x3 max pool with stride 2, four stages (64, 128, 256, 512 channels; stages 2-4 strided by 2
in every dimension), global average pooling and the classifier.
"""

from __future__ import annotations

import keras

from xwisenet_tf.layers.conv_variants import NAME_TAGS, TraditionalConv3D, make_conv
from xwisenet_tf.layers.pooling import FoldedMaxPool3D
from xwisenet_tf.layers.shortcut import ZeroPadShortcut
from xwisenet_tf.models.presets import RESNET_LAYOUTS, RESNET_STAGE_CHANNELS, ResNet3DSpec

BOTTLENECK_EXPANSION = 4


def build_resnet3d(
    spec: ResNet3DSpec,
    num_classes: int,
    input_shape=(16, 112, 112, 3),
    name: str = "resnet3d",
    classifier_activation: str | None = "softmax",
) -> keras.Model:
    """Builds a functional 3D-ResNet from `spec`.

    Input shape: `(batch, frames, height, width, 3)`.
    Output shape: `(batch, num_classes)`.
    """
    kind, repeats = RESNET_LAYOUTS[spec.depth]
    inputs = keras.Input(shape=tuple(input_shape), name="clips")
    x = TraditionalConv3D(
        64,
        7,
        strides=(1, 2, 2),
        implementation=spec.implementation,
        padding=spec.padding,
        name="stem_conv",
    )(inputs)
    x = FoldedMaxPool3D(
        3, strides=(spec.temporal_strides[0], 2, 2), padding=spec.padding, name="stem_pool"
    )(x)
    for stage, (planes, count) in enumerate(zip(RESNET_STAGE_CHANNELS, repeats, strict=True), 1):
        for unit in range(1, count + 1):
            if stage > 1 and unit == 1:
                strides = (spec.temporal_strides[stage - 1], 2, 2)
            else:
                strides = (1, 1, 1)
            block = _basic_block if kind == "basic" else _bottleneck_block
            x = block(x, planes, strides, spec, f"stage{stage}_unit{unit}")
    x = keras.layers.GlobalAveragePooling3D(name="head_pool")(x)
    if spec.dropout:
        x = keras.layers.Dropout(spec.dropout, name="head_dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation=classifier_activation, name="predictions")(
        x
    )
    return keras.Model(inputs, outputs, name=name)


def _variant(spec, filters, strides, final_activation, name):
    return make_conv(
        spec.conv_type,
        filters,
        name=name,
        kernel_size=3,
        strides=strides,
        final_activation=final_activation,
        implementation=spec.implementation,
        padding=spec.padding,
    )


def _shortcut(x, filters, strides, spec, prefix):
    if tuple(strides) == (1, 1, 1) and x.shape[-1] == filters:
        return x
    if spec.shortcut == "A":
        return ZeroPadShortcut(filters, strides, name=f"{prefix}_shortcut")(x)
    return TraditionalConv3D(
        filters,
        1,
        strides=strides,
        final_activation=False,
        implementation=spec.implementation,
        padding=spec.padding,
        name=f"{prefix}_shortcut",
    )(x)


def _merge(residual, shortcut, prefix):
    x = keras.layers.Add(name=f"{prefix}_add")([residual, shortcut])
    return keras.layers.ReLU(name=f"{prefix}_relu")(x)


def _basic_block(x, planes, strides, spec, prefix):
    tag = NAME_TAGS[spec.conv_type]
    y = _variant(spec, planes, strides, True, f"{prefix}_{tag}1")(x)
    y = _variant(spec, planes, 1, False, f"{prefix}_{tag}2")(y)
    return _merge(y, _shortcut(x, planes, strides, spec, prefix), prefix)


def _bottleneck_block(x, planes, strides, spec, prefix):
    out = planes * BOTTLENECK_EXPANSION
    y = TraditionalConv3D(planes, 1, implementation=spec.implementation, name=f"{prefix}_reduce")(x)
    y = _variant(spec, planes, strides, True, f"{prefix}_{NAME_TAGS[spec.conv_type]}")(y)
    y = TraditionalConv3D(
        out, 1, final_activation=False, implementation=spec.implementation, name=f"{prefix}_expand"
    )(y)
    return _merge(y, _shortcut(x, out, strides, spec, prefix), prefix)
