import itertools

import numpy as np
import pytest

from tests.layer_testing import run_layer_test
from tests.numpy_reference import conv3d
from xwisenet_tf.layers import DepthwiseConv3D

KERNELS = [(1, 3, 3), (3, 1, 1), (3, 3, 3), (2, 2, 2), (4, 1, 1), (1, 2, 2)]
STRIDES = [(1, 1, 1), (2, 2, 2), (1, 2, 2), (2, 1, 1)]
SHAPES = [(2, 7, 9, 8, 4), (1, 8, 6, 6, 3)]  # odd and even sizes


@pytest.mark.parametrize(
    "kernel_size,strides,shape,padding",
    list(itertools.product(KERNELS, STRIDES, SHAPES, ["same", "valid", "symmetric"])),
)
def test_folded_equals_grouped_with_same_weights(kernel_size, strides, shape, padding, rng):
    x = rng.standard_normal(shape).astype("float32")
    folded = DepthwiseConv3D(kernel_size, strides, padding, implementation="folded")
    grouped = DepthwiseConv3D(kernel_size, strides, padding, implementation="grouped")
    y_folded = np.asarray(folded(x))
    grouped.build(x.shape)
    grouped.set_weights(folded.get_weights())
    y_grouped = np.asarray(grouped(x))
    assert y_folded.shape == y_grouped.shape == folded.compute_output_shape(shape)
    np.testing.assert_allclose(y_folded, y_grouped, atol=1e-5)


@pytest.mark.parametrize("implementation", ["folded", "grouped"])
def test_layer_contract_and_numpy_reference(implementation):
    def reference(layer, x):
        kernel, bias = (np.asarray(w) for w in layer.weights)
        return conv3d(x, kernel, (2, 1, 2), "same", depthwise=True) + bias

    run_layer_test(
        DepthwiseConv3D,
        {"kernel_size": (3, 3, 3), "strides": (2, 1, 2), "implementation": implementation},
        input_shape=(2, 5, 6, 7, 4),
        expected_output_shape=(2, 3, 6, 4, 4),
        expected_num_trainable_weights=2,
        expected_num_params=27 * 4 + 4,
        reference=reference,
    )


@pytest.mark.parametrize("implementation", ["folded", "grouped"])
@pytest.mark.parametrize("kernel_size", [(3, 3, 3), (1, 3, 3), (3, 1, 1)])
@pytest.mark.parametrize("strides", [(2, 2, 2), (1, 2, 2), (2, 1, 1), (1, 1, 1)])
def test_symmetric_padding_is_pytorchs(implementation, kernel_size, strides, rng):
    # PyTorch pads (1, 1) where TensorFlow's 'same' pads (0, 1) (stride 2, even length).
    x = rng.standard_normal((2, 8, 6, 10, 3)).astype("float32")
    layer = DepthwiseConv3D(kernel_size, strides, "symmetric", implementation=implementation)
    y = np.asarray(layer(x))
    kernel, bias = (np.asarray(w) for w in layer.weights)
    expected = conv3d(x, kernel, strides, "symmetric", depthwise=True) + bias
    assert y.shape == expected.shape == layer.compute_output_shape(x.shape)
    np.testing.assert_allclose(y, expected, atol=1e-5)


def test_macs_are_one_per_tap_per_output_element():
    layer = DepthwiseConv3D((3, 1, 1), strides=(2, 1, 1))
    # output 4 x 6 x 6 x 5, 3 taps
    assert layer.count_macs((1, 8, 6, 6, 5)) == 4 * 6 * 6 * 5 * 3


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"kernel_size": 0}, "kernel_size=0"),
        ({"kernel_size": 3, "padding": "reflect"}, "padding='reflect'"),
        ({"kernel_size": 3, "implementation": "fast"}, "implementation='fast'"),
        ({"kernel_size": (3, 3)}, r"kernel_size=\(3, 3\)"),
    ],
)
def test_bad_arguments_name_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DepthwiseConv3D(**kwargs)


def test_unknown_spatial_size_is_a_clear_error():
    import keras

    with pytest.raises(ValueError, match="static"):
        DepthwiseConv3D(3)(keras.Input(shape=(None, 8, 8, 4)))
