"""The global average pool over time of a causal model, one frame at a time: over every frame
seen (cumulative) or over the recent ones (an exponential moving average)."""

from __future__ import annotations

import keras
import numpy as np
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

    A step of k frames (`x` of shape `(batch, k, C)`: a step model's ``frames_per_step``,
    `xwisenet_tf.streaming`) gives what k one-frame steps give. Frame j of the step
    (j = 1..k) is frame `n_j = count + j` of the stream, which one frame at a time would be
    taken in with the weight `a_j = max(1 / n_j, w)` (`1 / n_j` for the cumulative mean). Each
    update `m <- m + a_j (x_j - m) = (1 - a_j) m + a_j x_j` scales what came before it by
    `1 - a_j`, so after the k updates frame j weighs `b_j = a_j prod_{i = j+1..k} (1 - a_i)`,
    the old mean `prod_{i = 1..k} (1 - a_i) = 1 - sum_j b_j` (every update keeps the weights
    summing to 1), and

        mean' = mean + sum_j b_j (x_j - mean),    count' = count + k.

    For the cumulative mean the product telescopes, `prod_{i>j} (n_i - 1) / n_i = n_j / n_k`, so
    every `b_j = 1 / (count + k)`: the mean over frames 1..count + k. Once `n_j > 1 / w`,
    `b_j = w (1 - w)^(k - j)`: the exponential average's own weights. A step across the change
    from one to the other computes the products as they stand.

    Args:
        half_life: `None` (or 0): the cumulative mean; else the half-life in frames.

    Input shapes: `(batch, C)` (one frame) or `(batch, k, C)` (k frames), `(batch, C)`,
    `(batch, 1)`. Output shapes: `(batch, C)`, `(batch, 1)`.
    """

    def __init__(self, half_life: float | None = None, **kwargs):
        super().__init__(**kwargs)
        self.half_life = check_half_life(half_life)

    def call(self, inputs):
        x, mean, count = inputs
        # In float in an int8 export (one vector per frame): an int8 count would stop at the
        # longest calibration clip, and with it the mean's 1 / count.
        with keras.name_scope(FLOAT_SCOPE):
            if len(x.shape) == 3:
                return self._absorb(x, mean, count)
            count = count + 1.0
            if self.half_life is None:
                return [mean + (x - mean) / count, count]
            weight = ops.maximum(1.0 / count, ema_weight(self.half_life))
            return [mean + (x - mean) * weight, count]

    def _absorb(self, x, mean, count):
        """k frames `x` `(batch, k, C)` at once: the weights `b_j` of the class docstring."""
        frames = x.shape[1]
        deviations = x - ops.expand_dims(mean, 1)  # (batch, k, C)
        new_count = count + float(frames)
        if self.half_life is None:
            return [mean + ops.sum(deviations, axis=1) / new_count, new_count]
        seen = count + np.arange(1, frames + 1, dtype="float32")  # n_j, (batch, k)
        taken = ops.maximum(1.0 / seen, ema_weight(self.half_life))  # a_j
        # The products over the later frames, last frame first: k - 2 MULs on (batch, 1)
        # columns (a REDUCE_PROD would leave the delegate, XNNPACK has no kernel for it).
        a = ops.split(taken, frames, axis=1) if frames > 1 else [taken]
        later = [1.0 - a[-1]] if frames > 1 else []  # prod_{i > j} (1 - a_i) for j = k - 1
        for j in range(frames - 2, 0, -1):
            later.insert(0, later[0] * (1.0 - a[j]))
        weights = ops.concatenate([a[j] * later[j] for j in range(frames - 1)] + [a[-1]], axis=1)
        return [mean + ops.sum(deviations * ops.expand_dims(weights, 2), axis=1), new_count]

    def compute_output_shape(self, input_shape):
        return [tuple(input_shape[1]), tuple(input_shape[2])]

    def get_config(self):
        return {**super().get_config(), "half_life": self.half_life}
