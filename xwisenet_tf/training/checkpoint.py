"""Finding and loading a trained checkpoint with what travels with it.

One place for what ``evaluate.py``, ``predict.py``, ``export.py`` and training's final
evaluation do with a checkpoint:

* `find_checkpoint`: a ``.keras`` file as given, or a training run's directory: its
  ``best.keras``, else ``last.keras``, else its only ``.keras`` file.
* `load_checkpoint`: the Keras model (safe mode, uncompiled, custom layers registered), checked
  to take video clips ``(batch, frames, height, width, 3)``.
* `load`: both, with the checkpoint's metadata (`xwisenet_tf.training.metadata`): class names,
  clip shape, frame stride, the training frames' rate and format, the normalisation
  (a `Checkpoint`).

Errors are `TrainingError` naming the file (or the flag that gave it) and what was expected.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from xwisenet_tf.training.errors import TrainingError

if TYPE_CHECKING:
    import keras

CHECKPOINT_NAMES = ("best.keras", "last.keras")


def find_checkpoint(path: str | os.PathLike, label: str | None = None) -> str:
    """The ``.keras`` file of ``path``: the file itself, or in a training run's directory its
    ``best.keras``, else ``last.keras``, else its only ``.keras`` file.

    Args:
        path: A ``.keras`` file or a directory.
        label: How errors name ``path`` (e.g. ``"--checkpoint runs/x"``); default the path.

    Raises:
        TrainingError: nothing loadable there.
    """
    path = os.fspath(path)
    label = label or path
    if os.path.isdir(path):
        for name in CHECKPOINT_NAMES:
            if os.path.isfile(os.path.join(path, name)):
                return os.path.join(path, name)
        found = sorted(f for f in os.listdir(path) if f.endswith(".keras"))
        if len(found) == 1:
            return os.path.join(path, found[0])
        raise TrainingError(
            f"{label}: holds no best.keras or last.keras; expected a training run"
            + (f" (several .keras files: {found}; name one)" if found else "")
        )
    if not os.path.isfile(path):
        raise TrainingError(f"{label}: checkpoint not found; expected a .keras file")
    if not path.endswith(".keras"):
        raise TrainingError(
            f"{label}: not a .keras file; expected a checkpoint written by train.py"
        )
    return path


def resolve_checkpoint(checkpoint: str | None, model_dir: str | None) -> str:
    """The checkpoint the ``--checkpoint`` / ``--model_dir`` flags name.

    ``checkpoint`` as given (a file or a directory, checked when it is loaded), else the
    checkpoint of the training run in ``model_dir`` (`find_checkpoint`).

    Raises:
        TrainingError: neither is given, or ``model_dir`` holds no checkpoint.
    """
    if checkpoint:
        return os.fspath(checkpoint)
    if not model_dir:
        raise TrainingError("give --model_dir (a training run) or --checkpoint (a .keras file)")
    if not os.path.isdir(model_dir):
        raise TrainingError(f"{model_dir}: model directory not found")
    return find_checkpoint(model_dir)


def load_checkpoint(path: str | os.PathLike, label: str | None = None) -> keras.Model:
    """Loads a ``.keras`` model (safe mode, uncompiled) with errors naming the file.

    Args:
        path: A ``.keras`` file or a training run's directory (`find_checkpoint`).
        label: How errors name ``path``; default the path.

    Raises:
        TrainingError: missing file, wrong extension, not a loadable Keras model, or a model
            that does not take video clips.
    """
    import keras

    import xwisenet_tf.layers  # noqa: F401 - registers the custom layers

    path = find_checkpoint(path, label)
    label = label or path
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as e:  # noqa: BLE001 - zip/h5/deserialisation errors of many types
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise TrainingError(f"{label}: not a readable Keras model ({first})") from e
    check_clip_input([tuple(i.shape) for i in model.inputs], label)
    return model


def check_clip_input(shapes: list[tuple], label: str, square: bool = False) -> None:
    """Checks that a model has one input of video clips ``(batch, frames, H, W, 3)``.

    Raises:
        TrainingError: naming ``label`` and the shape found.
    """
    shape = tuple(shapes[0])
    if len(shapes) != 1 or len(shape) != 5 or shape[-1] != 3 or (square and shape[2] != shape[3]):
        size = "size, size" if square else "height, width"
        raise TrainingError(
            f"{label}: the model takes inputs of shape {shape}; expected video clips "
            f"(batch, frames, {size}, 3)"
        )


def class_names(metadata: dict[str, Any], num_classes: int, label: str) -> list[str]:
    """The class names of a model's metadata, checked against its number of outputs.

    ``class_0 ... class_{n-1}`` when the metadata has none.

    Raises:
        TrainingError: the metadata lists another number of classes than the model outputs.
    """
    names = metadata.get("class_names")
    if names is None:
        return [f"class_{i}" for i in range(num_classes)]
    if len(names) != num_classes:
        raise TrainingError(
            f"{label}: its metadata lists {len(names)} class names but the model has "
            f"{num_classes} outputs"
        )
    return list(names)


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint and its metadata (`load`).

    Attributes:
        path: The ``.keras`` file.
        model: The Keras model (uncompiled).
        metadata: The checkpoint's metadata as read (`read_metadata`; ``{}`` when none).
        class_names: One name per output (``class_<i>`` when the metadata has none).
    """

    path: str
    model: keras.Model
    metadata: dict[str, Any]
    class_names: list[str]

    @property
    def has_class_names(self) -> bool:
        """The metadata names the classes (else `class_names` are ``class_<i>``)."""
        return self.metadata.get("class_names") is not None

    @property
    def input(self) -> dict[str, Any]:
        """The metadata's ``input`` entry: clip shape, frame stride, frames' format, ``fps``."""
        return dict(self.metadata.get("input") or {})

    @property
    def clip_shape(self) -> tuple:
        """``(frames, height, width, 3)`` of the model's input."""
        return tuple(self.model.inputs[0].shape[1:])

    @property
    def frame_stride(self) -> int:
        """Step between the frames of a training clip (1 when not recorded)."""
        return int(self.input.get("frame_stride") or 1)

    @property
    def fps(self) -> float | None:
        """The frame rate of the training clips, or ``None`` (`trained_fps`)."""
        from xwisenet_tf.training.metadata import trained_fps

        return trained_fps(self.metadata)


def load(path: str | os.PathLike, label: str | None = None) -> Checkpoint:
    """Loads a checkpoint (`load_checkpoint`) and its metadata.

    Args:
        path: A ``.keras`` file or a training run's directory (`find_checkpoint`).
        label: How errors name ``path``; default the path.

    Raises:
        TrainingError: as `load_checkpoint`; an unreadable sidecar; metadata whose class
            names do not match the model's outputs.
    """
    from xwisenet_tf.training.metadata import read_metadata

    path = find_checkpoint(path, label)
    model = load_checkpoint(path, label)
    metadata = dict(read_metadata(path))
    names = class_names(metadata, int(model.outputs[0].shape[-1]), label or path)
    return Checkpoint(path=path, model=model, metadata=metadata, class_names=names)


__all__ = [
    "CHECKPOINT_NAMES",
    "Checkpoint",
    "check_clip_input",
    "class_names",
    "find_checkpoint",
    "load",
    "load_checkpoint",
    "resolve_checkpoint",
]
