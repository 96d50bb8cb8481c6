"""An export's checkpoint and models: `ExportJob` loads a trained checkpoint with its metadata
(`load_checkpoint`) and builds the two float32 models every exporter works on, the reference
Keras model and the one converted (`static_float32_model`, BatchNorms folded).

`xwisenet_tf.export.exporter` runs the job through the exporters of
`xwisenet_tf.export.formats` and `xwisenet_tf.export.stream`, on the clips of
`xwisenet_tf.export.verification_data`; each of them takes the job from here.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys

import keras

from xwisenet_tf.export.errors import ExportError
from xwisenet_tf.export.options import ExportOptions


def resolve_checkpoint(path: str | os.PathLike) -> str:
    """The ``.keras`` file of ``path`` (`xwisenet_tf.training.checkpoint.find_checkpoint`).

    Raises:
        ExportError: nothing loadable there.
    """
    from xwisenet_tf.training.checkpoint import find_checkpoint

    with _as_export_error():
        return find_checkpoint(path, f"--checkpoint {os.fspath(path)}")


def load_checkpoint(path: str | os.PathLike) -> tuple[keras.Model, dict]:
    """Loads a checkpoint and its metadata (`xwisenet_tf.training.checkpoint.load`).

    Returns:
        ``(model, metadata)``; ``metadata["class_names"]`` always set (``class_<i>`` when the
        checkpoint has no sidecar or training ``config.json``, with a warning) and
        ``metadata["checkpoint"]`` the file's absolute path.

    Raises:
        ExportError: missing or unreadable checkpoint, metadata that does not fit the model.
    """
    from xwisenet_tf.training import checkpoint

    path = resolve_checkpoint(path)
    with _as_export_error():
        loaded = checkpoint.load(path, f"--checkpoint {path}")
    if not loaded.has_class_names:
        print(
            f"WARNING: {path} has no class names (no {os.path.basename(path)}.json sidecar or "
            "training config.json); the export names them class_0, class_1, ...",
            file=sys.stderr,
        )
    metadata = {
        **loaded.metadata,
        "class_names": loaded.class_names,
        "checkpoint": os.path.abspath(path),
    }
    return loaded.model, metadata


@contextlib.contextmanager
def _as_export_error():
    """Re-raises a `TrainingError` of the checkpoint module as an `ExportError` (one line)."""
    from xwisenet_tf.errors import one_line
    from xwisenet_tf.training.errors import TrainingError

    try:
        yield
    except TrainingError as e:
        raise ExportError(one_line(e)) from e


def static_float32_model(model: keras.Model, clip_shape: tuple[int, ...]) -> keras.Model:
    """`model` with float32 layers and input ``(None, *clip_shape)``, same weights.

    Returns `model` itself when it already is; otherwise a clone (mixed-precision checkpoints
    export in float32, and a clip shape other than the training one rebuilds the graph).
    """
    clip_shape = tuple(int(d) for d in clip_shape)
    same_shape = tuple(model.inputs[0].shape[1:]) == clip_shape
    float32 = all(layer.dtype_policy.name == "float32" for layer in model.layers)
    if same_shape and float32:
        return model

    def clone(layer):
        config = layer.get_config()
        config["dtype"] = "float32"
        return layer.__class__.from_config(config)

    name = model.inputs[0].name.split(":")[0] or "clips"
    inputs = keras.Input(shape=clip_shape, name=name, dtype="float32")
    copy = keras.models.clone_model(model, input_tensors=inputs, clone_function=clone)
    try:
        copy.set_weights(model.get_weights())
    except ValueError as e:
        raise ExportError(
            f"model {model.name} cannot be rebuilt for clips of shape {clip_shape}: {e}"
        ) from e
    return copy


def _file_base(model: keras.Model) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", model.name) or "model"


class ExportJob:
    """A loaded checkpoint and the two float32 models an export needs.

    Attributes:
        options: The `ExportOptions`.
        model, metadata, class_names: The checkpoint (`load_checkpoint`).
        num_frames, image_size, frame_stride: The exported clip format.
        reference: The float32 Keras model at the exported clip shape (what exports are
            compared with); with ``include_preprocessing``, taking uint8 frames.
        export: ``reference`` with BatchNorms folded (``fold_batch_norms``): what is converted.
        base: The file name stem (the model's name).
    """

    def __init__(self, options: ExportOptions):
        self.options = options
        self.model, self.metadata = load_checkpoint(options.checkpoint)
        self.class_names = list(self.metadata["class_names"])
        shape = self.model.inputs[0].shape
        frames = options.num_frames or shape[1]
        size = options.image_size or shape[2]
        if not isinstance(frames, int) or not isinstance(size, int) or shape[2] != shape[3]:
            raise ExportError(
                f"--checkpoint {self.metadata['checkpoint']}: input shape {tuple(shape)}; pass "
                "--num_frames and --image_size"
            )
        self.num_frames, self.image_size = int(frames), int(size)
        self.frame_stride = int(self.metadata.get("input", {}).get("frame_stride") or 1)
        clip_shape = (self.num_frames, self.image_size, self.image_size, 3)
        reference = static_float32_model(self.model, clip_shape)
        export = reference
        if options.fold_batch_norms:
            from xwisenet_tf.optimize import fold_batch_norms

            export = fold_batch_norms(reference)
        if options.include_preprocessing:
            from xwisenet_tf.export.preprocessing import with_preprocessing

            reference, export = with_preprocessing(reference), with_preprocessing(export)
        self.reference, self.export = reference, export
        self.base = _file_base(self.model)
