"""Reading a PyTorch state dict as NumPy arrays: from a `.npz`, or a `.pth` when torch is installed.

torch is never a dependency. Where it is installed, turn a downloaded checkpoint into a `.npz`
once (the checkpoints of both zoos keep the weights under `"state_dict"`)::

    import numpy as np, torch; sd = torch.load("model.pth", map_location="cpu")
    np.savez("model.npz", **{k: v.numpy() for k, v in sd.get("state_dict", sd).items()})
"""

from __future__ import annotations

import os

import numpy as np

from xwisenet_tf.weights.errors import WeightImportError

# Prefixes stripped from every name: `nn.DataParallel`'s, and the `state/` of an `.npz` that also
# holds other arrays (the reference file of /work/shared/data/reference holds `state/<name>`,
# `input_ncthw` and `logits`).
_DATA_PARALLEL = "module."
_STATE_GROUP = "state/"
# BatchNorm's step counter: no Keras counterpart and no effect at inference.
IGNORED_SUFFIXES = ("num_batches_tracked",)


def load_state_dict(path: str) -> dict[str, np.ndarray]:
    """The tensors of the PyTorch state dict at `path` (`.npz`, or `.pth`/`.pt` with torch).

    Names lose a leading `module.` (checkpoints saved from `nn.DataParallel`) and, in an `.npz`
    holding a `state/` group, everything outside it is ignored and `state/` dropped.

    Raises:
        WeightImportError: missing or unreadable file, `.pth` without torch, no tensors.
    """
    if not os.path.isfile(path):
        raise WeightImportError(f"State dict file not found: {path!r}")
    extension = os.path.splitext(path)[1].lower()
    if extension == ".npz":
        state = _read_npz(path)
    elif extension in (".pth", ".pt", ".tar"):
        state = _read_torch(path)
    else:
        raise WeightImportError(
            f"{path!r}: expected a .npz (or a .pth with torch installed). Received extension "
            f"{extension or '(none)'!r}."
        )
    if not state:
        raise WeightImportError(f"{path!r} holds no tensors.")
    return state


def _read_npz(path: str) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: np.asarray(data[name]) for name in data.files}
    except (OSError, ValueError) as error:
        raise WeightImportError(f"{path!r} is not a readable .npz file: {error}") from error
    if any(name.startswith(_STATE_GROUP) for name in arrays):
        arrays = {
            n[len(_STATE_GROUP) :]: a for n, a in arrays.items() if n.startswith(_STATE_GROUP)
        }
    return _strip_data_parallel(arrays)


def _read_torch(path: str) -> dict[str, np.ndarray]:
    try:
        import torch
    except ImportError as error:
        raise WeightImportError(
            f"{path!r} is a PyTorch file and torch is not installed. Convert it to .npz where "
            "torch is installed (see `python -m xwisenet_tf.weights --help`)."
        ) from error
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds for a corrupt or unsafe file
        raise WeightImportError(f"{path!r} could not be read by torch.load: {error}") from error
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get("state_dict"), dict):
        checkpoint = checkpoint["state_dict"]
    if not isinstance(checkpoint, dict):
        raise WeightImportError(f"{path!r} holds a {type(checkpoint).__name__}, not a state dict.")
    arrays = {
        name: value.detach().cpu().numpy()
        for name, value in checkpoint.items()
        if hasattr(value, "detach")
    }
    return _strip_data_parallel(arrays)


def _strip_data_parallel(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    if arrays and all(name.startswith(_DATA_PARALLEL) for name in arrays):
        return {name[len(_DATA_PARALLEL) :]: a for name, a in arrays.items()}
    return arrays
