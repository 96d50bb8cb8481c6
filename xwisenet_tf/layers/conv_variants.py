"""The four 3D convolutions the paper compares (Table II), each with its BatchNorm and ReLU.

- Traditional-Conv: one dense d x k x k convolution.
- ST-Conv (Fig. 4(b)): a dense 1 x k x k spatial conv C_in -> C_out, then a dense d x 1 x 1
  temporal conv C_out -> C_out (no R(2+1)D mid-channel expansion).
- DW-Conv (Fig. 4(a)): a d x k x k depthwise conv, then a 1 x 1 x 1 pointwise conv.
- X-Conv, the Xwise Separable Convolution (sec. III-A, Fig. 1(a)): a 1 x k x k depthwise spatial
  conv, a d x 1 x 1 depthwise temporal conv, then a 1 x 1 x 1 pointwise conv C_in -> C_out.

Every inner convolution is followed by BatchNorm + ReLU (the extra non-linearities the paper
stresses; `inner_activation=False` leaves them linear, as ShuffleNet V2 and MobileNet V2 keep their
depthwise convolutions); the last one by BatchNorm and, if `final_activation`, ReLU. A spatial
stride goes to the spatial conv, a temporal stride to the temporal one. `padding` ("same" or
PyTorch's "symmetric") goes to every convolution of the stack.
"""

from __future__ import annotations

import keras
from keras import ops

from xwisenet_tf.layer_options import (
    CONV_TYPES,
    DEPTHWISE_INITS,
    IMPLEMENTATIONS,
    INNER_ACTIVATIONS,
    TEMPORAL_INITS,
    check_choice,
)
from xwisenet_tf.layers.batch_norm import BatchNorm
from xwisenet_tf.layers.common import check_padding, normalize_triple, require_static
from xwisenet_tf.layers.complexity import layer_macs
from xwisenet_tf.layers.conv3d import FoldedConv3D
from xwisenet_tf.layers.depthwise3d import DepthwiseConv3D
from xwisenet_tf.layers.initializers import CentredDepthwise, CentreTapIdentity

BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


class ConvBNStack(keras.layers.Layer):
    """A chain of (convolution, BatchNorm, ReLU) steps; subclasses define the convolutions.

    Args:
        filters: output channels.
        kernel_size: int or (d, k, k) of the 3D convolution being replaced.
        strides: int or (st, sh, sw).
        final_activation: apply ReLU after the last BatchNorm.
        inner_activation: ReLU after the other BatchNorms: `True` after every one (the paper's
            X-Conv, sec. III-A), `"first"` after the first only (X-Conv: the non-linearity
            between the 2D and the 1D convolution, the paper's second benefit in sec. I),
            `False` after none.
        temporal_init: `"he"` or `"identity"` (`CentreTapIdentity`) for the kernel of a
            temporal `d x 1 x 1` convolution (ST-Conv, X-Conv).
        depthwise_init: `"he"` or `"centred"` (`CentredDepthwise`) for every depthwise kernel
            (`temporal_init="identity"` takes precedence for the temporal one).
        padding: `"same"` (TensorFlow's) or `"symmetric"` (PyTorch's `(k - 1) // 2` on both
            sides), for every convolution of the stack.
        implementation: `"folded"` (TFLite-friendly production path) or `"reference"` (grouped
            `Conv3D` for depthwise convs, native `Conv3D` for dense ones).
        kernel_regularizer: regulariser for every convolution kernel.
        fused: inference form with every BatchNorm folded into its convolution (a bias per
            conv, no BatchNorm layers); made by `xwisenet_tf.optimize.fold_batch_norms`.
    """

    conv_type = None

    def __init__(
        self,
        filters: int,
        kernel_size=3,
        strides=1,
        final_activation: bool = True,
        implementation: str = "folded",
        kernel_regularizer=None,
        fused: bool = False,
        inner_activation: bool | str = True,
        temporal_init: str = "he",
        depthwise_init: str = "he",
        padding: str = "same",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.fused = fused
        self.padding = check_padding(padding)
        self.filters = filters
        self.kernel_size = normalize_triple(kernel_size, "kernel_size")
        self.strides = normalize_triple(strides, "strides")
        self.final_activation = final_activation
        self.inner_activation = check_choice(
            inner_activation, INNER_ACTIVATIONS, "inner_activation"
        )
        self.temporal_init = check_choice(temporal_init, TEMPORAL_INITS, "temporal_init")
        self.depthwise_init = check_choice(depthwise_init, DEPTHWISE_INITS, "depthwise_init")
        self.implementation = check_choice(implementation, IMPLEMENTATIONS, "implementation")
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        named_convs = self._make_convs()
        if fused:  # ReLU goes inside the convolutions, where TensorFlow fuses it
            for i, (_, conv) in enumerate(named_convs):
                if self._activated(i, len(named_convs) - 1):
                    conv.activation = keras.activations.relu
        self.convs = [conv for _, conv in named_convs]
        self.norms = [] if fused else [self._batch_norm(suffix) for suffix, _ in named_convs]
        self._inner_leak = None  # set by `set_inner_leak` during a ReLU warm-up only

    def set_inner_leak(self, leak) -> None:
        """Makes the inner ReLUs leaky with the slope ``leak.slope`` (a scalar variable), or
        plain again (``None``).

        For a training-time warm-up (`xwisenet_tf.training.ReluWarmup`): slope 1 makes the inner
        ReLUs identities, 0 makes them the model's ReLUs again. Not part of the config or the
        weights: a saved model always has plain ReLUs. Set it before the function that uses it
        is traced (`keras.Model.fit` traces its train step on the first batch).
        """
        self._inner_leak = leak

    def has_inner_relus(self) -> bool:
        """Whether a ReLU follows any convolution but the last (`inner_activation`)."""
        last = len(self.convs) - 1
        return any(self._activated(i, last) for i in range(last))

    def _make_convs(self):
        raise NotImplementedError

    def _activated(self, index: int, last: int) -> bool:
        if index == last:
            return self.final_activation
        if self.inner_activation == "first":
            return index == 0
        return bool(self.inner_activation)

    def _kernel_initializer(self, kernel_size, default):
        kernel_size = normalize_triple(kernel_size, "kernel_size")
        if self.temporal_init == "identity" and kernel_size[0] > 1 and kernel_size[1:] == (1, 1):
            return CentreTapIdentity()
        return default

    def _batch_norm(self, suffix: str):
        return BatchNorm(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=f"{self.name}_{suffix}_bn")

    def _dense(self, suffix, filters, kernel_size, strides):
        return FoldedConv3D(
            filters,
            kernel_size,
            strides,
            padding=self.padding,
            use_bias=self.fused,
            kernel_initializer=self._kernel_initializer(kernel_size, "he_normal"),
            kernel_regularizer=self.kernel_regularizer,
            implementation="folded" if self.implementation == "folded" else "native",
            name=f"{self.name}_{suffix}",
        )

    def _depthwise(self, suffix, kernel_size, strides):
        return DepthwiseConv3D(
            kernel_size,
            strides,
            padding=self.padding,
            use_bias=self.fused,
            # He init over the d*k*k taps of one channel (Keras' fan_in would also count C).
            depthwise_initializer=self._kernel_initializer(
                kernel_size,
                CentredDepthwise()
                if self.depthwise_init == "centred"
                else keras.initializers.VarianceScaling(2.0, "fan_out"),
            ),
            depthwise_regularizer=self.kernel_regularizer,
            implementation="folded" if self.implementation == "folded" else "grouped",
            name=f"{self.name}_{suffix}",
        )

    def build(self, input_shape):
        streaming = self.padding == "stream"
        shape = input_shape[0] if streaming else input_shape
        require_static(shape, self.name)
        for i, conv in enumerate(self.convs):
            shape = self._with_past(conv, shape) if streaming else shape
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
            if self.norms:
                self.norms[i].build(shape)

    def call(self, inputs, training=None):
        """The stack on a clip; with `padding="stream"`, one step on the k new frames.

        A streaming step takes `[frames, *states]` (`frames`: `(batch, k, H, W, C)`, k >= 1) and
        returns `[outputs, *new_states]` (k output frames): before every convolution with a
        temporal extent d > 1 its state (its d - 1 previous input frames,
        `stream_state_shapes`) is put in front of the k new frames, and the last d - 1 of those
        d - 1 + k frames are its new state.
        """
        streaming = self.padding == "stream"
        x, states = (inputs[0], list(inputs[1:])) if streaming else (inputs, [])
        new_states = []
        last = len(self.convs) - 1
        for i, conv in enumerate(self.convs):
            if streaming and conv.kernel_size[0] > 1:
                x = ops.concatenate([states.pop(0), x], axis=1)
                new_states.append(x[:, x.shape[1] - (conv.kernel_size[0] - 1) :])
            x = conv(x)
            if self.fused:
                continue  # bias and ReLU are inside the convolution
            x = self.norms[i](x, training=training)
            if self._activated(i, last):
                x = self._relu(x, inner=i < last)
        return [x, *new_states] if streaming else x

    def stream_state_shapes(self, input_shape) -> list[tuple]:
        """Shapes `(d - 1, H, W, C)` of the past frames each temporal convolution keeps when
        the stack streams (one per convolution with d > 1), for the `input_shape` of a step's
        new frames."""
        shapes, shape = [], tuple(input_shape)
        for conv in self.convs:
            if conv.kernel_size[0] > 1:
                shapes.append((conv.kernel_size[0] - 1, *shape[2:]))
                shape = self._with_past(conv, shape)
            shape = conv.compute_output_shape(shape)
        return shapes

    @staticmethod
    def _with_past(conv, shape):
        """The shape of a step's k new frames with the d - 1 past frames a streaming `conv`
        sees in front: d - 1 + k frames."""
        return (shape[0], shape[1] + conv.kernel_size[0] - 1, *shape[2:])

    def _relu(self, x, inner: bool):
        if not inner or self._inner_leak is None:
            return ops.relu(x)
        return ops.maximum(x, x * ops.cast(self._inner_leak.slope, x.dtype))

    def compute_output_shape(self, input_shape):
        streaming = self.padding == "stream"
        shape = input_shape[0] if streaming else input_shape
        for conv in self.convs:
            shape = conv.compute_output_shape(self._with_past(conv, shape) if streaming else shape)
        if not streaming:
            return shape
        return [shape, *[(shape[0], *s) for s in self.stream_state_shapes(input_shape[0])]]

    def count_macs(self, input_shape) -> int:
        streaming = self.padding == "stream"
        total, shape = 0, input_shape[0] if streaming else input_shape
        for conv in self.convs:
            shape = self._with_past(conv, shape) if streaming else shape
            total += layer_macs(conv, shape)
            shape = conv.compute_output_shape(shape)
        return total

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "strides": self.strides,
                "final_activation": self.final_activation,
                "implementation": self.implementation,
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
                "fused": self.fused,
                "inner_activation": self.inner_activation,
                "temporal_init": self.temporal_init,
                "depthwise_init": self.depthwise_init,
                "padding": self.padding,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="xwisenet_tf")
class TraditionalConv3D(ConvBNStack):
    """Traditional-Conv (Table II): dense d x k x k conv, BatchNorm, ReLU.

    With `kernel_size=1` it is the pointwise conv + BN + ReLU of the ShuffleNet units.

    Input shape: `(batch, T, H, W, C_in)`. Output shape: `(batch, T', H', W', filters)`.
    """

    conv_type = "traditional"

    def _make_convs(self):
        return [("conv", self._dense("conv", self.filters, self.kernel_size, self.strides))]


@keras.saving.register_keras_serializable(package="xwisenet_tf")
class STConv3D(ConvBNStack):
    """ST-Conv (Table II, Fig. 4(b)): dense 1 x k x k then dense d x 1 x 1 convolution.

    Input shape: `(batch, T, H, W, C_in)`. Output shape: `(batch, T', H', W', filters)`.
    """

    conv_type = "st"

    def _make_convs(self):
        d, kh, kw = self.kernel_size
        st, sh, sw = self.strides
        return [
            ("spatial", self._dense("spatial", self.filters, (1, kh, kw), (1, sh, sw))),
            ("temporal", self._dense("temporal", self.filters, (d, 1, 1), (st, 1, 1))),
        ]


@keras.saving.register_keras_serializable(package="xwisenet_tf")
class DWConv3D(ConvBNStack):
    """DW-Conv, the 3D depthwise separable convolution (Table II, Fig. 4(a)).

    A d x k x k depthwise conv, then a 1 x 1 x 1 pointwise conv C_in -> filters.

    Input shape: `(batch, T, H, W, C_in)`. Output shape: `(batch, T', H', W', filters)`.
    """

    conv_type = "dw"

    def _make_convs(self):
        return [
            ("depthwise", self._depthwise("depthwise", self.kernel_size, self.strides)),
            ("pointwise", self._dense("pointwise", self.filters, 1, 1)),
        ]


@keras.saving.register_keras_serializable(package="xwisenet_tf")
class XwiseConv3D(ConvBNStack):
    """X-Conv, the Xwise Separable Convolution (paper sec. III-A, Fig. 1(a)).

    A d x k x k convolution (N, C, d, k, k) decoupled into a 1 x k x k depthwise spatial conv,
    a d x 1 x 1 depthwise temporal conv and an N x C x 1^3 pointwise conv, each followed by
    BatchNorm and ReLU. Parameters and MACs are about 1/(d k^2) of the dense convolution's.

    Input shape: `(batch, T, H, W, C_in)`. Output shape: `(batch, T', H', W', filters)`.
    """

    conv_type = "xwise"

    def _make_convs(self):
        d, kh, kw = self.kernel_size
        st, sh, sw = self.strides
        return [
            ("spatial", self._depthwise("spatial", (1, kh, kw), (1, sh, sw))),
            ("temporal", self._depthwise("temporal", (d, 1, 1), (st, 1, 1))),
            ("pointwise", self._dense("pointwise", self.filters, 1, 1)),
        ]


CONV_CLASSES = {cls.conv_type: cls for cls in (TraditionalConv3D, STConv3D, DWConv3D, XwiseConv3D)}
NAME_TAGS = {"traditional": "conv", "st": "stconv", "dw": "dwconv", "xwise": "xconv"}


def make_conv(conv_type: str, filters: int, name: str, **kwargs) -> ConvBNStack:
    """The conv-variant factory: `conv_type` in {"traditional", "st", "dw", "xwise"}.

    Extra keyword arguments go to the `ConvBNStack` constructor (kernel_size, strides, ...).
    """
    check_choice(conv_type, CONV_TYPES, "conv_type")
    return CONV_CLASSES[conv_type](filters, name=name, **kwargs)
