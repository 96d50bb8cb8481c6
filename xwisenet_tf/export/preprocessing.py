"""In-model preprocessing for deployment: uint8 RGB camera frames in, class scores out.

`with_preprocessing(model)` puts a `FramePreprocessing` layer in front of a clip classifier, so
that an app feeds frames as they come from the camera (uint8 RGB, 0-255, already cropped and
resized to the model's size) and the model does the data pipeline's normalisation
``(x - MEAN_RGB) / STD_RGB`` itself (`xwisenet_tf.data.normalize_frames`). In TFLite this adds
one CAST and the SUB/MUL of the normalisation, all builtins (also in full-integer models).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


def _pipeline_constants() -> tuple[tuple[float, ...], tuple[float, ...]]:
    from xwisenet_tf.data.pipeline import MEAN_RGB, STD_RGB

    return tuple(MEAN_RGB), tuple(STD_RGB)


@keras.saving.register_keras_serializable(package="xwisenet_tf")
class FramePreprocessing(keras.layers.Layer):
    """Casts uint8 RGB frames to float32 and normalises them per channel.

    ``y = (float(x) - mean) / std``, with the training data pipeline's `MEAN_RGB` and `STD_RGB`
    by default (0-255 scale), so the exported model sees exactly the inputs it was trained on.

    Input shape:
        ``(batch, frames, height, width, 3)``, any numeric dtype (uint8 from a camera).

    Output shape:
        Same, float32.

    Args:
        mean: Per-channel mean on the 0-255 scale (default: the data pipeline's `MEAN_RGB`).
        std: Per-channel standard deviation (default: `STD_RGB`).
    """

    def __init__(self, mean=None, std=None, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        default_mean, default_std = _pipeline_constants()
        self.mean = tuple(float(v) for v in (default_mean if mean is None else mean))
        self.std = tuple(float(v) for v in (default_std if std is None else std))
        if len(self.mean) != len(self.std) or not self.mean:
            raise ValueError(
                "`mean` and `std` must have one value per channel. "
                f"Received: mean={self.mean!r}, std={self.std!r}"
            )
        if not all(s > 0 for s in self.std):
            raise ValueError(f"`std` values must be > 0. Received: std={self.std!r}")

    def build(self, input_shape):
        if input_shape[-1] is not None and input_shape[-1] != len(self.mean):
            raise ValueError(
                f"FramePreprocessing has {len(self.mean)} channel statistics but its input has "
                f"{input_shape[-1]} channels. Received: input_shape={input_shape!r}"
            )
        super().build(input_shape)

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        mean = ops.convert_to_tensor(np.asarray(self.mean, np.float32))
        std = ops.convert_to_tensor(np.asarray(self.std, np.float32))
        return (x - mean) / std

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(inputs.shape, dtype="float32")

    def get_config(self):
        return {**super().get_config(), "mean": list(self.mean), "std": list(self.std)}


def with_preprocessing(model: keras.Model) -> keras.Model:
    """`model` behind a `FramePreprocessing` layer: input ``frames``, uint8, same clip shape.

    The returned functional model shares `model`'s weights; it saves and loads as a ``.keras``
    file with the default ``safe_mode`` (no Lambda layer).
    """
    frames = keras.Input(
        batch_shape=(None, *model.inputs[0].shape[1:]), dtype="uint8", name="frames"
    )
    clips = FramePreprocessing(name="preprocessing")(frames)
    return keras.Model(frames, model(clips), name=f"{model.name}_uint8")


def to_uint8_frames(clips: np.ndarray) -> np.ndarray:
    """Undoes the normalisation of pipeline clips: ``round(x * STD_RGB + MEAN_RGB)`` as uint8.

    Gives the camera-like frames a `with_preprocessing` model takes, from clips of
    `xwisenet_tf.data.load`.
    """
    mean, std = _pipeline_constants()
    frames = np.asarray(clips, np.float32) * np.asarray(std, np.float32)
    frames = frames + np.asarray(mean, np.float32)
    return np.clip(np.round(frames), 0, 255).astype(np.uint8)
