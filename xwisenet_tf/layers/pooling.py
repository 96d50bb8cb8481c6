"""3D max pooling done as two 2D poolings, so that TFLite needs no Flex op."""

from __future__ import annotations

import keras
from keras import ops

from xwisenet_tf.layers.common import (
    CAUSAL_PADDINGS,
    check_padding,
    explicit_pads,
    normalize_triple,
    op_paddings,
    output_dims,
    pad_explicitly,
    require_static,
)


@keras.saving.register_keras_serializable(package="xwisenet_tf")
class FoldedMaxPool3D(keras.layers.Layer):
    """3D max pooling computed as a spatial then a temporal 2D max pooling.

    The max over a d x k x k box equals the max over d of the maxes over k x k, so the result is
    exactly `MaxPool3D`'s; TFLite runs it with `MAX_POOL_2D` (its `MaxPool3D` needs Flex ops,
    DESIGN.md section 2). Used after the stems of XwiseNet (3x3x3, stride 2) and 3D-ResNet.

    Args:
        pool_size: int or (d, kh, kw).
        strides: int or (st, sh, sw).
        padding: `"same"`, `"valid"` (TensorFlow's), `"symmetric"`: PyTorch's
            `MaxPool3d(padding=(k - 1) // 2)`, which pads with -inf, `"causal"`: the window of
            frame t ends at t, frames before the first count as zeros (the state a stream
            starts from; after a ReLU, as in every preset, the same as ignoring them), or
            `"stream"`: no temporal padding (the past frames are the streaming state); see
            `layers/common.py`.

    Input shape:
        `(batch, frames, height, width, channels)`, static non-batch dims.
    Output shape:
        `(batch, new_frames, new_height, new_width, channels)`.
    """

    def __init__(self, pool_size=(3, 3, 3), strides=(2, 2, 2), padding="same", **kwargs):
        super().__init__(**kwargs)
        self.pool_size = normalize_triple(pool_size, "pool_size")
        self.strides = normalize_triple(strides, "strides")
        self.padding = check_padding(padding)

    def build(self, input_shape):
        require_static(input_shape[0] if self.padding == "stream" else input_shape, self.name)

    def call(self, inputs):
        """Pools a clip; with `padding="stream"`, `[frames, state] -> [outputs, new_state]` for
        a step of k >= 1 new frames, the state being the `d - 1` frames before them
        (`stream_state_shapes`)."""
        if self.padding != "stream":
            return self._pool(inputs)
        frames, state = inputs
        window = ops.concatenate([state, frames], axis=1)
        return [self._pool(window), window[:, frames.shape[1] :]]

    def stream_state_shapes(self, input_shape) -> list[tuple]:
        """Shape `(d - 1, H, W, C)` of the past frames a streaming step keeps (none if d = 1)."""
        depth = self.pool_size[0]
        return [(depth - 1, *input_shape[2:])] if depth > 1 else []

    def _pool(self, inputs):
        if self.padding == "symmetric":
            inputs = _replicate_edges(inputs, explicit_pads(self.padding, self.pool_size))
        time_padding, space_padding = op_paddings(self.padding)
        if self.padding in CAUSAL_PADDINGS:  # zeros, as the zero state a stream starts from
            inputs, time_padding, space_padding = pad_explicitly(
                inputs, self.pool_size, self.padding
            )
        _, frames, height, width, channels = inputs.shape
        (pd, ph, pw), (sd, sh, sw) = self.pool_size, self.strides
        x = ops.reshape(inputs, (-1, height, width, channels))
        x = ops.max_pool(x, (ph, pw), strides=(sh, sw), padding=space_padding)
        out_h, out_w = x.shape[1], x.shape[2]
        x = ops.reshape(x, (-1, frames, out_h * out_w, channels))
        x = ops.max_pool(x, (pd, 1), strides=(sd, 1), padding=time_padding)
        return ops.reshape(x, (-1, x.shape[1], out_h, out_w, channels))

    def compute_output_shape(self, input_shape):
        if self.padding == "stream":
            frame = input_shape[0]
            window = (frame[0], frame[1] + self.pool_size[0] - 1, *frame[2:])
            state = (frame[0], *self.stream_state_shapes(frame)[0])
            return [self._pooled_shape(window), state]
        return self._pooled_shape(input_shape)

    def _pooled_shape(self, input_shape):
        dims = output_dims(input_shape[1:4], self.pool_size, self.strides, self.padding)
        return (input_shape[0], *dims, input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(
            {"pool_size": self.pool_size, "strides": self.strides, "padding": self.padding}
        )
        return config


def _replicate_edges(inputs, pads):
    """Pads (time, height, width) by repeating the edge values, `pads` = (before, after) per axis.

    For a max pool this equals PyTorch's -inf padding whenever every pad is below the window
    (`(k - 1) // 2 < k`): a window that covers a copy of an edge value also covers the edge
    value itself. It avoids an infinite constant, which int8 quantisation cannot represent.
    """
    for axis, (before, after) in enumerate(pads, start=1):
        if not before and not after:
            continue
        first = _edge(inputs, axis, 0)
        last = _edge(inputs, axis, inputs.shape[axis] - 1)
        inputs = ops.concatenate([first] * before + [inputs] + [last] * after, axis=axis)
    return inputs


def _edge(inputs, axis: int, index: int):
    """`inputs[..., index:index + 1, ...]` along `axis`: a stride-1 SLICE (XNNPACK runs it;
    the GATHER of `ops.take` falls back to reference kernels)."""
    start = [0] * len(inputs.shape)
    start[axis] = index
    shape = list(inputs.shape)
    shape[0], shape[axis] = -1 if shape[0] is None else shape[0], 1
    return ops.slice(inputs, start, shape)
