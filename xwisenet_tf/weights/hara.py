"""3D-ResNets-PyTorch (Hara et al., `models/resnet.py`) -> `resnet3d-18/34/50`, shortcut A or B.

Its module names and ours, `layer<s>.<i>` being stage `s`, unit `i + 1`:

    conv1 / bn1                        stem_conv
    layer<s>.<i>.conv1-2 / bn1-2       stage<s>_unit<u>_conv1, _conv2       (basic block)
    layer<s>.<i>.conv1-3 / bn1-3       stage<s>_unit<u>_reduce, _conv, _expand (bottleneck)
    layer<s>.<i>.downsample.0 / .1     stage<s>_unit<u>_shortcut            (shortcut B only)
    fc                                 predictions

Shortcut A (strided identity and zero channels) has no tensors; the shortcut of a state dict is B
exactly when it holds `downsample` tensors (`shortcut_of`). Every strided layer pads by
`(k - 1) // 2` on both sides: the presets set `padding="symmetric"`.
"""

from __future__ import annotations

from xwisenet_tf.models.presets import RESNET_LAYOUTS, ResNet3DSpec
from xwisenet_tf.weights.mapping import (
    Target,
    check_model_spec,
    dense_targets,
    get_layer,
    head_outputs,
    stack_targets,
)

HEAD = "fc"
REQUIRED = {"conv_type": "traditional", "padding": "symmetric"}


def check_spec(spec) -> None:
    """Raises a WeightImportError unless `spec` is a 3D-ResNet as Hara et al.'s."""
    check_model_spec(spec, ResNet3DSpec, REQUIRED, "hara", "3D-ResNets-PyTorch", "resnet3d-*")


def num_classes(state: dict) -> int | None:
    """The classifier outputs of the state dict, or None if it has no classifier."""
    return head_outputs(state, HEAD)


def shortcut_of(state: dict) -> str:
    """ "B" if the state dict has projection shortcuts (`downsample` tensors), else "A"."""
    return "B" if any(".downsample." in name for name in state) else "A"


def targets(model, spec: ResNet3DSpec, include_head: bool = True) -> list[Target]:
    """Every (PyTorch name -> Keras variable) pair of a `resnet3d-*` model."""
    kind, repeats = RESNET_LAYOUTS[spec.depth]
    found = stack_targets(model, "stem_conv", [("conv1", "bn1", False)])
    names = ("conv1", "conv2") if kind == "basic" else ("reduce", "conv", "expand")
    for stage, count in enumerate(repeats, start=1):
        for unit in range(1, count + 1):
            prefix, torch_prefix = f"stage{stage}_unit{unit}", f"layer{stage}.{unit - 1}"
            for number, name in enumerate(names, start=1):
                found += stack_targets(
                    model,
                    f"{prefix}_{name}",
                    [(f"{torch_prefix}.conv{number}", f"{torch_prefix}.bn{number}", False)],
                )
            if spec.shortcut == "B" and _has_layer(model, f"{prefix}_shortcut"):
                found += stack_targets(
                    model,
                    f"{prefix}_shortcut",
                    [(f"{torch_prefix}.downsample.0", f"{torch_prefix}.downsample.1", False)],
                )
    if include_head:
        found += dense_targets(HEAD, get_layer(model, "predictions"))
    return found


def _has_layer(model, name: str) -> bool:
    return any(layer.name == name for layer in model.layers)
