"""Efficient-3DCNNs' 3D ShuffleNet V2 weights as the start of an XwiseNet (``init_from e3d:PATH``).

X-Conv (paper sec. III-A) splits a unit's d x k x k depthwise convolution into a 1 x k x k
depthwise spatial conv and a d x 1 x 1 depthwise temporal conv; sec. I names "loading trained 2D/3D
weights as initial values" as one of its advantages. XwiseNet has the skeleton of 3D ShuffleNet V2,
so an Efficient-3DCNNs (E3D) checkpoint of the same width fills it almost tensor for tensor:

- the stem conv, every pointwise conv, the 1x1x1 conv to 1024 (2048) and their BatchNorms are
  copied as the E3D importer maps them (`e3d.layer_steps`, with the units' X-Conv layers);
- each 3 x 3 x 3 depthwise kernel `K_c` of a channel, seen as a 3 x 9 (time x space) matrix, is
  replaced by its best rank-1 approximation `sigma_1 u v^T` (SVD, Eckart-Young): the spatial
  kernel is `sqrt(sigma_1) v` and the temporal one `sqrt(sigma_1) u` (`rank_one`). Their
  composition equals `K_c` exactly when `K_c` is rank 1; otherwise it keeps the share
  `sigma_1^2 / sum_i sigma_i^2` of the kernel's energy (squared entries), reported per stage;
- E3D's BatchNorm after the depthwise conv becomes the BatchNorm after the temporal conv; the one
  after the spatial conv is set to the exact identity (gamma 1, beta 0, moving mean 0, moving
  variance `1 - epsilon`);
- context blocks (SS, GC, SE, CBAM) have no E3D counterpart and stay as built: an SS or GC block
  is the identity while its last transform `C_c` is zero, as it is initialised (GCNet; paper
  eq. (3)); SE and CBAM blocks rescale their input from the start;
- the classifier is copied when the class counts match, else left as initialised.

With E3D's own structure (`block=None`, `inner_activation=False`, `padding="symmetric"`,
`temporal_strides=(2, 2, 2, 2)`) and rank-1 kernels the XwiseNet computes E3D's logits; the
paper's XwiseNet (ReLU after each depthwise BatchNorm, SS blocks, no temporal stride) starts from
the same weights in a different function, which fine-tuning adapts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from xwisenet_tf.weights import e3d
from xwisenet_tf.weights.checks import check_targets
from xwisenet_tf.weights.errors import WeightImportError
from xwisenet_tf.weights.mapping import (
    Target,
    batch_norm_targets,
    conv_targets,
    dense_targets,
    get_layer,
    get_stack,
    stack_targets,
)
from xwisenet_tf.weights.state_dict import load_state_dict

# `init_from` sources: prefix -> what PATH holds.
SOURCES = {"e3d": "an Efficient-3DCNNs ShuffleNet V2 state dict (.npz, or .pth with torch)"}
STAGES = ("stage2", "stage3", "stage4")
FORMAT = (
    "format 'e3d', Efficient-3DCNNs ShuffleNet V2, its depthwise kernels factorised into X-Conv"
)


@dataclass
class FactorisationReport:
    """What `factorise_state_dict` did.

    Attributes:
        model: the name of the model filled.
        tensors: state-dict tensors assigned (a factorised depthwise kernel counts once).
        num_classes: the model's classifier outputs.
        head_imported: whether the classifier came from the state dict.
        energy_kept: stage ("stage2", "stage3", "stage4") -> share of its depthwise kernels'
            energy (sum of squared entries) the rank-1 factorisations keep, pooled over the
            stage's kernels: `sum sigma_1^2 / sum_i sigma_i^2`.
        overall_energy_kept: the same share over all units.
        context_blocks: context-block layer name -> whether it is the identity (left as built).
        source: where the weights came from (`init_from`'s spec).
    """

    model: str
    tensors: int
    num_classes: int
    head_imported: bool
    energy_kept: dict[str, float]
    overall_energy_kept: float
    context_blocks: dict[str, bool] = field(default_factory=dict)
    source: str = "state dict"

    def summary(self) -> str:
        """A few lines: what was imported, the energy kept per stage, the context blocks."""
        head = "imported" if self.head_imported else "new (random), not the checkpoint's classes"
        stages = ", ".join(f"{stage} {share:.1%}" for stage, share in self.energy_kept.items())
        lines = [
            f"{self.source}: {self.tensors} tensors imported into '{self.model}' "
            f"({self.num_classes} classes; classifier {head}).",
            "3x3x3 depthwise kernels factorised into X-Conv's 1x3x3 and 3x1x1 (rank 1): "
            f"energy kept {self.overall_energy_kept:.1%} ({stages}).",
        ]
        if self.context_blocks:
            changed = [name for name, same in self.context_blocks.items() if not same]
            count = len(self.context_blocks)
            lines.append(
                f"{count} context blocks left as built, all the identity (last transform zero)."
                if not changed
                else f"{count} context blocks left as built; {len(changed)} not the identity "
                f"(e.g. '{changed[0]}'), so they change the checkpoint's features."
            )
        return "\n".join(lines)


def rank_one(kernel: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    """The best rank-1 factorisation of every channel's depthwise kernel (sec. III-A's X-Conv).

    Channel c's `d x kh x kw` kernel, as a `d x (kh kw)` matrix, is `sum_i sigma_i u_i v_i^T`;
    the spatial kernel is `sqrt(sigma_1) v_1` and the temporal one `sqrt(sigma_1) u_1`, signed
    so that the temporal taps sum to >= 0 (the product does not change).

    Args:
        kernel: Keras depthwise layout `(d, kh, kw, channels, 1)`.

    Returns:
        `(spatial, temporal, kept, total)`: the kernels `(1, kh, kw, channels, 1)` and
        `(d, 1, 1, channels, 1)` (float32), `sum_c sigma_1^2` and `sum_c sum_i sigma_i^2`.
    """
    d, kh, kw, channels, _ = kernel.shape
    matrices = np.transpose(np.reshape(kernel[..., 0], (d, kh * kw, channels)), (2, 0, 1))
    u, sigma, vt = np.linalg.svd(matrices.astype("float64"), full_matrices=False)
    scale = np.sqrt(sigma[:, :1])
    temporal, spatial = u[:, :, 0] * scale, vt[:, 0, :] * scale  # (C, d), (C, kh kw)
    sign = np.where(temporal.sum(axis=1, keepdims=True) < 0, -1.0, 1.0)
    spatial = np.reshape((spatial * sign).T, (1, kh, kw, channels, 1)).astype("float32")
    temporal = np.reshape((temporal * sign).T, (d, 1, 1, channels, 1)).astype("float32")
    return spatial, temporal, float(np.sum(sigma[:, 0] ** 2)), float(np.sum(sigma**2))


class _FactorisedKernel:
    """Stands for an E3D depthwise kernel among the importer's targets: `shape` is the 3D
    kernel's (checked as any variable's), `assign` fills the X-Conv's spatial and temporal
    kernels with its `rank_one` factors and keeps the energies for the report."""

    def __init__(self, layer, stage: str):
        self.spatial, self.temporal = layer.convs[0], layer.convs[1]
        _, kh, kw, channels, _ = self.spatial.kernel.shape
        self.shape = (self.temporal.kernel.shape[0], kh, kw, channels, 1)
        self.stage = stage
        self.kept = self.total = 0.0

    def assign(self, kernel: np.ndarray) -> None:
        spatial, temporal, self.kept, self.total = rank_one(kernel)
        self.spatial.kernel.assign(spatial)
        self.temporal.kernel.assign(temporal)


def factorise_state_dict(model, state: dict, source: str = "state dict") -> FactorisationReport:
    """Fills an XwiseNet from an Efficient-3DCNNs ShuffleNet V2 state dict, or changes nothing.

    Args:
        model: a Keras model of an `xwisenet*` preset with `conv_type="xwise"` (any width, units,
            block, padding, strides), built by `get_model`, not fused.
        state: PyTorch names -> arrays (`load_state_dict`) of a ShuffleNet V2 of the same width
            and units per stage.
        source: named in the report's summary.

    Returns:
        A `FactorisationReport` (energy kept per stage, classifier, context blocks).

    Raises:
        WeightImportError: a model that is not such an XwiseNet, or a state dict with missing,
            mis-shaped or unused tensors (the first ones named); nothing is assigned then.
    """
    from xwisenet_tf.layers.conv_variants import NAME_TAGS

    stage_repeats = _stage_repeats(model)
    head = get_layer(model, "predictions")
    include_head = e3d.num_classes(state) == head.units
    targets, kernels, spatial_norms = [], [], []
    for layer_name, steps in e3d.layer_steps(stage_repeats, NAME_TAGS["xwise"]):
        if not any(depthwise for *_, depthwise in steps):
            targets += stack_targets(model, layer_name, steps)
            continue
        layer = get_stack(model, _xconv_name(model, layer_name))  # an `XwiseConv3D`
        (dw_conv, dw_norm, _), (pw_conv, pw_norm, _) = steps
        kernel = _FactorisedKernel(layer, layer_name.split("_")[0])
        kernels.append(kernel)
        spatial_norms.append(layer.norms[0])
        targets.append(Target(f"{dw_conv}.weight", kernel, "depthwise"))
        targets += batch_norm_targets(dw_norm, layer.norms[1])
        targets += conv_targets(pw_conv, layer.convs[2])
        targets += batch_norm_targets(pw_norm, layer.norms[2])
    if include_head:
        targets += dense_targets(e3d.HEAD, head)
    ignored = () if include_head else (f"{e3d.HEAD}.weight", f"{e3d.HEAD}.bias")
    values = check_targets(model, targets, state, FORMAT, ignored)
    for variable, value in values:
        variable.assign(value)
    for norm in spatial_norms:
        _set_identity(norm)
    kept = {stage: [k for k in kernels if k.stage == stage] for stage in STAGES}
    return FactorisationReport(
        model=model.name,
        tensors=len(values),
        num_classes=int(head.units),
        head_imported=include_head,
        energy_kept={stage: _share(chosen) for stage, chosen in kept.items() if chosen},
        overall_energy_kept=_share(kernels),
        context_blocks=_context_blocks(model),
        source=source,
    )


def init_from(model, spec: str) -> FactorisationReport:
    """Initialises `model` from `spec` = "e3d:PATH" (``train.py --init_from``); prints nothing.

    Args:
        model: a freshly built XwiseNet (`factorise_state_dict`).
        spec: "e3d:PATH", PATH an Efficient-3DCNNs ShuffleNet V2 state dict (.npz, or .pth
            with torch), e.g. its Kinetics-600 ShuffleNet V2 1.5x for `xwisenet` (width 1.5).

    Returns:
        The `FactorisationReport`; its `summary()` is for the caller to print.

    Raises:
        WeightImportError: an unknown prefix, a missing or unreadable file, or weights that do
            not fit the model; the message names `spec`. No weight is changed then.
    """
    prefix, colon, path = str(spec).partition(":")
    forms = "; ".join(f"'{name}:PATH', PATH {what}" for name, what in SOURCES.items())
    if not colon or prefix not in SOURCES or not path:
        raise WeightImportError(f"init_from must be {forms}. Received: init_from={spec!r}")
    if not os.path.isfile(path):
        raise WeightImportError(f"init_from {spec!r}: file {path!r} not found (expected {forms}).")
    try:
        return factorise_state_dict(model, load_state_dict(path), source=spec)
    except WeightImportError as error:
        raise WeightImportError(f"init_from {spec!r}: {error}") from error


def _stage_repeats(model) -> tuple[int, int, int]:
    """Units per stage of an XwiseNet-skeleton model, from its `stage<s>_unit<u>_pw` layers."""
    names = {layer.name for layer in model.layers}
    repeats = []
    for stage in (2, 3, 4):
        units = 0
        while f"stage{stage}_unit{units + 1}_pw" in names:
            units += 1
        if not units:
            raise WeightImportError(
                f"Model '{model.name}' is not an XwiseNet (no layer 'stage{stage}_unit1_pw'): "
                "init_from 'e3d' fills the ShuffleNet V2 skeleton of the `xwisenet*` presets."
            )
        repeats.append(units)
    return tuple(repeats)


def _xconv_name(model, layer_name: str) -> str:
    """`layer_name` if the model has it, else an error naming the unit's other conv type."""
    from xwisenet_tf.layers.conv_variants import NAME_TAGS

    names = {layer.name for layer in model.layers}
    if layer_name in names:
        return layer_name
    for conv_type, tag in NAME_TAGS.items():
        other = layer_name.replace(f"_{NAME_TAGS['xwise']}", f"_{tag}")
        if other in names:
            raise WeightImportError(
                f"Model '{model.name}' has conv_type '{conv_type}' units (layer '{other}'); "
                "init_from 'e3d' factorises the 3x3x3 depthwise kernels into X-Conv units: "
                "build an `xwisenet*` preset with conv_type='xwise' (a `shufflenet3d-*` model "
                "takes the checkpoint as it is: `xwisenet_tf.weights.build_pretrained`)."
            )
    return get_layer(model, layer_name).name  # raises, naming the layer


def _set_identity(norm) -> None:
    """BatchNorm -> the identity at inference: `(x - 0) / sqrt(1 - eps + eps) * 1 + 0 = x`."""
    channels = norm.moving_variance.shape
    norm.gamma.assign(np.ones(channels, "float32"))
    norm.beta.assign(np.zeros(channels, "float32"))
    norm.moving_mean.assign(np.zeros(channels, "float32"))
    norm.moving_variance.assign(np.full(channels, 1.0 - norm.epsilon, "float32"))


def _share(kernels: list[_FactorisedKernel]) -> float:
    total = sum(k.total for k in kernels)
    return sum(k.kept for k in kernels) / total if total else 1.0


def _context_blocks(model) -> dict[str, bool]:
    """Context-block layer name -> whether it is the identity (a zero last transform `C_c`)."""
    from xwisenet_tf.layers.context_blocks import CBAMBlock, GCBlock, SEBlock, SSBlock

    blocks = {}
    for layer in model.layers:
        if isinstance(layer, SSBlock | GCBlock | SEBlock | CBAMBlock):
            expand = getattr(layer, "transform_expand", None)
            blocks[layer.name] = expand is not None and not any(
                np.any(np.asarray(w)) for w in expand.weights
            )
    return blocks
