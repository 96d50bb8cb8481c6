"""Which PyTorch tensor fills which Keras variable, and how its layout changes on the way.

PyTorch keeps a convolution kernel as `(out, in / groups, kT, kH, kW)`, Keras as
`(kT, kH, kW, in, out)` (`FoldedConv3D`) or `(kT, kH, kW, channels, 1)` (`DepthwiseConv3D`), a
linear layer as `(out, in)` against Keras' `(in, out)`. BatchNorm's `weight`, `bias`,
`running_mean`, `running_var` are Keras' `gamma`, `beta`, `moving_mean`, `moving_variance`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xwisenet_tf.weights.errors import WeightImportError

# Axes taking a PyTorch array to the Keras layout.
LAYOUTS = {
    "conv": (2, 3, 4, 1, 0),
    "depthwise": (2, 3, 4, 0, 1),
    "dense": (1, 0),
    "vector": (0,),
}
_BATCH_NORM = (
    ("weight", "gamma"),
    ("bias", "beta"),
    ("running_mean", "moving_mean"),
    ("running_var", "moving_variance"),
)


@dataclass(frozen=True)
class Target:
    """One Keras variable and the PyTorch tensor (name, layout) that fills it."""

    torch_name: str
    variable: object
    layout: str

    def convert(self, array: np.ndarray) -> np.ndarray:
        """The PyTorch `array` in the Keras layout (a copy, float32)."""
        axes = LAYOUTS[self.layout]
        if array.ndim != len(axes):
            return array  # wrong rank: reported as a shape mismatch by the caller
        return np.ascontiguousarray(np.transpose(array, axes), dtype="float32")


def conv_targets(prefix: str, conv, depthwise: bool = False) -> list[Target]:
    """`<prefix>.weight` (and `.bias` if the Keras conv has one) of a 3D convolution."""
    targets = [Target(f"{prefix}.weight", conv.kernel, "depthwise" if depthwise else "conv")]
    if conv.bias is not None:
        targets.append(Target(f"{prefix}.bias", conv.bias, "vector"))
    return targets


def batch_norm_targets(prefix: str, norm) -> list[Target]:
    """The four tensors of a PyTorch `BatchNorm3d` named `prefix`."""
    return [
        Target(f"{prefix}.{ours}", getattr(norm, theirs), "vector") for ours, theirs in _BATCH_NORM
    ]


def dense_targets(prefix: str, dense) -> list[Target]:
    """`<prefix>.weight` and `<prefix>.bias` of a PyTorch `Linear`."""
    return [
        Target(f"{prefix}.weight", dense.kernel, "dense"),
        Target(f"{prefix}.bias", dense.bias, "vector"),
    ]


def stack_targets(model, layer_name: str, steps) -> list[Target]:
    """Targets of a `ConvBNStack` layer: `steps` = [(conv prefix, BN prefix, depthwise), ...].

    Raises:
        WeightImportError: the model has no such layer, or it is a fused (BatchNorm-folded)
            inference model, or the steps do not match its convolutions.
    """
    layer = get_stack(model, layer_name)
    if len(layer.convs) != len(steps):
        raise WeightImportError(
            f"Layer '{layer_name}' has {len(layer.convs)} convolutions; the state dict "
            f"describes {len(steps)} ({[s[0] for s in steps]})."
        )
    targets = []
    for (conv_prefix, bn_prefix, depthwise), conv, norm in zip(
        steps, layer.convs, layer.norms, strict=True
    ):
        targets += conv_targets(conv_prefix, conv, depthwise)
        targets += batch_norm_targets(bn_prefix, norm)
    return targets


def get_stack(model, layer_name: str):
    """The `ConvBNStack` layer `layer_name` of `model`, with its BatchNorms (not fused).

    Raises:
        WeightImportError: the model has no such layer, or it is a fused (BatchNorm-folded)
            inference model.
    """
    layer = get_layer(model, layer_name)
    if getattr(layer, "fused", False):
        raise WeightImportError(
            f"Layer '{layer_name}' has its BatchNorms folded (an optimised inference model); "
            "import into a model built by `get_model`."
        )
    return layer


def get_layer(model, name: str):
    """`model.get_layer(name)` with an error naming the model and the layer."""
    try:
        return model.get_layer(name)
    except ValueError as error:
        raise WeightImportError(
            f"Model '{model.name}' has no layer '{name}': it is not the architecture of the "
            "state dict's format."
        ) from error


def check_model_spec(spec, spec_class, required: dict, format: str, source: str, presets: str):
    """Raises a WeightImportError unless `spec` is a `spec_class` with the `required` fields
    (the layout the repository `source` of format `format` builds, `presets` naming ours)."""
    if not isinstance(spec, spec_class):
        raise WeightImportError(
            f"Format '{format}' ({source}) needs a '{presets}' preset; "
            f"received a {type(spec).__name__}."
        )
    wrong = {k: getattr(spec, k) for k, v in required.items() if getattr(spec, k) != v}
    if wrong:
        raise WeightImportError(
            f"Format '{format}' needs a model with {required}; this one has {wrong}, so the "
            "weights would not give the reference's outputs."
        )


def head_outputs(state: dict, head: str) -> int | None:
    """The outputs of the classifier `head` of a state dict, or None if it has none."""
    weight = state.get(f"{head}.weight")
    return None if weight is None else int(weight.shape[0])
