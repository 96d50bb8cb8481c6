"""The global average pool over time of a causal model, one frame at a time."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="xwisenet_tf")
class RunningMean(keras.layers.Layer):
    """Mean of the per-frame feature vectors seen so far: `[x, mean, count] -> [mean', count']`.

    `count' = count + 1`, `mean' = mean + (x - mean) / count'`: after frame t, the mean over
    frames 1..t, which is what the clip's global average pool over time gives on those t
    frames. The state is the mean rather than a sum so that it stays in the features' range
    (what an int8 model calibrates for); it starts at zeros with `count = 0`.

    Input shapes: `(batch, C)`, `(batch, C)`, `(batch, 1)`. Output shapes: `(batch, C)`,
    `(batch, 1)`.
    """

    def call(self, inputs):
        x, mean, count = inputs
        count = count + 1.0
        return [mean + (x - mean) / count, count]

    def compute_output_shape(self, input_shape):
        return [tuple(input_shape[1]), tuple(input_shape[2])]
