"""Global context blocks: the SS block (paper sec. III-B) and the GC, SE and CBAM baselines.

All take and return `(batch, frames, height, width, channels)` tensors and use 1x1x1
convolutions as `Dense` layers on the channel axis (TFLite `FULLY_CONNECTED`).
"""

from __future__ import annotations

import contextlib

import keras
from keras import ops

from xwisenet_tf.layer_options import BLOCKS, CONTEXT_POOLINGS, FLOAT_SCOPE, check_choice
from xwisenet_tf.layers.common import require_static
from xwisenet_tf.layers.conv3d import FoldedConv3D
from xwisenet_tf.layers.layer_norm import ChannelLayerNorm


def _bottleneck_channels(channels: int, reduction: int) -> int:
    return max(channels // reduction, 1)


_tflite_form = False


@contextlib.contextmanager
def tflite_form():
    """While active, the context blocks trace their softmax-weighted sums in the form that
    TFLite's int8 graph keeps inside XNNPACK (`_softmax_weighted_sum`). Equal outputs; the
    TFLite exporters (`xwisenet_tf.export`) trace models under it. In Keras the matmul form is
    faster (1.3 x forward and backward, an SS block at 16 x 28 x 28 x 116, batch 1-16)."""
    global _tflite_form
    previous, _tflite_form = _tflite_form, True
    try:
        yield
    finally:
        _tflite_form = previous


def _softmax_weighted_sum(logits, values):
    """`sum_p softmax_p(logits) values_p` over the positions p (paper eq. (3)'s weighted sum).

    In Keras: `(exp(l - max l)^T @ values) / sum exp(l - max l)`. Under `tflite_form`, for
    int8 TFLite: `exp(l - max l)` as `elu(l - max l) + 1` (equal for arguments <= 0, within
    float rounding) and the weighted sum as a product and a sum over positions: ELU, MUL, SUM
    and REDUCE_MAX have XNNPACK int8 kernels, EXP and int8 BATCH_MATMUL do not. The ELU (one
    value per position, which TFLite's int8 quantiser leaves alone) and the division (one per
    context vector, no XNNPACK int8 kernel) are under `FLOAT_SCOPE`, which an int8 export keeps
    in float inside the delegated graph (`xwisenet_tf.export.int8_recipe`).

    Unnormalised weights, divided at the end, also quantise better than TFLite's int8 SOFTMAX,
    whose output scale is fixed at 1/256: weights of ~1/784 (28 x 28 positions) would round to
    0 or 1 step and bias the context low (docs/deploying.md).

    Args:
        logits: `(..., positions, 1)`, or one logit per channel `(..., positions, C)`;
            broadcastable against `values`.
        values: `(..., positions, C)`.

    Returns:
        `(..., C)`.
    """
    if logits.shape[-2] == 1:  # one position: its weight is 1 (and l - max l would be all 0)
        return ops.squeeze(values, axis=-2)
    shifted = logits - ops.max(logits, axis=-2, keepdims=True)
    if not _tflite_form:
        weights = ops.exp(shifted)
        total = ops.sum(weights, axis=-2)
        if logits.shape[-1] == 1:
            row = ops.reshape(weights, (-1, *weights.shape[1:-2], 1, weights.shape[-2]))
            return ops.squeeze(ops.matmul(row, values), axis=-2) / total
        return ops.sum(weights * values, axis=-2) / total
    with keras.name_scope(FLOAT_SCOPE):  # TFLite's int8 quantiser has no ELU
        weights = ops.elu(shifted) + 1.0
    weighted = ops.sum(weights * values, axis=-2)
    total = ops.sum(weights, axis=-2)
    with keras.name_scope(FLOAT_SCOPE):
        return weighted / total


def _per_frame(vectors):
    """`(batch, frames, C)` -> `(batch, frames, 1, 1, C)`, broadcastable over H x W.

    A reshape rather than `v[:, :, None, None]`: strided-slice gradients are slow on CPU.
    """
    return ops.expand_dims(ops.expand_dims(vectors, 2), 2)


class _ContextTransform(keras.layers.Layer):
    """Shared parts of the GC-style blocks: the bottleneck transform and the additive fusion.

    `transform(c) = C_c * ReLU(LN(C_b * c))`, with `C_c` zero-initialised as in GCNet so that a
    new block is the identity (paper eq. (3), Fig. 2; DESIGN.md section 3).
    """

    def __init__(self, reduction: int = 8, with_context_conv: bool = True, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(reduction, int) or reduction < 1:
            raise ValueError(
                f"`reduction` must be a positive int. Received: reduction={reduction!r}"
            )
        self.reduction = reduction
        self.context_conv = (
            keras.layers.Dense(1, name=f"{self.name}_context") if with_context_conv else None
        )
        self.transform_norm = ChannelLayerNorm(epsilon=1e-5, name=f"{self.name}_transform_norm")

    def build(self, input_shape):
        require_static(input_shape, self.name)
        channels = input_shape[-1]
        hidden = _bottleneck_channels(channels, self.reduction)
        self.transform_reduce = keras.layers.Dense(hidden, name=f"{self.name}_transform_reduce")
        self.transform_expand = keras.layers.Dense(
            channels, kernel_initializer="zeros", name=f"{self.name}_transform_expand"
        )
        if self.context_conv is not None:
            self.context_conv.build(input_shape)
        self.transform_reduce.build((None, channels))
        self.transform_norm.build((None, hidden))
        self.transform_expand.build((None, hidden))

    def transform(self, context):
        hidden = ops.relu(self.transform_norm(self.transform_reduce(context)))
        return self.transform_expand(hidden)

    def _transform_macs(self, channels: int, vectors: int) -> int:
        hidden = _bottleneck_channels(channels, self.reduction)
        return vectors * 2 * channels * hidden

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"reduction": self.reduction})
        return config


@keras.saving.register_keras_serializable(package="xwisenet_tf")
class SSBlock(_ContextTransform):
    """The sequence-specific (SS) block, paper eq. (3) and Fig. 2.

    `y_i = x_i + C_c * ReLU(LN(C_b * sum_j softmax_j(C_a * x_j) x_j))`, computed for every frame
    t: the context is `C x T x 1 x 1`, one vector per frame, broadcast-added over H x W.

    `context_pooling` selects how the attention weights `w` of the weighted sum are pooled
    (Table III(a); Fig. 3 is missing from the paper, this is our reading):

    - `"channel"` (the paper's choice): `C_a` pools the channels of every position to one logit,
      softmax over the H x W positions **of each frame separately**:
      `ctx[t] = sum_{hw} softmax_{hw}(C_a x[t, hw]) x[t, hw]`.
    - `"temporal"`: the weights pool over time instead: for each channel c, softmax over H x W
      of the time-averaged feature, `w[hw, c] = softmax_{hw}(mean_t x[t, hw, c])`,
      `ctx[t, c] = sum_{hw} w[hw, c] x[t, hw, c]` (no `C_a`).
    - `"channel_temporal"`: pooled over both: one spatial map from `C_a` applied to the
      time-averaged feature, shared by all frames and channels.

    In every case the context stays sequence-specific (one vector per frame); only the weights
    differ. The GC block instead takes one softmax over all T x H x W positions.

    Args:
        reduction: bottleneck ratio r of the transform (8 in the paper).
        context_pooling: `"channel"`, `"temporal"` or `"channel_temporal"`.

    Input shape: `(batch, T, H, W, C)`. Output shape: same.
    """

    def __init__(self, reduction: int = 8, context_pooling: str = "channel", **kwargs):
        check_choice(context_pooling, CONTEXT_POOLINGS, "context_pooling")
        kwargs.pop("with_context_conv", None)
        super().__init__(
            reduction=reduction, with_context_conv=context_pooling != "temporal", **kwargs
        )
        self.context_pooling = context_pooling

    def context(self, inputs):
        """The sequence-specific context, `(batch, T, C)` (before the transform)."""
        _, frames, height, width, channels = inputs.shape
        x = ops.reshape(inputs, (-1, frames, height * width, channels))
        if self.context_pooling == "channel":
            return _softmax_weighted_sum(self.context_conv(x), x)
        if self.context_pooling == "channel_temporal":
            pooled = ops.mean(x, axis=1, keepdims=True)  # (batch, 1, HW, C)
            return _softmax_weighted_sum(self.context_conv(pooled), x)
        # One softmax over H x W per channel: the logits are the time-averaged features.
        return _softmax_weighted_sum(ops.mean(x, axis=1, keepdims=True), x)

    def call(self, inputs):
        delta = self.transform(self.context(inputs))  # (batch, T, C)
        return inputs + _per_frame(delta)

    def count_macs(self, input_shape) -> int:
        _, frames, height, width, channels = input_shape
        positions = frames * height * width
        weighting = positions * channels  # the softmax-weighted sum
        if self.context_pooling == "channel":
            logits = positions * channels
        elif self.context_pooling == "channel_temporal":
            logits = height * width * channels
        else:
            logits = 0
        return logits + weighting + self._transform_macs(channels, frames)

    def get_config(self):
        config = super().get_config()
        config.update({"context_pooling": self.context_pooling})
        return config


@keras.saving.register_keras_serializable(package="xwisenet_tf")
class GCBlock(_ContextTransform):
    """Global context block (GCNet, paper ref. [36]), extended to video.

    One softmax over all T x H x W positions gives a single `C x 1 x 1 x 1` context
    (sequence-independent), transformed as in the SS block and added everywhere.

    Input shape: `(batch, T, H, W, C)`. Output shape: same.
    """

    def call(self, inputs):
        _, frames, height, width, channels = inputs.shape
        x = ops.reshape(inputs, (-1, 1, frames * height * width, channels))
        context = _softmax_weighted_sum(self.context_conv(x), x)  # (batch, 1, C)
        delta = self.transform(context)
        return inputs + _per_frame(delta)

    def count_macs(self, input_shape) -> int:
        _, frames, height, width, channels = input_shape
        positions = frames * height * width
        return 2 * positions * channels + self._transform_macs(channels, 1)


@keras.saving.register_keras_serializable(package="xwisenet_tf")
class SEBlock(keras.layers.Layer):
    """Squeeze-and-excitation block (paper ref. [28]) over T x H x W.

    `y = x * sigmoid(W2 ReLU(W1 mean_{thw}(x)))`, bottleneck C/r with r = 16.

    Input shape: `(batch, T, H, W, C)`. Output shape: same.
    """

    def __init__(self, reduction: int = 16, **kwargs):
        super().__init__(**kwargs)
        self.reduction = reduction

    def build(self, input_shape):
        require_static(input_shape, self.name)
        channels = input_shape[-1]
        hidden = _bottleneck_channels(channels, self.reduction)
        self.squeeze = keras.layers.Dense(hidden, activation="relu", name=f"{self.name}_reduce")
        self.excite = keras.layers.Dense(channels, activation="sigmoid", name=f"{self.name}_expand")
        self.squeeze.build((None, channels))
        self.excite.build((None, hidden))

    def call(self, inputs):
        scale = self.excite(self.squeeze(ops.mean(inputs, axis=(1, 2, 3))))
        return inputs * _per_frame(ops.expand_dims(scale, 1))

    def compute_output_shape(self, input_shape):
        return input_shape

    def count_macs(self, input_shape) -> int:
        channels = input_shape[-1]
        hidden = _bottleneck_channels(channels, self.reduction)
        elements = input_shape[1] * input_shape[2] * input_shape[3] * channels
        return 2 * channels * hidden + elements

    def get_config(self):
        config = super().get_config()
        config.update({"reduction": self.reduction})
        return config


@keras.saving.register_keras_serializable(package="xwisenet_tf")
class CBAMBlock(keras.layers.Layer):
    """Convolutional block attention module (paper ref. [34]) for video.

    Channel attention: `sigmoid(MLP(avg_{thw} x) + MLP(max_{thw} x))` with a shared MLP of
    bottleneck C/r (r = 16). Spatial attention: `sigmoid(conv([mean_c x, max_c x]))` with a
    1 x k x k conv per frame (k = 7), so it converts to TFLite `CONV_2D`.

    Input shape: `(batch, T, H, W, C)`. Output shape: same.
    """

    def __init__(self, reduction: int = 16, spatial_kernel: int = 7, **kwargs):
        super().__init__(**kwargs)
        self.reduction = reduction
        self.spatial_kernel = spatial_kernel
        self.spatial_conv = FoldedConv3D(
            1,
            (1, spatial_kernel, spatial_kernel),
            kernel_initializer="glorot_uniform",
            name=f"{self.name}_spatial",
        )

    def build(self, input_shape):
        require_static(input_shape, self.name)
        channels = input_shape[-1]
        hidden = _bottleneck_channels(channels, self.reduction)
        self.mlp_reduce = keras.layers.Dense(hidden, activation="relu", name=f"{self.name}_reduce")
        self.mlp_expand = keras.layers.Dense(channels, name=f"{self.name}_expand")
        self.mlp_reduce.build((None, channels))
        self.mlp_expand.build((None, hidden))
        self.spatial_conv.build((*input_shape[:-1], 2))

    def call(self, inputs):
        avg = self.mlp_expand(self.mlp_reduce(ops.mean(inputs, axis=(1, 2, 3))))
        peak = self.mlp_expand(self.mlp_reduce(ops.max(inputs, axis=(1, 2, 3))))
        x = inputs * _per_frame(ops.expand_dims(ops.sigmoid(avg + peak), 1))
        maps = ops.concatenate(
            [ops.mean(x, axis=-1, keepdims=True), ops.max(x, axis=-1, keepdims=True)], axis=-1
        )
        return x * ops.sigmoid(self.spatial_conv(maps))

    def compute_output_shape(self, input_shape):
        return input_shape

    def count_macs(self, input_shape) -> int:
        _, frames, height, width, channels = input_shape
        hidden = _bottleneck_channels(channels, self.reduction)
        elements = frames * height * width * channels
        mlp = 2 * 2 * channels * hidden
        spatial = self.spatial_conv.count_macs((None, frames, height, width, 2))
        return mlp + spatial + 2 * elements

    def get_config(self):
        config = super().get_config()
        config.update({"reduction": self.reduction, "spatial_kernel": self.spatial_kernel})
        return config


def make_context_block(
    block: str | None, name: str, context_pooling: str = "channel", reduction: int | None = None
) -> keras.layers.Layer | None:
    """The context-block factory: `block` in {None, "ss", "gc", "se", "cbam"}.

    Default reductions follow the papers and Table IV's parameter counts: r = 8 for SS and GC,
    r = 16 for SE and CBAM.
    """
    check_choice(block, BLOCKS, "block")
    if block is None:
        return None
    if block == "ss":
        return SSBlock(reduction or 8, context_pooling=context_pooling, name=name)
    if block == "gc":
        return GCBlock(reduction or 8, name=name)
    if block == "se":
        return SEBlock(reduction or 16, name=name)
    return CBAMBlock(reduction or 16, name=name)
