"""What the folded 3D convolutions share: arguments, weights, output shape, bias + activation."""

from __future__ import annotations

import keras

from xwisenet_tf.layers.common import (
    check_choice,
    check_padding,
    normalize_triple,
    output_dims,
    require_static,
)


class Conv3DBase(keras.layers.Layer):
    """Base of `FoldedConv3D` and `DepthwiseConv3D`.

    Subclasses set `IMPLEMENTATIONS` (the first is the default), `_kernel_shape(input_shape)`,
    `_output_channels(input_shape)`, `count_macs` and `call`, and end `call` with `_epilogue`.
    """

    IMPLEMENTATIONS: tuple[str, ...] = ()

    def __init__(
        self,
        kernel_size,
        strides=(1, 1, 1),
        padding: str = "same",
        use_bias: bool = True,
        activation=None,
        kernel_initializer="he_normal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        implementation: str | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.kernel_size = normalize_triple(kernel_size, "kernel_size")
        self.strides = normalize_triple(strides, "strides")
        self.padding = check_padding(padding)
        self.use_bias = use_bias
        self.activation = keras.activations.get(activation)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.implementation = check_choice(
            implementation or self.IMPLEMENTATIONS[0], self.IMPLEMENTATIONS, "implementation"
        )

    def _kernel_shape(self, input_shape) -> tuple[int, ...]:
        raise NotImplementedError

    def _output_channels(self, input_shape) -> int:
        raise NotImplementedError

    def build(self, input_shape):
        require_static(input_shape, self.name)
        self.kernel = self.add_weight(
            name="kernel",
            shape=self._kernel_shape(input_shape),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        channels = self._output_channels(input_shape)
        self.bias = (
            self.add_weight(name="bias", shape=(channels,), initializer=self.bias_initializer)
            if self.use_bias
            else None
        )

    def _epilogue(self, outputs):
        """Bias and activation; in the folded path applied before unfolding to 5-D."""
        if self.bias is not None:
            outputs = outputs + self.bias
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        dims = output_dims(input_shape[1:4], self.kernel_size, self.strides, self.padding)
        return (input_shape[0], *dims, self._output_channels(input_shape))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
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
