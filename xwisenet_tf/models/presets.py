"""Architectures as data: the presets and the specs the model builders turn into layers.

Imports no Keras (the layers' option values are `xwisenet_tf.layer_options`), so that a preset
and its options are checked (``train.py --model``, ``--model_option``) before TensorFlow loads.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from xwisenet_tf.layer_options import (
    BLOCKS,
    CONTEXT_POOLINGS,
    CONV_TYPES,
    DEPTHWISE_INITS,
    IMPLEMENTATIONS,
    INNER_ACTIVATIONS,
    TEMPORAL_INITS,
    check_choice,
)

# XwiseNet = 3D ShuffleNet V2 (Efficient-3DCNNs) with X-Conv units (paper sec. III-C, Fig. 1(d)).
# Stages use ShuffleNet V2's numbering: stage 1 is the stem (conv + max pool), stages 2-4 hold
# the [4, 8, 4] units, the first of each a Downsample Unit.
STEM_CHANNELS = 24
STAGE_REPEATS = (4, 8, 4)
STAGE_CHANNELS = {
    0.5: (48, 96, 192),
    1.0: (116, 232, 464),
    1.5: (176, 352, 704),
    2.0: (244, 488, 976),
}
HEAD_CHANNELS = {0.5: 1024, 1.0: 1024, 1.5: 1024, 2.0: 2048}
BLOCK_POSITIONS = ("before_shuffle", "after_shuffle", "after_pointwise")
XWISENET_STAGES = (1, 2, 3, 4)

# 3D-ResNet of Hara et al. (paper ref. [5]): block kind and units per stage.
RESNET_LAYOUTS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
}
RESNET_STAGE_CHANNELS = (64, 128, 256, 512)
SHORTCUTS = ("A", "B")
# "same": TensorFlow's (the paper's models, trained here); "symmetric": PyTorch's padding=(k-1)//2,
# for the presets that mirror a PyTorch repository, so its pretrained weights give its outputs.
MODEL_PADDINGS = ("same", "symmetric")


@dataclass(frozen=True)
class XwiseNetSpec:
    """Configuration of an XwiseNet (or, with `conv_type="dw"` and no block, 3D ShuffleNet V2).

    Attributes:
        width: channel multiplier, one of 0.5, 1.0, 1.5, 2.0.
        stage_repeats: units in stages 2, 3, 4 (the first of each a Downsample Unit).
        conv_type: the convolution of every unit (Table II variants).
        block: context block in the Same Units (Table IV), or None for Simple-XwiseNet.
        block_position: where the block sits in a unit (Table III(b)).
        block_stages: stages that get blocks (Table III(c)); stage 1 = one block after the stem.
        context_pooling: the SS block's context modelling (Table III(a)).
        temporal_strides: temporal stride of the stem max pool and of stages 2, 3, 4.
        dropout: dropout rate before the classifier.
        stochastic_depth: in training, the probability that the last Same Unit skips its
            branch (`xwisenet_tf.layers.SkipBranch`), growing linearly from 0 over the Same
            Units (Huang et al.'s rule); 0: off, every unit always runs.
        implementation: "folded" (production) or "reference" (grouped/native Conv3D).
        inner_activation: ReLU after the depthwise convs of every unit: True after both (the
            paper's X-Conv, sec. III-A), "first" only between the spatial and the temporal one
            (the non-linearity between the 2D and 1D convolutions of sec. I), False after
            neither, as ShuffleNet V2 keeps its depthwise convs linear.
        temporal_init: "he" or "identity": the units' temporal kernels start as a pass-through,
            so every X-Conv starts as a 2D depthwise separable convolution (sec. I).
        depthwise_init: "he" or "centred": the units' depthwise kernels start near the identity
            (`xwisenet_tf.layers.initializers.CentredDepthwise`).
        padding: of the stem conv, stem pool and every unit convolution: "same" (TensorFlow's)
            or "symmetric" (PyTorch's, as Efficient-3DCNNs; needed for its weights).
        causal: every temporal kernel (stem conv, stem pool, the units' temporal convs) padded
            on the past side only, so that the output for frame t depends on frames 1..t: the
            model then runs frame by frame (`xwisenet_tf.streaming`) with the same weights.
            Needs every temporal stride 1 and per-frame context (no block, or the SS block
            with `context_pooling="channel"`, whose context is one vector per frame, eq. (3)).
    """

    width: float = 1.5
    stage_repeats: tuple[int, int, int] = STAGE_REPEATS
    conv_type: str = "xwise"
    block: str | None = "ss"
    block_position: str = "before_shuffle"
    block_stages: tuple[int, ...] = XWISENET_STAGES
    context_pooling: str = "channel"
    # No temporal down-sampling: 1.36 G MACs, the closest to the paper's 1.22 G (halving T at the
    # stem pool gives 0.73 G); docs/reproduction.md.
    temporal_strides: tuple[int, int, int, int] = (1, 1, 1, 1)
    dropout: float = 0.2
    stochastic_depth: float = 0.0
    implementation: str = "folded"
    inner_activation: bool | str = True
    temporal_init: str = "he"
    depthwise_init: str = "he"
    padding: str = "same"
    causal: bool = False

    def validate(self) -> XwiseNetSpec:
        check_choice(self.width, tuple(STAGE_CHANNELS), "width")
        check_choice(self.conv_type, CONV_TYPES, "conv_type")
        check_choice(self.block, BLOCKS, "block")
        check_choice(self.block_position, BLOCK_POSITIONS, "block_position")
        check_choice(self.context_pooling, CONTEXT_POOLINGS, "context_pooling")
        check_choice(self.implementation, IMPLEMENTATIONS, "implementation")
        check_choice(self.temporal_init, TEMPORAL_INITS, "temporal_init")
        check_choice(self.depthwise_init, DEPTHWISE_INITS, "depthwise_init")
        check_choice(self.inner_activation, INNER_ACTIVATIONS, "inner_activation")
        check_choice(self.padding, MODEL_PADDINGS, "padding")
        stages = tuple(self.block_stages)
        if not set(stages) <= set(XWISENET_STAGES) or len(set(stages)) != len(stages):
            raise ValueError(
                f"`block_stages` must be distinct stages from {list(XWISENET_STAGES)}. "
                f"Received: block_stages={self.block_stages!r}"
            )
        _check_strides(self.temporal_strides, 4, "temporal_strides")
        _check_dropout(self.dropout)
        if not (isinstance(self.stochastic_depth, (int, float)) and 0 <= self.stochastic_depth < 1):
            raise ValueError(
                "`stochastic_depth` must be in [0, 1). "
                f"Received: stochastic_depth={self.stochastic_depth!r}"
            )
        check_choice(self.causal, (False, True), "causal")
        if self.causal:
            _check_causal(self)
        if len(self.stage_repeats) != 3 or not all(
            isinstance(n, int) and n >= 1 for n in self.stage_repeats
        ):
            raise ValueError(
                "`stage_repeats` must be 3 positive ints (units in stages 2, 3, 4). "
                f"Received: stage_repeats={self.stage_repeats!r}"
            )
        return self


@dataclass(frozen=True)
class ResNet3DSpec:
    """Configuration of a 3D-ResNet (Hara et al.) with a pluggable 3x3x3 convolution (Table II).

    Attributes:
        depth: 18, 34 or 50.
        conv_type: replaces every 3x3x3 conv of the residual blocks; the 7x7x7 stem stays dense.
        shortcut: "A" (strided identity + zero channels, Hara's choice for 18/34) or
            "B" (1x1x1 conv + BN, Hara's choice for 50).
        temporal_strides: temporal stride of the stem max pool and of stages 2, 3, 4.
        dropout: dropout rate before the classifier.
        implementation: "folded" or "reference".
        padding: of the stem conv, stem pool and every block convolution: "same" (TensorFlow's)
            or "symmetric" (PyTorch's, as 3D-ResNets-PyTorch; needed for its weights).
    """

    depth: int = 18
    conv_type: str = "traditional"
    shortcut: str = "A"
    temporal_strides: tuple[int, int, int, int] = (2, 2, 2, 2)
    dropout: float = 0.0
    implementation: str = "folded"
    padding: str = "symmetric"

    def validate(self) -> ResNet3DSpec:
        check_choice(self.depth, tuple(RESNET_LAYOUTS), "depth")
        check_choice(self.conv_type, CONV_TYPES, "conv_type")
        check_choice(self.shortcut, SHORTCUTS, "shortcut")
        check_choice(self.padding, MODEL_PADDINGS, "padding")
        check_choice(self.implementation, IMPLEMENTATIONS, "implementation")
        _check_strides(self.temporal_strides, 4, "temporal_strides")
        _check_dropout(self.dropout)
        return self


def _check_strides(strides, length: int, name: str) -> None:
    if (
        not isinstance(strides, tuple | list)
        or len(strides) != length
        or not all(s in (1, 2) for s in strides)
    ):
        raise ValueError(
            f"`{name}` must be {length} values from [1, 2] (stem pool, stage 2, 3, 4). "
            f"Received: {name}={strides!r}"
        )


def _check_causal(spec: XwiseNetSpec) -> None:
    """A causal XwiseNet keeps every frame and sees no future frame (spec `causal`)."""
    problems = []
    if spec.padding != "same":
        problems.append(f"padding='same' (its height/width padding; got {spec.padding!r})")
    if tuple(spec.temporal_strides) != (1, 1, 1, 1):
        problems.append(f"temporal_strides=(1, 1, 1, 1) (got {tuple(spec.temporal_strides)})")
    if spec.block not in (None, "ss") or (spec.block and spec.context_pooling != "channel"):
        problems.append(
            "block=None or block='ss' with context_pooling='channel' (per-frame context; got "
            f"block={spec.block!r}, context_pooling={spec.context_pooling!r})"
        )
    if problems:
        raise ValueError(
            "A causal XwiseNet (causal=True) runs frame by frame, so it needs "
            + "; ".join(problems)
        )


def _check_dropout(rate) -> None:
    if not isinstance(rate, int | float) or not 0.0 <= rate < 1.0:
        raise ValueError(f"`dropout` must be a float in [0, 1). Received: dropout={rate!r}")


PRESETS: dict[str, XwiseNetSpec | ResNet3DSpec] = {
    "xwisenet": XwiseNetSpec(),
    "xwisenet-simple": XwiseNetSpec(block=None),
    # Frames halved by the stem pool (as in Efficient-3DCNNs): 0.74 G MACs, ~1.5-2x faster.
    "xwisenet-fast": XwiseNetSpec(temporal_strides=(2, 1, 1, 1)),
    # 4 units instead of 16 (same width, X-Conv, SS blocks): learns far faster from scratch on
    # a few hundred videos (docs/training.md, "Measured: the synthetic dataset").
    "xwisenet-small": XwiseNetSpec(stage_repeats=(1, 2, 1)),
    # The paper's model made causal: runs frame by frame on a live video (`xwisenet_tf.streaming`).
    "xwisenet-stream": XwiseNetSpec(causal=True),
    # Efficient-3DCNNs' 3D ShuffleNet V2: linear depthwise convs, PyTorch padding.
    "shufflenet3d-1.0x": XwiseNetSpec(
        width=1.0,
        conv_type="dw",
        block=None,
        temporal_strides=(2, 2, 2, 2),
        inner_activation=False,
        padding="symmetric",
    ),
    "resnet3d-18": ResNet3DSpec(depth=18),
    "resnet3d-34": ResNet3DSpec(depth=34),
    "resnet3d-50": ResNet3DSpec(depth=50, shortcut="B"),
}


def resolve_spec(name: str, **overrides) -> XwiseNetSpec | ResNet3DSpec:
    """The preset `name` with `overrides` applied and validated.

    Raises:
        ValueError: for an unknown preset, an override the preset does not have, or a bad value.
    """
    check_choice(name, tuple(PRESETS), "name")
    spec = PRESETS[name]
    fields = [f.name for f in dataclasses.fields(spec)]
    for key in overrides:
        if key not in fields:
            raise ValueError(
                f"Model '{name}' has no option `{key}`. Its options: {fields}. "
                f"Received: {key}={overrides[key]!r}"
            )
    for key in ("block_stages", "temporal_strides", "stage_repeats"):
        if key in overrides and isinstance(overrides[key], list):
            overrides[key] = tuple(overrides[key])
    return dataclasses.replace(spec, **overrides).validate()
