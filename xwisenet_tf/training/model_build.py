"""The model a training run fits, and the float32 model its checkpoints save.

With ``mixed_precision`` the preset is built under ``mixed_float16`` (GPU) or ``mixed_bfloat16``
(CPU) with its softmax classifier in float32 (a numerically safe loss); checkpoints always hold
an uncompiled float32 model with the same weights, so evaluation, prediction and export never
see the training precision.
"""

from __future__ import annotations

import contextlib

import keras
import tensorflow as tf

from xwisenet_tf.training.config import TrainConfig
from xwisenet_tf.training.errors import TrainingError


def policy_name(config: TrainConfig) -> str:
    """The Keras dtype policy of a run: float32, or the mixed policy of the devices."""
    if not config.mixed_precision:
        return "float32"
    return "mixed_float16" if tf.config.list_physical_devices("GPU") else "mixed_bfloat16"


@contextlib.contextmanager
def dtype_policy(name: str):
    """Keras' global dtype policy set to ``name`` inside the block, restored after it."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def build_model(config: TrainConfig, num_classes: int) -> keras.Model:
    """``config.model`` with its overrides for ``num_classes`` classes at the run's clip size,
    under the current dtype policy (the classifier stays float32)."""
    from xwisenet_tf.models import get_model

    shape = (config.num_frames, config.image_size, config.image_size, 3)
    try:
        model = get_model(
            config.model, num_classes, input_shape=shape, **dict(config.model_overrides)
        )
    except ValueError as e:
        raise TrainingError(f"model {config.model!r}: {e}") from e
    if keras.config.dtype_policy().name != "float32":
        # Mixed precision: keep the softmax classifier in float32 (numerically safe loss).
        model.get_layer("predictions").dtype_policy = "float32"
    return model


class ExportModel:
    """The model to checkpoint: uncompiled float32, same weights (see `CheckpointSaver`)."""

    def __init__(self, model: keras.Model, config: TrainConfig, num_classes: int):
        self.model, self.config, self.num_classes = model, config, num_classes
        self._export: keras.Model | None = None

    def __call__(self) -> keras.Model:
        if keras.config.dtype_policy().name == "float32" and self.model.dtype_policy.name == (
            "float32"
        ):
            if self._export is None:
                self._export = keras.Model(
                    self.model.inputs, self.model.outputs, name=self.model.name
                )
            return self._export
        if self._export is None:
            with dtype_policy("float32"):
                self._export = build_model(self.config, self.num_classes)
        self._export.set_weights(self.model.get_weights())
        return self._export
