import itertools

import keras
import numpy as np
import pytest

from tests.layer_testing import run_layer_test
from tests.numpy_reference import conv3d, max_pool3d_symmetric
from xwisenet_tf.layers import (
    ChannelShuffle,
    ChannelSplit,
    FoldedConv3D,
    FoldedMaxPool3D,
    ZeroPadShortcut,
)


@pytest.mark.parametrize(
    "kernel_size,strides,padding",
    list(
        itertools.product(
            [(3, 3, 3), (1, 3, 3), (3, 1, 1), (1, 1, 1), (2, 4, 4), (7, 7, 7)],
            [(1, 1, 1), (1, 2, 2), (2, 2, 2)],
            ["same", "valid", "symmetric"],
        )
    ),
)
def test_folded_dense_conv_equals_native_conv3d(kernel_size, strides, padding, rng):
    shape = (2, 9, 11, 10, 3) if kernel_size[0] < 7 else (1, 8, 9, 9, 2)
    x = rng.standard_normal(shape).astype("float32")
    folded = FoldedConv3D(5, kernel_size, strides, padding)
    native = FoldedConv3D(5, kernel_size, strides, padding, implementation="native")
    y = np.asarray(folded(x))
    native.build(shape)
    native.set_weights(folded.get_weights())
    np.testing.assert_allclose(y, np.asarray(native(x)), atol=1e-4)
    assert y.shape == folded.compute_output_shape(shape)


def test_folded_conv3d_layer_contract():
    def reference(layer, x):
        kernel, bias = (np.asarray(w) for w in layer.weights)
        return conv3d(x, kernel, (1, 2, 2), "same") + bias

    run_layer_test(
        FoldedConv3D,
        {"filters": 6, "kernel_size": 3, "strides": (1, 2, 2)},
        input_shape=(2, 4, 6, 6, 3),
        expected_output_shape=(2, 4, 3, 3, 6),
        expected_num_params=27 * 3 * 6 + 6,
        reference=reference,
        atol=1e-4,
    )


def test_dense_conv_macs_hand_count():
    # 7x7x7 stem of 3D-ResNet at 16x112x112: 16*56*56 outputs x 64 filters x 7^3 x 3 inputs.
    layer = FoldedConv3D(64, 7, strides=(1, 2, 2))
    assert layer.count_macs((1, 16, 112, 112, 3)) == 16 * 56 * 56 * 64 * 343 * 3


@pytest.mark.parametrize("strides", [(2, 2, 2), (1, 2, 2), (2, 1, 1)])
@pytest.mark.parametrize("shape", [(2, 7, 9, 10, 3), (1, 8, 8, 8, 2)])
def test_folded_max_pool_equals_max_pool3d(strides, shape, rng):
    x = rng.standard_normal(shape).astype("float32")
    ours = np.asarray(FoldedMaxPool3D(3, strides)(x))
    expected = np.asarray(keras.layers.MaxPooling3D(3, strides, padding="same")(x))
    np.testing.assert_allclose(ours, expected)


@pytest.mark.parametrize("implementation", ["folded", "native"])
@pytest.mark.parametrize("kernel_size,strides", [(3, (1, 2, 2)), (3, 2), (7, (1, 2, 2))])
def test_symmetric_padding_is_pytorchs(implementation, kernel_size, strides, rng):
    x = rng.standard_normal((1, 8, 10, 12, 2)).astype("float32")
    layer = FoldedConv3D(4, kernel_size, strides, "symmetric", implementation=implementation)
    y = np.asarray(layer(x))
    kernel, bias = (np.asarray(w) for w in layer.weights)
    expected = conv3d(x, kernel, layer.strides, "symmetric") + bias
    assert y.shape == expected.shape == layer.compute_output_shape(x.shape)
    np.testing.assert_allclose(y, expected, atol=1e-4)


@pytest.mark.parametrize("strides", [(2, 2, 2), (1, 2, 2), (2, 1, 1)])
@pytest.mark.parametrize("shape", [(2, 7, 9, 10, 3), (1, 8, 8, 8, 2)])
def test_symmetric_max_pool_pads_like_pytorch(strides, shape, rng):
    # Negative inputs: a zero padding would show; PyTorch pads with -inf.
    x = rng.standard_normal(shape).astype("float32") - 3.0
    layer = FoldedMaxPool3D(3, strides, padding="symmetric")
    ours = np.asarray(layer(x))
    expected = max_pool3d_symmetric(x, (3, 3, 3), strides)
    assert ours.shape == expected.shape == layer.compute_output_shape(shape)
    np.testing.assert_allclose(ours, expected)


def test_folded_max_pool_layer_contract():
    run_layer_test(
        FoldedMaxPool3D,
        {"pool_size": 3, "strides": 2},
        input_shape=(2, 4, 6, 6, 3),
        expected_output_shape=(2, 2, 3, 3, 3),
        expected_num_trainable_weights=0,
    )


def test_channel_shuffle_moves_channels_as_shufflenet_does():
    x = np.arange(8, dtype="float32").reshape(1, 1, 1, 1, 8)
    y = np.asarray(ChannelShuffle(2)(x)).ravel()
    # groups [0..3], [4..7] interleaved
    np.testing.assert_array_equal(y, [0, 4, 1, 5, 2, 6, 3, 7])
    run_layer_test(ChannelShuffle, {"groups": 2}, (2, 2, 3, 3, 6), (2, 2, 3, 3, 6), 0)


def test_channel_split_halves():
    x = np.arange(12, dtype="float32").reshape(1, 1, 1, 2, 6)
    left, right = (np.asarray(t) for t in ChannelSplit()(x))
    np.testing.assert_array_equal(left, x[..., :3])
    np.testing.assert_array_equal(right, x[..., 3:])
    with pytest.raises(ValueError, match="even"):
        ChannelSplit()(np.zeros((1, 1, 1, 1, 5), "float32"))
    clone = ChannelSplit.from_config(ChannelSplit(name="split").get_config())
    assert clone.name == "split"
    assert [tuple(s) for s in clone.compute_output_shape((2, 1, 1, 2, 6))] == [(2, 1, 1, 2, 3)] * 2


def test_zero_pad_shortcut_is_strided_identity_with_zero_channels(rng):
    x = rng.standard_normal((2, 5, 6, 6, 3)).astype("float32")
    layer, y = run_layer_test(
        ZeroPadShortcut, {"filters": 8, "strides": 2}, x.shape, (2, 3, 3, 3, 8), 0
    )
    x = np.random.default_rng(1).standard_normal(x.shape).astype("float32")  # the helper's input
    np.testing.assert_array_equal(y[..., :3], x[:, ::2, ::2, ::2])
    np.testing.assert_array_equal(y[..., 3:], 0.0)
