"""Importing a PyTorch state dict into the matching preset: all tensors checked, then all assigned.

A state dict that does not fit (a tensor missing, one left over, a shape that differs) raises a
`WeightImportError` listing the first offenders of each kind, before any variable is assigned
and before any file is written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from xwisenet_tf.weights import e3d, hara
from xwisenet_tf.weights.checks import check_targets
from xwisenet_tf.weights.errors import WeightImportError
from xwisenet_tf.weights.state_dict import IGNORED_SUFFIXES, load_state_dict

FORMATS = {"e3d": e3d, "hara": hara}
FORMAT_NAMES = {
    "e3d": "Efficient-3DCNNs ShuffleNet V2 (okankop/Efficient-3DCNNs)",
    "hara": "3D-ResNets-PyTorch (kenshohara/3D-ResNets-PyTorch)",
}


@dataclass
class ImportReport:
    """What an import did: tensors and parameters assigned, the preset options it chose."""

    format: str
    preset: str
    tensors: int
    parameters: int
    num_classes: int
    head_imported: bool
    overrides: dict = field(default_factory=dict)

    def summary(self) -> str:
        head = "imported" if self.head_imported else "new (random), not in the state dict's classes"
        options = f" with {self.overrides}" if self.overrides else ""
        return (
            f"{self.tensors} tensors ({self.parameters:,} values) imported into "
            f"'{self.preset}'{options}, {self.num_classes} classes; classifier {head}."
        )


def format_module(name: str):
    """The mapping module of format `name` ("e3d" or "hara")."""
    if name not in FORMATS:
        raise WeightImportError(
            f"`format` must be one of {list(FORMATS)}. Received: format={name!r}"
        )
    return FORMATS[name]


def preset_overrides(format: str, state: dict) -> dict:
    """Preset options the state dict itself decides (the shortcut of a 3D-ResNet)."""
    return {"shortcut": hara.shortcut_of(state)} if format == "hara" else {}


def import_state_dict(model, spec, state: dict, format: str, include_head: bool = True) -> int:
    """Assigns every tensor of `state` to `model` (built from `spec`), or none of them.

    Args:
        model: a Keras model built by `get_model` from `spec`.
        spec: its `XwiseNetSpec` / `ResNet3DSpec` (checked against the format).
        state: PyTorch names -> arrays (`load_state_dict`).
        format: "e3d" or "hara".
        include_head: also import the classifier (False when the class counts differ; the
            classifier's tensors are then ignored).

    Returns:
        The number of tensors assigned.

    Raises:
        WeightImportError: naming the first missing, mis-shaped and unused tensors.
    """
    module = format_module(format)
    module.check_spec(spec)
    targets = module.targets(model, spec, include_head)
    ignored = () if include_head else (f"{module.HEAD}.weight", f"{module.HEAD}.bias")
    values = check_targets(
        model, targets, state, f"format '{format}', {FORMAT_NAMES[format]}", ignored
    )
    for variable, value in values:
        variable.assign(value)
    return len(values)


def build_pretrained(
    format: str,
    preset: str,
    state: dict,
    num_classes: int | None = None,
    input_shape=(16, 112, 112, 3),
    classifier_activation: str | None = "softmax",
    overrides: dict | None = None,
):
    """Builds `preset` and imports `state` into it; returns `(model, ImportReport)`.

    With format "e3d" and an `xwisenet*` preset (X-Conv units), every 3x3x3 depthwise kernel is
    factorised into the X-Conv's spatial and temporal kernels and the report is a
    `FactorisationReport` (`xwisenet_tf.weights.factorise`, energy kept per stage).

    Args:
        format: "e3d" (Efficient-3DCNNs ShuffleNet V2, `shufflenet3d-*` presets, or `xwisenet*`
            factorised) or "hara" (3D-ResNets-PyTorch, `resnet3d-*`; shortcut A or B taken
            from the state dict).
        preset: a preset name of `xwisenet_tf.models.list_models()`.
        state: PyTorch names -> arrays.
        num_classes: classifier outputs; default the state dict's. Another number builds a new,
            randomly initialised classifier and imports everything else.
        input_shape: `(frames, height, width, 3)` the model is built for (any size works with
            the same weights; the zoos train at 16 x 112 x 112).
        classifier_activation: "softmax" or None (logits), as `get_model`.
        overrides: options of the preset (e.g. `{"width": 0.5}` for Efficient-3DCNNs' 0.5x).
    """
    from xwisenet_tf.models import get_model
    from xwisenet_tf.models.presets import XwiseNetSpec, resolve_spec

    module = format_module(format)
    overrides = {**(overrides or {}), **preset_overrides(format, state)}
    spec = resolve_spec(preset, **overrides)
    factorise = format == "e3d" and isinstance(spec, XwiseNetSpec) and spec.conv_type == "xwise"
    if not factorise:
        module.check_spec(spec)
    found = module.num_classes(state)
    if num_classes is None:
        if found is None:
            first = ", ".join(list(state)[:3])
            raise WeightImportError(
                f"The state dict has no classifier '{module.HEAD}.weight' of format '{format}' "
                f"({FORMAT_NAMES[format]}); its first tensors are {first}. Is it another "
                "format or architecture? (For a backbone without classifier, pass num_classes.)"
            )
        num_classes = found
    model = get_model(preset, num_classes, input_shape, classifier_activation, **overrides)
    if factorise:
        from xwisenet_tf.weights.factorise import factorise_state_dict

        return model, factorise_state_dict(model, state, source=FORMAT_NAMES[format])
    include_head = num_classes == found
    tensors = import_state_dict(model, spec, state, format, include_head)
    report = ImportReport(
        format=format,
        preset=preset,
        tensors=tensors,
        parameters=int(
            sum(
                np.size(state[name])
                for name in state
                if not name.endswith(IGNORED_SUFFIXES)
                and (include_head or not name.startswith(f"{module.HEAD}."))
            )
        ),
        num_classes=num_classes,
        head_imported=include_head,
        overrides=overrides,
    )
    return model, report


def import_file(
    format: str,
    preset: str,
    input_path: str,
    output_path: str,
    num_classes: int | None = None,
    input_shape=(16, 112, 112, 3),
    overrides: dict | None = None,
) -> ImportReport:
    """Reads `input_path` (.npz, or .pth with torch), imports it, saves `output_path` (.keras).

    Returns the report of `build_pretrained` (a `FactorisationReport` for format "e3d" into an
    `xwisenet*` preset).

    The file is written to a temporary name and renamed at the end, so a failed import never
    leaves a partial model at `output_path`.
    """
    if not output_path.endswith(".keras"):
        raise WeightImportError(f"The output must be a .keras file. Received: {output_path!r}")
    state = load_state_dict(input_path)
    try:
        model, report = build_pretrained(
            format, preset, state, num_classes, input_shape, overrides=overrides
        )
    except WeightImportError as error:
        raise WeightImportError(f"{input_path}: {error}") from error
    directory = os.path.dirname(os.path.abspath(output_path))
    os.makedirs(directory, exist_ok=True)
    partial = output_path[: -len(".keras")] + ".partial.keras"
    try:
        model.save(partial)
        os.replace(partial, output_path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return report
