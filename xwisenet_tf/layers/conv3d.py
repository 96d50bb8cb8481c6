"""Full 3D convolution, folded onto 2D convolutions so that TFLite runs it with builtins."""

from __future__ import annotations

import keras
from keras import ops

from xwisenet_tf.layers.common import (
    check_choice,
    check_padding,
    conv_by_temporal_taps,
    normalize_triple,
    output_length,
    require_static,
)

IMPLEMENTATIONS = ("folded", "native")


@keras.saving.register_keras_serializable(package="xwisenet_tf")
class FoldedConv3D(keras.layers.Layer):
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
        padding: `"same"` or `"valid"`.
        use_bias: whether to add a bias.
        activation: optional activation applied after the bias (fused inference form).
        kernel_initializer, bias_initializer, kernel_regularizer: as in Keras.
        implementation: `"folded"` or `"native"`.

    Input shape:
        `(batch, frames, height, width, in_channels)`, static non-batch dims.
    Output shape:
        `(batch, new_frames, new_height, new_width, filters)`.
    """

    def __init__(
        self,
        filters: int,
        kernel_size,
        strides=(1, 1, 1),
        padding: str = "same",
        use_bias: bool = True,
        activation=None,
        kernel_initializer="he_normal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        implementation: str = "folded",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(filters, int) or filters <= 0:
            raise ValueError(f"`filters` must be a positive int. Received: filters={filters!r}")
        self.filters = filters
        self.kernel_size = normalize_triple(kernel_size, "kernel_size")
        self.strides = normalize_triple(strides, "strides")
        self.padding = check_padding(padding)
        self.use_bias = use_bias
        self.activation = keras.activations.get(activation)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.implementation = check_choice(implementation, IMPLEMENTATIONS, "implementation")

    def build(self, input_shape):
        require_static(input_shape, self.name)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(*self.kernel_size, input_shape[-1], self.filters),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.bias = (
            self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer)
            if self.use_bias
            else None
        )

    def call(self, inputs):
        if self.implementation == "native":
            outputs = ops.conv(inputs, self.kernel, strides=self.strides, padding=self.padding)
            return self._epilogue(outputs)
        return conv_by_temporal_taps(
            inputs, self.kernel, self.strides, self.padding, ops.conv, self._epilogue
        )

    def _epilogue(self, outputs):
        if self.bias is not None:
            outputs = outputs + self.bias
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        dims = [
            output_length(n, k, s, self.padding)
            for n, k, s in zip(input_shape[1:4], self.kernel_size, self.strides, strict=True)
        ]
        return (input_shape[0], *dims, self.filters)

    def count_macs(self, input_shape) -> int:
        """Multiply-accumulates: `d*kh*kw*in_channels` per output element."""
        out = self.compute_output_shape(input_shape)
        d, kh, kw = self.kernel_size
        return out[1] * out[2] * out[3] * self.filters * d * kh * kw * input_shape[-1]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "strides": self.strides,
                "padding": self.padding,
                "use_bias": self.use_bias,
                "activation": keras.activations.serialize(self.activation),
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
                "implementation": self.implementation,
            }
        )
        return config
