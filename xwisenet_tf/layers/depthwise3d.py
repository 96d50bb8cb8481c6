"""3D depthwise convolution, folded onto 2D depthwise kernels (DESIGN.md section 2)."""

from __future__ import annotations

import keras
from keras import ops

from xwisenet_tf.layers.common import (
    conv_by_temporal_taps,
    pad_explicitly,
    pad_for_one_op,
    subsample_stride_one,
    take_every,
)
from xwisenet_tf.layers.conv_base import Conv3DBase


@keras.saving.register_keras_serializable(package="xwisenet_tf")
class DepthwiseConv3D(Conv3DBase):
    """Depthwise 3D convolution: one d x k x k filter per input channel (depth multiplier 1).

    The building block of the Xwise Separable Convolution (paper sec. III-A, Fig. 1(a)), used
    with a 1 x k x k kernel (spatial), a d x 1 x 1 kernel (temporal) or a full d x k x k kernel
    (DW-Conv, Fig. 4(a)).

    Two implementations share one kernel of shape `(d, kh, kw, channels, 1)`:

    - `"folded"` (default, production): frames are folded into the batch and each temporal tap
      is a 2D `depthwise_conv`; a pure temporal kernel folds H x W into one axis and runs one
      `d x 1` 2D depthwise conv. Fast on CPU and converts to TFLite `DEPTHWISE_CONV_2D`.
    - `"grouped"`: the literal `Conv3D(groups=channels)`, kept as the reference. It is ~90x
      slower on CPU (`python -m xwisenet_tf.bench.depthwise`) and does not convert to TFLite.

    Args:
        kernel_size: int or (d, kh, kw).
        strides: int or (st, sh, sw).
        padding: `"same"`, `"valid"` (TensorFlow's), `"symmetric"` (PyTorch's
            `padding=(k - 1) // 2` on both sides of every axis), `"causal"` (the past side of
            time only) or `"stream"`; see `layers/common.py`.
        use_bias: whether to add a per-channel bias.
        activation: optional activation applied after the bias (fused inference form).
        depthwise_initializer, bias_initializer, depthwise_regularizer: as in Keras.
        implementation: `"folded"` or `"grouped"`.

    Input shape:
        5-D tensor `(batch, frames, height, width, channels)` with static non-batch dims.
    Output shape:
        5-D tensor `(batch, new_frames, new_height, new_width, channels)`.
    """

    IMPLEMENTATIONS = ("folded", "grouped")

    def __init__(
        self,
        kernel_size,
        strides=(1, 1, 1),
        padding: str = "same",
        depthwise_initializer="glorot_uniform",
        depthwise_regularizer=None,
        **kwargs,
    ):
        super().__init__(
            kernel_size,
            strides,
            padding,
            kernel_initializer=depthwise_initializer,
            kernel_regularizer=depthwise_regularizer,
            **kwargs,
        )

    def _kernel_shape(self, input_shape):
        return (*self.kernel_size, input_shape[-1], 1)

    def _output_channels(self, input_shape):
        return input_shape[-1]

    def call(self, inputs):
        if self.implementation == "grouped":
            return self._epilogue(self._call_grouped(inputs))
        if self.kernel_size[1:] == (1, 1):
            return self._call_folded_temporal(inputs)
        return conv_by_temporal_taps(
            inputs, self.kernel, self.strides, self.padding, ops.depthwise_conv, self._epilogue
        )

    def _call_grouped(self, inputs):
        channels = inputs.shape[-1]
        kernel = ops.reshape(self.kernel, (*self.kernel_size, 1, channels))
        inputs, padding = pad_for_one_op(inputs, self.kernel_size, self.strides, self.padding)
        return ops.conv(inputs, kernel, strides=self.strides, padding=padding)

    def _call_folded_temporal(self, inputs):
        # A d x 1 x 1 kernel: subsample H, W (exact for a 1-wide kernel under either padding),
        # fold H x W into one axis and run a (d x 1) 2D depthwise conv over (frames, pixels).
        # A temporal stride is applied by slicing the stride-1 result: TensorFlow's CPU kernel
        # without oneDNN (AMD, older Intel, ARM) rejects unequal row/column strides.
        stride_t, sh, sw = self.strides
        # An explicit mode pads only the time axis here (the spatial kernel is 1 wide).
        inputs, padding, _ = pad_explicitly(inputs, self.kernel_size, self.padding)
        x = inputs
        for axis, stride in ((2, sh), (3, sw)):  # stride-1 slices: XNNPACK has no strided one
            x = take_every(x, axis, 0, -(-x.shape[axis] // stride), stride)
        _, frames, height, width, channels = x.shape
        x = ops.reshape(x, (-1, frames, height * width, channels))
        depth = self.kernel_size[0]
        kernel = ops.reshape(self.kernel, (depth, 1, channels, 1))
        x = ops.depthwise_conv(x, kernel, strides=1, padding=padding)
        x = subsample_stride_one(x, 1, frames, depth, stride_t, padding)
        x = self._epilogue(x)
        return ops.reshape(x, (-1, x.shape[1], height, width, channels))

    def count_macs(self, input_shape) -> int:
        """Multiply-accumulates: one per kernel tap per output element."""
        out = self.compute_output_shape(input_shape)
        d, kh, kw = self.kernel_size
        return out[1] * out[2] * out[3] * out[4] * d * kh * kw

    def get_config(self):
        config = super().get_config()
        config["depthwise_initializer"] = config.pop("kernel_initializer")
        config["depthwise_regularizer"] = config.pop("kernel_regularizer")
        return config
