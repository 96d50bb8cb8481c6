"""`get_model` / `list_models`: one entry point from a preset name to a Keras model."""

from __future__ import annotations

import keras

from xwisenet_tf.models.presets import PRESETS, ResNet3DSpec, XwiseNetSpec, resolve_spec
from xwisenet_tf.models.resnet3d import build_resnet3d
from xwisenet_tf.models.xwisenet import build_xwisenet


def list_models() -> list[str]:
    """Names of the model presets."""
    return list(PRESETS)


def get_model(
    name: str,
    num_classes: int,
    input_shape=(16, 112, 112, 3),
    classifier_activation: str | None = "softmax",
    **overrides,
) -> keras.Model:
    """Builds the preset `name` as a functional Keras model.

    Args:
        name: one of `list_models()`: "xwisenet" (SS blocks, the paper's model),
            "xwisenet-simple" (no block), "shufflenet3d-1.0x", "resnet3d-18", "resnet3d-34",
            "resnet3d-50".
        num_classes: classifier outputs.
        input_shape: `(frames, height, width, channels)` of one clip.
        classifier_activation: "softmax" (default) or None for logits.
        **overrides: fields of the preset's spec (`XwiseNetSpec` or `ResNet3DSpec`): conv_type,
            block, block_position, block_stages, context_pooling, width, temporal_strides,
            dropout, implementation, inner_activation, temporal_init (XwiseNet), shortcut,
            padding ("same" or PyTorch's "symmetric").

    Raises:
        ValueError: unknown preset, option or value; the message names it and the allowed values.
    """
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(
            f"`num_classes` must be a positive int. Received: num_classes={num_classes!r}"
        )
    input_shape = tuple(input_shape)
    if len(input_shape) != 4 or not all(isinstance(d, int) and d > 0 for d in input_shape):
        raise ValueError(
            "`input_shape` must be 4 positive ints (frames, height, width, channels). "
            f"Received: input_shape={input_shape!r}"
        )
    spec = resolve_spec(name, **overrides)
    if isinstance(spec, XwiseNetSpec):
        return build_xwisenet(spec, num_classes, input_shape, name, classifier_activation)
    assert isinstance(spec, ResNet3DSpec)
    return build_resnet3d(spec, num_classes, input_shape, name, classifier_activation)
