"""ShuffleNet V2 channel operations (paper sec. III-C, Fig. 1(b)(c))."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="xwisenet_tf")
class ChannelSplit(keras.layers.Layer):
    """Splits the channels into two equal halves (the Same Unit's identity and branch inputs).

    Input shape:
        `(..., channels)` with an even number of channels.
    Output shape:
        Two tensors `(..., channels // 2)`.
    """

    def build(self, input_shape):
        if input_shape[-1] is None or input_shape[-1] % 2:
            raise ValueError(
                f"Layer '{self.name}' needs an even, known number of channels. "
                f"Received shape: {tuple(input_shape)}"
            )

    def call(self, inputs):
        # `split`, not slicing: its gradient is a concat, a strided slice's is far slower on CPU.
        return ops.split(inputs, 2, axis=-1)

    def compute_output_shape(self, input_shape):
        half = (*input_shape[:-1], input_shape[-1] // 2)
        return [half, half]


@keras.saving.register_keras_serializable(package="xwisenet_tf")
class ChannelShuffle(keras.layers.Layer):
    """ShuffleNet channel shuffle: channel `g * n + i` moves to `i * groups + g`.

    Implemented on a 3-D view `(positions, groups, channels / groups)` so TFLite needs only a
    3-D `TRANSPOSE` whatever the input rank.

    Args:
        groups: number of channel groups (2 in ShuffleNet V2).

    Input shape:
        `(batch, ..., channels)`, static non-batch dims, channels divisible by `groups`.
    Output shape:
        Same as input.
    """

    def __init__(self, groups: int = 2, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(groups, int) or groups < 1:
            raise ValueError(f"`groups` must be a positive int. Received: groups={groups!r}")
        self.groups = groups

    def build(self, input_shape):
        if input_shape[-1] is None or input_shape[-1] % self.groups:
            raise ValueError(
                f"Layer '{self.name}': channels must be divisible by groups={self.groups}. "
                f"Received shape: {tuple(input_shape)}"
            )

    def call(self, inputs):
        channels = inputs.shape[-1]
        x = ops.reshape(inputs, (-1, self.groups, channels // self.groups))
        x = ops.transpose(x, (0, 2, 1))
        return ops.reshape(x, (-1, *inputs.shape[1:]))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"groups": self.groups})
        return config


@keras.saving.register_keras_serializable(package="xwisenet_tf")
class ChannelShuffleSplit(keras.layers.Layer):
    """`ChannelShuffle(2)` then `ChannelSplit`: the two halves the next ShuffleNet V2 Same
    Unit takes (its identity and its branch input).

    Equal to `ChannelSplit()(ChannelShuffle(2)(x))`: channel `j` of the first half is channel
    `j // 2 + (j % 2) * C/2` of the input, of the second half channel `C/4` further. In
    training it is one transpose that writes the two halves one after the other, so the split
    along the outermost axis needs no copy (the separate layers copy the tensor twice, and
    TensorFlow's CPU `Split` on the channel axis is slower than its transpose; their gradients
    cost the same). In inference (and so in TFLite) it runs the separate layers' ops, the
    graph exported before issue 15: LiteRT showed no gain from the 4-D transpose.

    Input shape:
        `(batch, ..., channels)`, static non-batch dims, channels divisible by 4.
    Output shape:
        Two tensors `(batch, ..., channels // 2)`.
    """

    def build(self, input_shape):
        if input_shape[-1] is None or input_shape[-1] % 4:
            raise ValueError(
                f"Layer '{self.name}' needs a known number of channels divisible by 4. "
                f"Received shape: {tuple(input_shape)}"
            )

    def call(self, inputs, training=None):
        channels = inputs.shape[-1]
        if not training:
            x = ops.reshape(inputs, (-1, 2, channels // 2))
            x = ops.reshape(ops.transpose(x, (0, 2, 1)), (-1, *inputs.shape[1:]))
            return ops.split(x, 2, axis=-1)
        # (position, group g, half h, i) -> (half h, position, i, group g): half h holds the
        # shuffled channels 2 * i + g of input channel g * C/2 + h * C/4 + i.
        x = ops.reshape(inputs, (-1, 2, 2, channels // 4))
        x = ops.transpose(x, (2, 0, 3, 1))
        first, second = ops.split(x, 2, axis=0)
        shape = (-1, *inputs.shape[1:-1], channels // 2)
        return [ops.reshape(first, shape), ops.reshape(second, shape)]

    def compute_output_shape(self, input_shape):
        half = (*input_shape[:-1], input_shape[-1] // 2)
        return [half, half]
