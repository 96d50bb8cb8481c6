"""Full 3D convolution, folded onto 2D convolutions so that TFLite runs it with builtins."""

from __future__ import annotations

import keras
from keras import ops

from xwisenet_tf.layers.common import conv_by_temporal_taps, pad_for_one_op
from xwisenet_tf.layers.conv_base import Conv3DBase


@keras.saving.register_keras_serializable(package="xwisenet_tf")
class FoldedConv3D(Conv3DBase):
    """A standard (dense) 3D convolution `(N, C, d, k, k)` of paper sec. III-A.

    Used for the Traditional-Conv and ST-Conv variants, the stems, and (with a 1x1x1 kernel) for
    every pointwise convolution. The kernel has the Keras `Conv3D` layout
    `(d, kh, kw, in_channels, filters)`; two implementations share it:

    - `"folded"` (default): frames fold into the batch and each temporal tap is one 2D `conv`,
      the taps summed. TFLite sees only `CONV_2D` (quantisable to int8); `CONV_3D` has no int8
      kernel and `Conv3D` strides/pads often need Flex ops.
    - `"native"`: one `Conv3D` op, the reference.

    Args:
        filters: number of output channels N.
        kernel_size: int or (d, kh, kw).
        strides: int or (st, sh, sw).
        padding: `"same"`, `"valid"` (TensorFlow's), `"symmetric"` (PyTorch's
            `padding=(k - 1) // 2` on both sides of every axis), `"causal"` (the past side of
            time only) or `"stream"`; see `layers/common.py`.
        use_bias: whether to add a bias.
        activation: optional activation applied after the bias (fused inference form).
        kernel_initializer, bias_initializer, kernel_regularizer: as in Keras.
        implementation: `"folded"` or `"native"`.

    Input shape:
        `(batch, frames, height, width, in_channels)`, static non-batch dims.
    Output shape:
        `(batch, new_frames, new_height, new_width, filters)`.
    """

    IMPLEMENTATIONS = ("folded", "native")

    def __init__(self, filters: int, kernel_size, strides=(1, 1, 1), padding="same", **kwargs):
        super().__init__(kernel_size, strides, padding, **kwargs)
        if not isinstance(filters, int) or filters <= 0:
            raise ValueError(f"`filters` must be a positive int. Received: filters={filters!r}")
        self.filters = filters

    def _kernel_shape(self, input_shape):
        return (*self.kernel_size, input_shape[-1], self.filters)

    def _output_channels(self, input_shape):
        return self.filters

    def call(self, inputs):
        if self.implementation == "native":
            inputs, padding = pad_for_one_op(inputs, self.kernel_size, self.strides, self.padding)
            outputs = ops.conv(inputs, self.kernel, strides=self.strides, padding=padding)
            return self._epilogue(outputs)
        return conv_by_temporal_taps(
            inputs, self.kernel, self.strides, self.padding, ops.conv, self._epilogue
        )

    def count_macs(self, input_shape) -> int:
        """Multiply-accumulates: `d*kh*kw*in_channels` per output element."""
        out = self.compute_output_shape(input_shape)
        d, kh, kw = self.kernel_size
        return out[1] * out[2] * out[3] * self.filters * d * kh * kw * input_shape[-1]

    def get_config(self):
        config = super().get_config()
        config["filters"] = self.filters
        return config
