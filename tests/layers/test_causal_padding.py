"""The causal and streaming padding modes of the 3D layers (`layers/common.py`)."""

import itertools

import numpy as np
import pytest

from tests.numpy_reference import conv3d, max_pool3d_causal
from xwisenet_tf.layers import DepthwiseConv3D, FoldedConv3D, FoldedMaxPool3D

KERNELS = [(3, 3, 3), (3, 1, 1), (1, 3, 3), (2, 4, 4)]
STRIDES = [(1, 1, 1), (1, 2, 2), (2, 2, 2)]


@pytest.mark.parametrize(
    "kernel_size,strides,implementation",
    list(itertools.product(KERNELS, STRIDES, ["folded", "native"])),
)
def test_causal_dense_conv(kernel_size, strides, implementation, rng):
    x = rng.standard_normal((2, 7, 9, 10, 3)).astype("float32")
    layer = FoldedConv3D(4, kernel_size, strides, "causal", implementation=implementation)
    y = np.asarray(layer(x))
    kernel, bias = (np.asarray(w) for w in layer.weights)
    expected = conv3d(x, kernel, layer.strides, "causal") + bias
    assert y.shape == expected.shape == layer.compute_output_shape(x.shape)
    np.testing.assert_allclose(y, expected, atol=1e-4)


@pytest.mark.parametrize(
    "kernel_size,strides,implementation",
    list(itertools.product(KERNELS, STRIDES, ["folded", "grouped"])),
)
def test_causal_depthwise_conv(kernel_size, strides, implementation, rng):
    x = rng.standard_normal((2, 7, 9, 10, 3)).astype("float32")
    layer = DepthwiseConv3D(kernel_size, strides, "causal", implementation=implementation)
    y = np.asarray(layer(x))
    kernel, bias = (np.asarray(w) for w in layer.weights)
    expected = conv3d(x, kernel, strides, "causal", depthwise=True) + bias
    assert y.shape == expected.shape == layer.compute_output_shape(x.shape)
    np.testing.assert_allclose(y, expected, atol=1e-4)


@pytest.mark.parametrize("strides", STRIDES)
def test_causal_max_pool(strides, rng):
    # Negative inputs: frames before the first count as zeros, the space padding as -inf.
    x = rng.standard_normal((2, 7, 9, 10, 3)).astype("float32") - 3.0
    layer = FoldedMaxPool3D(3, strides, padding="causal")
    y = np.asarray(layer(x))
    expected = max_pool3d_causal(x, (3, 3, 3), strides)
    assert y.shape == expected.shape == layer.compute_output_shape(x.shape)
    np.testing.assert_allclose(y, expected)


@pytest.mark.parametrize(
    "make_layer",
    [
        lambda padding: FoldedConv3D(4, 3, (1, 2, 2), padding),
        lambda padding: DepthwiseConv3D((3, 1, 1), 1, padding),
        lambda padding: FoldedMaxPool3D(3, (1, 2, 2), padding=padding),
    ],
)
def test_causal_output_ignores_future_frames_and_streams(make_layer, rng):
    x = rng.standard_normal((1, 8, 10, 10, 4)).astype("float32")
    causal = make_layer("causal")
    y = np.asarray(causal(x))
    changed = x.copy()
    changed[:, 5:] = rng.standard_normal(changed[:, 5:].shape)
    np.testing.assert_array_equal(np.asarray(causal(changed))[:, :5], y[:, :5])
    # One streaming step: the d - 1 = 2 past frames then the new one give that frame's output
    # (a convolution takes them concatenated, the pool takes [frame, past frames]).
    stream = make_layer("stream")
    pooling = isinstance(stream, FoldedMaxPool3D)
    if not pooling:
        stream.build((1, 3, 10, 10, 4))
        stream.set_weights(causal.get_weights())
    for t in (2, 5, 7):
        if pooling:
            step, state = (np.asarray(v) for v in stream([x[:, t : t + 1], x[:, t - 2 : t]]))
            np.testing.assert_array_equal(state, x[:, t - 1 : t + 1])
        else:
            step = np.asarray(stream(x[:, t - 2 : t + 1]))
        assert step.shape[1] == 1
        np.testing.assert_allclose(step[:, 0], y[:, t], atol=1e-5)
