"""The global average pool over time of a causal model, one frame at a time: over every frame
seen (cumulative) or over the recent ones (an exponential moving average)."""

from __future__ import annotations

import keras
from keras import ops

from xwisenet_tf.layer_options import FLOAT_SCOPE, check_half_life, ema_weight


@keras.saving.register_keras_serializable(package="xwisenet_tf")
class RunningMean(keras.layers.Layer):
    """Mean of the per-frame feature vectors seen so far: `[x, mean, count] -> [mean', count']`.

    `count' = count + 1`, `mean' = mean + (x - mean) / count'`: after frame t, the mean over
    frames 1..t, which is what the clip's global average pool over time gives on those t
    frames. The state is the mean rather than a sum so that it stays in the features' range
    (what an int8 model calibrates for); it starts at zeros with `count = 0`.

    With a `half_life` h the newest frame weighs `max(1 / count', w)`, `w = 1 - 2^(-1/h)`:
    the cumulative mean for the first `1 / w` frames (about 1.44 h), then an exponential moving
    average in which a frame loses half its weight every h frames, so that the mean follows a
    change of action (`xwisenet_tf.streaming`) with the same state and one MAXIMUM more.

    Args:
        half_life: `None` (or 0): the cumulative mean; else the half-life in frames.

    Input shapes: `(batch, C)`, `(batch, C)`, `(batch, 1)`. Output shapes: `(batch, C)`,
    `(batch, 1)`.
    """

    def __init__(self, half_life: float | None = None, **kwargs):
        super().__init__(**kwargs)
        self.half_life = check_half_life(half_life)

    def call(self, inputs):
        x, mean, count = inputs
        # In float in an int8 export (one vector per frame): an int8 count would stop at the
        # longest calibration clip, and with it the mean's 1 / count.
        with keras.name_scope(FLOAT_SCOPE):
            count = count + 1.0
            if self.half_life is None:
                return [mean + (x - mean) / count, count]
            weight = ops.maximum(1.0 / count, ema_weight(self.half_life))
            return [mean + (x - mean) * weight, count]

    def compute_output_shape(self, input_shape):
        return [tuple(input_shape[1]), tuple(input_shape[2])]

    def get_config(self):
        return {**super().get_config(), "half_life": self.half_life}
