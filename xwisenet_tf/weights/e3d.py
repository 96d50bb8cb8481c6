"""Efficient-3DCNNs' 3D ShuffleNet V2 (Köpüklü et al., `models/shufflenetv2.py`) -> `shufflenet3d-*`.

Its module names and ours, unit `i` counted over all stages from 0 (`features.<i>`):

    conv1.0 / conv1.1                  stem_conv (conv, BN, ReLU)
    features.<i>.banch1.0-3            stage<s>_unit1_left_dwconv  (downsample units: dw, BN, pw, BN)
    features.<i>.banch2.0-1            stage<s>_unit<u>_pw         (pw, BN)
    features.<i>.banch2.3-6            stage<s>_unit<u>_dwconv     (dw, BN, pw, BN)
    conv_last.0 / conv_last.1          head_conv
    classifier.1                       predictions (classifier.0 is the dropout)

The reference has no ReLU after the depthwise BatchNorms and pads every strided layer by 1 on both
sides: the presets set `inner_activation=False` and `padding="symmetric"`.

`layer_steps` is this mapping as data; `xwisenet_tf.weights.factorise` reads it with the X-Conv
units of an XwiseNet in place of the DW-Conv ones.
"""

from __future__ import annotations

from xwisenet_tf.models.presets import XwiseNetSpec
from xwisenet_tf.weights.mapping import (
    Target,
    check_model_spec,
    dense_targets,
    get_layer,
    head_outputs,
    stack_targets,
)

HEAD = "classifier.1"
REQUIRED = {"conv_type": "dw", "block": None, "inner_activation": False, "padding": "symmetric"}


def check_spec(spec) -> None:
    """Raises a WeightImportError unless `spec` is a 3D ShuffleNet V2 as Efficient-3DCNNs'."""
    check_model_spec(
        spec, XwiseNetSpec, REQUIRED, "e3d", "Efficient-3DCNNs ShuffleNet V2", "shufflenet3d-*"
    )


def num_classes(state: dict) -> int | None:
    """The classifier outputs of the state dict, or None if it has no classifier."""
    return head_outputs(state, HEAD)


def layer_steps(stage_repeats, tag: str = "dwconv") -> list[tuple[str, list[tuple]]]:
    """The name mapping: every `ConvBNStack` layer and the PyTorch modules that fill it.

    Args:
        stage_repeats: units in stages 2, 3, 4 (`XwiseNetSpec.stage_repeats`).
        tag: the units' convolution tag in the layer names (`NAME_TAGS`: "dwconv" for
            `shufflenet3d-*`, "xconv" for the X-Conv units of an XwiseNet).

    Returns:
        `(Keras layer name, [(conv prefix, BN prefix, depthwise), ...])` in the state dict's
        order, the steps as `stack_targets` takes them.
    """
    layers = [("stem_conv", [("conv1.0", "conv1.1", False)])]
    index = 0
    for stage, repeats in enumerate(stage_repeats, start=2):
        for unit in range(1, repeats + 1):
            prefix, torch_prefix = f"stage{stage}_unit{unit}", f"features.{index}"
            if unit == 1:
                layers.append((f"{prefix}_left_{tag}", _dw_pw(f"{torch_prefix}.banch1", 0)))
            layers.append(
                (f"{prefix}_pw", [(f"{torch_prefix}.banch2.0", f"{torch_prefix}.banch2.1", False)])
            )
            layers.append((f"{prefix}_{tag}", _dw_pw(f"{torch_prefix}.banch2", 3)))
            index += 1
    layers.append(("head_conv", [("conv_last.0", "conv_last.1", False)]))
    return layers


def targets(model, spec: XwiseNetSpec, include_head: bool = True) -> list[Target]:
    """Every (PyTorch name -> Keras variable) pair of a `shufflenet3d-*` model."""
    found = []
    for layer_name, steps in layer_steps(spec.stage_repeats):
        found += stack_targets(model, layer_name, steps)
    if include_head:
        found += dense_targets(HEAD, get_layer(model, "predictions"))
    return found


def _dw_pw(branch: str, first: int) -> list[tuple]:
    """A DW-Conv (`nn.Sequential` items first..first+3: dw conv, BN, pw conv, BN)."""
    return [
        (f"{branch}.{first}", f"{branch}.{first + 1}", True),
        (f"{branch}.{first + 2}", f"{branch}.{first + 3}", False),
    ]
