"""Argument checks and padding arithmetic shared by the 3D layers.

Padding modes of the strided layers (`padding=` of the convolutions and the max pool):

- `"same"` and `"valid"`: TensorFlow's, handled by the ops themselves. With stride 2 on an even
  length `"same"` pads (0, 1).
- `"symmetric"`: PyTorch's `padding=(k - 1) // 2`, the same amount before and after every axis
  (1 on both sides for k = 3), so that weights of a PyTorch model give its outputs. It is done
  as an explicit `PAD` followed by a `"valid"` op (TFLite builtins only).
- `"causal"`: all `d - 1` frames of the temporal padding on the past side, so output frame t sees
  input frames up to t only (the causal XwiseNet that streams, `xwisenet_tf.streaming`); height
  and width as `"same"`. The time axis is padded explicitly, the op runs `"valid"` in time and
  `"same"` in space.
- `"stream"`: one step of a causal layer: no temporal padding (the `d - 1` past frames are the
  layer's streaming state, concatenated before the step's k >= 1 new frames, which give k
  output frames), height and width as `"same"`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from xwisenet_tf.layer_options import check_choice


def normalize_triple(value: int | Iterable[int], name: str) -> tuple[int, int, int]:
    """Returns `value` as a (time, height, width) triple of positive ints.

    Raises:
        ValueError: naming `name` and the received value when it is not 1 or 3 positive ints.
    """
    if isinstance(value, int):
        triple = (value, value, value)
    else:
        triple = tuple(value)
    if len(triple) != 3 or not all(isinstance(v, int) and v > 0 for v in triple):
        raise ValueError(
            f"`{name}` must be a positive int or a tuple of 3 positive ints (time, height, "
            f"width). Received: {name}={value!r}"
        )
    return triple  # type: ignore[return-value]


TF_PADDINGS = ("same", "valid")
CAUSAL_PADDINGS = ("causal", "stream")  # explicit in time, "same" in height and width
EXPLICIT_PADDINGS = ("symmetric", *CAUSAL_PADDINGS)
PADDINGS = TF_PADDINGS + EXPLICIT_PADDINGS


def check_padding(padding: str) -> str:
    """Returns `padding` lower-cased if it is one of `PADDINGS`, else raises a ValueError."""
    padding = padding.lower() if isinstance(padding, str) else padding
    return check_choice(padding, PADDINGS, "padding")


def explicit_pads(padding: str, kernel_size: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """(before, after) padding per (time, height, width) axis of an explicit padding mode.

    For the `CAUSAL_PADDINGS` only the time axis is padded here (height and width are the op's
    own `"same"`).

    Args:
        padding: one of `EXPLICIT_PADDINGS`.
        kernel_size: (d, kh, kw) window of the layer.
    """
    if padding == "symmetric":
        return tuple(((k - 1) // 2, (k - 1) // 2) for k in kernel_size)
    if padding in CAUSAL_PADDINGS:
        past = kernel_size[0] - 1 if padding == "causal" else 0
        return ((past, 0), (0, 0), (0, 0))
    raise ValueError(
        f"`padding` must be one of {list(EXPLICIT_PADDINGS)} here. Received: padding={padding!r}"
    )


def output_dims(dims: Sequence[int | None], kernel_size, strides, padding: str) -> list:
    """Output (frames, height, width) of a 3D window op for any mode of `PADDINGS`."""
    if padding in TF_PADDINGS:
        return [
            output_length(n, k, s, padding)
            for n, k, s in zip(dims, kernel_size, strides, strict=True)
        ]
    pads = explicit_pads(padding, kernel_size)
    _, space_padding = op_paddings(padding)
    modes = ("valid", space_padding, space_padding)
    return [
        None if n is None else output_length(n + sum(p), k, s, mode)
        for n, k, s, p, mode in zip(dims, kernel_size, strides, pads, modes, strict=True)
    ]


def op_paddings(padding: str) -> tuple[str, str]:
    """(time, space) padding the op runs with after `pad_explicitly` has padded its input."""
    if padding in TF_PADDINGS:
        return padding, padding
    if padding in CAUSAL_PADDINGS:
        return "valid", "same"
    return "valid", "valid"


def pad_explicitly(inputs, kernel_size, padding: str):
    """Applies an explicit padding mode to a 5-D input; returns it and the op's own padding.

    For `"same"` and `"valid"` the input is returned unchanged with `padding`; for an explicit
    mode it is zero-padded (one `PAD` op, none when every amount is 0) and the op must then run
    with the (time, space) paddings of `op_paddings`: `"valid"`, except `"same"` in height and
    width for the `CAUSAL_PADDINGS`.

    Returns:
        `(inputs, time_padding, space_padding)`.
    """
    time_padding, space_padding = op_paddings(padding)
    if padding in TF_PADDINGS:
        return inputs, time_padding, space_padding
    from keras import ops

    pads = explicit_pads(padding, kernel_size)
    if any(any(p) for p in pads):
        inputs = ops.pad(inputs, ((0, 0), *pads, (0, 0)))
    return inputs, time_padding, space_padding


def pad_for_one_op(inputs, kernel_size, strides, padding: str):
    """Pads a 5-D input so that one 3D op (`Conv3D`, grouped or not) computes `padding`.

    A single op has one padding for all axes: where time and space differ (`CAUSAL_PADDINGS`),
    height and width get TensorFlow's `"same"` amounts explicitly too. Returns
    `(inputs, op_padding)`.
    """
    inputs, time_padding, space_padding = pad_explicitly(inputs, kernel_size, padding)
    if time_padding == space_padding:
        return inputs, time_padding
    from keras import ops

    pads = [
        same_padding(n, k, s)
        for n, k, s in zip(inputs.shape[2:4], kernel_size[1:], strides[1:], strict=True)
    ]
    if any(any(p) for p in pads):
        inputs = ops.pad(inputs, ((0, 0), (0, 0), *pads, (0, 0)))
    return inputs, "valid"


def output_length(length: int | None, kernel: int, stride: int, padding: str) -> int | None:
    """Output length of a 1-D window op, TensorFlow convention."""
    if length is None:
        return None
    if padding == "same":
        return -(-length // stride)
    return (length - kernel) // stride + 1


def same_padding(length: int, kernel: int, stride: int) -> tuple[int, int]:
    """(before, after) padding that TensorFlow's 'SAME' applies along one axis."""
    out = -(-length // stride)
    total = max((out - 1) * stride + kernel - length, 0)
    return total // 2, total - total // 2


def subsample_stride_one(x, axis: int, length: int, kernel: int, stride: int, padding: str):
    """The output of a window op with ``stride`` along ``axis``, from its stride-1 output ``x``.

    Output ``i`` of the strided op is output ``i * stride + offset`` of the stride-1 op, where
    ``offset`` is the difference of TensorFlow's 'SAME' padding before the first element (0 for
    'valid'). Used where a kernel accepts only some strides.
    """
    if stride == 1:
        return x
    offset = 0
    if padding == "same":
        offset = same_padding(length, kernel, 1)[0] - same_padding(length, kernel, stride)[0]
    count = output_length(length, kernel, stride, padding)
    return take_every(x, axis, offset, count, stride)


def take_every(x, axis: int, start: int, count: int, stride: int):
    """``x[..., start : start + (count - 1) * stride + 1 : stride, ...]`` along ``axis``, with
    stride-1 slices and reshapes only.

    A strided slice has no kernel in XNNPACK, LiteRT's CPU delegate: each one splits the
    delegated graph. Here the `count * stride` elements from ``start`` are viewed as
    ``(count, stride)`` and the first of each row is kept (the last row, when the axis ends
    before it is complete, is a slice of its own).
    """
    from keras import ops

    if stride == 1 or count == 1:
        return _slice_axis(x, axis, start, count)
    shape = [-1 if d is None else d for d in x.shape]
    full = min(count, (shape[axis] - start) // stride)
    inner = math.prod(shape[axis + 1 :])
    # A 4-D view (outer, rows, stride, inner): TFLite's SLICE takes at most 5 dimensions.
    rows = ops.reshape(_slice_axis(x, axis, start, full * stride), (-1, full, stride, inner))
    kept = ops.reshape(_slice_axis(rows, 2, 0, 1), (*shape[:axis], full, *shape[axis + 1 :]))
    if full == count:
        return kept
    # The last element has fewer than `stride - 1` elements after it: a slice of its own.
    return ops.concatenate([kept, _slice_axis(x, axis, start + full * stride, 1)], axis=axis)


def _slice_axis(x, axis: int, start: int, size: int):
    """``x[..., start : start + size, ...]`` along ``axis`` (one stride-1 SLICE; none when it is
    the whole axis)."""
    from keras import ops

    if start == 0 and size == x.shape[axis]:
        return x
    begin = [0] * len(x.shape)
    begin[axis] = start
    sizes = [-1 if d is None else d for d in x.shape]
    sizes[axis] = size
    return ops.slice(x, begin, sizes)


def require_static(shape: Sequence[int | None], layer_name: str, dims: str = "T, H, W, C"):
    """Raises a ValueError unless every non-batch dimension of a 5-D shape is known."""
    if len(shape) != 5:
        raise ValueError(
            f"Layer '{layer_name}' expects a 5-D input (batch, {dims}). Received shape: {tuple(shape)}"
        )
    if any(d is None for d in shape[1:]):
        raise ValueError(
            f"Layer '{layer_name}' needs static (frames, height, width, channels); "
            f"received shape {tuple(shape)}. Build the model with a fixed input_shape."
        )


def conv_by_temporal_taps(inputs, kernel, strides, padding: str, conv2d, epilogue=None):
    """Computes a 3D convolution as a sum of 2D convolutions, one per temporal tap.

    `out[t] = sum_i conv2d(x[t * st + i - pad_t], kernel[i])`, with frames folded into the batch.
    This is exact for every mode of `PADDINGS`, and lets TFLite run any 3D convolution with its
    2D builtins (DESIGN.md section 2).

    Args:
        inputs: `(batch, frames, height, width, channels)` with static non-batch dims.
        kernel: `(d, kh, kw, ...)`; `kernel[i]` is what `conv2d` takes for tap i.
        strides: (st, sh, sw).
        padding: one of `PADDINGS`; an explicit mode pads the 5-D input, then runs the paddings
            of `op_paddings`.
        conv2d: `fn(x4d, kernel2d, strides=(sh, sw), padding=...)`, e.g. `keras.ops.conv`.
        epilogue: optional `fn(y4d)` (bias, activation) applied before unfolding, where
            TensorFlow can fuse it into the 2D convolution.
    """
    from keras import ops

    depth = kernel.shape[0]
    stride_t, stride_h, stride_w = strides
    mode, length = padding, inputs.shape[1]
    inputs, time_padding, padding = pad_explicitly(inputs, kernel.shape[:3], mode)
    before = explicit_pads(mode, kernel.shape[:3])[0][0] if mode in EXPLICIT_PADDINGS else 0
    frames = inputs.shape[1]
    if time_padding == "same":
        pad = same_padding(frames, depth, stride_t)
        if pad != (0, 0):
            inputs = ops.pad(inputs, ((0, 0), pad, (0, 0), (0, 0), (0, 0)))
        before = pad[0]
    out_frames = output_length(frames, depth, stride_t, time_padding)
    _, _, height, width, channels = inputs.shape
    # TensorFlow's depthwise kernel without oneDNN rejects unequal row and column strides:
    # convolve with stride 1 and subsample (exact, see `subsample_stride_one`).
    conv_strides = (1, 1) if stride_h != stride_w else (stride_h, stride_w)
    outputs = None
    for tap in range(depth):
        reads = (tap + k * stride_t - before for k in range(out_frames))
        if not any(0 <= frame < length for frame in reads):
            # Only padding under this tap: its term is 0. Skipping it is exact, and an int8
            # export would otherwise add a tensor of scale 0, which XNNPACK refuses.
            continue
        taken = take_every(inputs, 1, tap, out_frames, stride_t)
        folded = ops.reshape(taken, (-1, height, width, channels))
        y = conv2d(folded, kernel[tap], strides=conv_strides, padding=padding)
        outputs = y if outputs is None else outputs + y
    if conv_strides != (stride_h, stride_w):
        kh, kw = kernel.shape[1:3]
        outputs = subsample_stride_one(outputs, 1, height, kh, stride_h, padding)
        outputs = subsample_stride_one(outputs, 2, width, kw, stride_w, padding)
    if epilogue is not None:
        outputs = epilogue(outputs)
    return ops.reshape(outputs, (-1, out_frames, *outputs.shape[1:]))
