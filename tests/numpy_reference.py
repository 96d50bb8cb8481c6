"""Plain NumPy implementations of the paper's operations, the references of the layer tests."""

from __future__ import annotations

import numpy as np


def _same_pad(n, k, s):
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def conv3d(x, kernel, strides=(1, 1, 1), padding="same", depthwise=False):
    """Dense (kernel (d,kh,kw,Cin,Cout)) or depthwise (kernel (d,kh,kw,C,1)) 3D convolution."""
    d, kh, kw = kernel.shape[:3]
    st, sh, sw = strides
    if padding == "same":
        pads = [
            _same_pad(n, k, s) for n, k, s in zip(x.shape[1:4], (d, kh, kw), strides, strict=True)
        ]
        x = np.pad(x, ((0, 0), *pads, (0, 0)))
    elif padding == "symmetric":  # PyTorch's padding=(k - 1) // 2
        x = np.pad(x, ((0, 0), *[((k - 1) // 2,) * 2 for k in (d, kh, kw)], (0, 0)))
    elif padding == "causal":  # d - 1 zero frames before the first, "same" in space
        pads = [
            _same_pad(n, k, s) for n, k, s in zip(x.shape[2:4], (kh, kw), (sh, sw), strict=True)
        ]
        x = np.pad(x, ((0, 0), (d - 1, 0), *pads, (0, 0)))
    _, t, h, w, _ = x.shape
    ot, oh, ow = (t - d) // st + 1, (h - kh) // sh + 1, (w - kw) // sw + 1
    out = None
    for i in range(d):
        for j in range(kh):
            for k in range(kw):
                patch = x[:, i : i + ot * st : st, j : j + oh * sh : sh, k : k + ow * sw : sw]
                term = patch * kernel[i, j, k, :, 0] if depthwise else patch @ kernel[i, j, k]
                out = term if out is None else out + term
    return out


def _max_pool_valid(x, pool_size, strides):
    """Max over every window of an already padded input (no padding)."""
    (d, kh, kw), (st, sh, sw) = pool_size, strides
    _, t, h, w, _ = x.shape
    ot, oh, ow = (t - d) // st + 1, (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.full((x.shape[0], ot, oh, ow, x.shape[-1]), -np.inf, x.dtype)
    for i in range(d):
        for j in range(kh):
            for k in range(kw):
                out = np.maximum(
                    out, x[:, i : i + ot * st : st, j : j + oh * sh : sh, k : k + ow * sw : sw]
                )
    return out


def max_pool3d_symmetric(x, pool_size, strides):
    """PyTorch's `MaxPool3d(kernel, stride, padding=(k - 1) // 2)`: pads with -inf."""
    pads = [((k - 1) // 2,) * 2 for k in pool_size]
    x = np.pad(x, ((0, 0), *pads, (0, 0)), constant_values=-np.inf)
    return _max_pool_valid(x, pool_size, strides)


def max_pool3d_causal(x, pool_size, strides):
    """Max pool whose window of frame t ends at t: zero frames before the first, "same" in space
    (TensorFlow's "same" max pool ignores its padding, as -inf would)."""
    (d, kh, kw), (_, sh, sw) = pool_size, strides
    pads = [_same_pad(n, k, s) for n, k, s in zip(x.shape[2:4], (kh, kw), (sh, sw), strict=True)]
    x = np.pad(x, ((0, 0), (d - 1, 0), (0, 0), (0, 0), (0, 0)))
    x = np.pad(x, ((0, 0), (0, 0), *pads, (0, 0)), constant_values=-np.inf)
    return _max_pool_valid(x, pool_size, strides)


def batch_norm(x, gamma, beta, mean, var, epsilon):
    return (x - mean) / np.sqrt(var + epsilon) * gamma + beta


def relu(x):
    return np.maximum(x, 0.0)


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def layer_norm(x, gamma, beta, epsilon=1e-5):
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + epsilon) * gamma + beta


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))
