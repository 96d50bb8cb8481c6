"""The parameter-free residual shortcut of 3D-ResNet (Hara et al., shortcut type A)."""

from __future__ import annotations

import keras
from keras import ops

from xwisenet_tf.layers.common import normalize_triple, output_length, take_every


@keras.saving.register_keras_serializable(package="xwisenet_tf")
class ZeroPadShortcut(keras.layers.Layer):
    """Strided identity with zero-padded channels: shortcut type A of 3D-ResNet-18/34.

    Equals Hara et al.'s `avg_pool3d(x, kernel_size=1, stride)` followed by concatenating zeros
    up to `filters` channels. It has no weights, which is why Traditional-Conv 3D-ResNet-18 has
    33.2 M parameters (Table IV) rather than 33.4 M.

    Args:
        filters: output channels (>= input channels).
        strides: int or (st, sh, sw).

    Input shape:
        `(batch, frames, height, width, channels)`.
    Output shape:
        `(batch, ceil(frames/st), ceil(height/sh), ceil(width/sw), filters)`.
    """

    def __init__(self, filters: int, strides=(1, 1, 1), **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.strides = normalize_triple(strides, "strides")

    def build(self, input_shape):
        if input_shape[-1] > self.filters:
            raise ValueError(
                f"Layer '{self.name}': filters={self.filters} is smaller than the input "
                f"channels {input_shape[-1]}."
            )

    def call(self, inputs):
        x = inputs
        for axis, stride in enumerate(self.strides, start=1):  # XNNPACK has no strided slice
            x = take_every(x, axis, 0, -(-x.shape[axis] // stride), stride)
        extra = self.filters - inputs.shape[-1]
        if extra:
            x = ops.pad(x, ((0, 0), (0, 0), (0, 0), (0, 0), (0, extra)))
        return x

    def compute_output_shape(self, input_shape):
        dims = [
            output_length(n, 1, s, "same")
            for n, s in zip(input_shape[1:4], self.strides, strict=True)
        ]
        return (input_shape[0], *dims, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update({"filters": self.filters, "strides": self.strides})
        return config
