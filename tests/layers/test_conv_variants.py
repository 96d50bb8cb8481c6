import keras
import numpy as np
import pytest

from tests.layer_testing import run_layer_test
from tests.numpy_reference import batch_norm, conv3d, relu
from xwisenet_tf.layers import (
    CONV_TYPES,
    DWConv3D,
    STConv3D,
    TraditionalConv3D,
    XwiseConv3D,
    make_conv,
)
from xwisenet_tf.layers.conv_variants import BN_EPSILON


def _randomize_batch_norms(layer, rng):
    """Gives every BatchNorm non-trivial statistics so that inference tests see them."""
    for bn in layer.norms:
        gamma, beta, mean, var = (np.asarray(w) for w in bn.weights)
        bn.set_weights(
            [
                rng.uniform(0.5, 1.5, gamma.shape),
                rng.normal(0, 0.2, beta.shape),
                rng.normal(0, 0.2, mean.shape),
                rng.uniform(0.5, 2.0, var.shape),
            ]
        )


def _bn(bn, x):
    gamma, beta, mean, var = (np.asarray(w) for w in bn.weights)
    return batch_norm(x, gamma, beta, mean, var, BN_EPSILON)


def test_xconv_is_spatial_then_temporal_depthwise_then_pointwise(rng):
    """X-Conv (sec. III-A) against an explicit NumPy composition of its three convolutions."""
    x = rng.standard_normal((2, 6, 8, 8, 4)).astype("float32")
    layer = XwiseConv3D(7, kernel_size=3, strides=(2, 2, 2))
    layer(x)
    _randomize_batch_norms(layer, rng)
    spatial, temporal, pointwise = (np.asarray(c.kernel) for c in layer.convs)
    assert spatial.shape == (1, 3, 3, 4, 1)
    assert temporal.shape == (3, 1, 1, 4, 1)
    assert pointwise.shape == (1, 1, 1, 4, 7)

    y = relu(_bn(layer.norms[0], conv3d(x, spatial, (1, 2, 2), depthwise=True)))
    y = relu(_bn(layer.norms[1], conv3d(y, temporal, (2, 1, 1), depthwise=True)))
    y = relu(_bn(layer.norms[2], conv3d(y, pointwise)))
    np.testing.assert_allclose(np.asarray(layer(x, training=False)), y, atol=1e-4)


def test_st_and_dw_conv_compositions(rng):
    x = rng.standard_normal((1, 5, 6, 6, 3)).astype("float32")
    st = STConv3D(4, final_activation=False)
    st(x)
    _randomize_batch_norms(st, rng)
    k_s, k_t = (np.asarray(c.kernel) for c in st.convs)
    assert k_s.shape == (1, 3, 3, 3, 4) and k_t.shape == (3, 1, 1, 4, 4)
    y = relu(_bn(st.norms[0], conv3d(x, k_s)))
    y = _bn(st.norms[1], conv3d(y, k_t))  # no final ReLU
    np.testing.assert_allclose(np.asarray(st(x, training=False)), y, atol=1e-4)

    dw = DWConv3D(4)
    dw(x)
    _randomize_batch_norms(dw, rng)
    k_d, k_p = (np.asarray(c.kernel) for c in dw.convs)
    y = relu(_bn(dw.norms[0], conv3d(x, k_d, depthwise=True)))
    y = relu(_bn(dw.norms[1], conv3d(y, k_p)))
    np.testing.assert_allclose(np.asarray(dw(x, training=False)), y, atol=1e-4)


@pytest.mark.parametrize("conv_type", CONV_TYPES)
def test_folded_and_reference_implementations_agree(conv_type, rng):
    x = rng.standard_normal((2, 6, 9, 9, 4)).astype("float32")
    folded = make_conv(conv_type, 6, name="folded", strides=(2, 2, 2))
    reference = make_conv(
        conv_type, 6, name="reference", strides=(2, 2, 2), implementation="reference"
    )
    y = np.asarray(folded(x, training=False))
    reference(x)
    reference.set_weights(folded.get_weights())
    np.testing.assert_allclose(np.asarray(reference(x, training=False)), y, atol=1e-5)


# (conv type, trainable params for C_in=4 -> 6 with a 3x3x3 kernel, MACs on 1x4x6x6x4, stride 1)
HAND_COUNTS = {
    "traditional": (27 * 4 * 6 + 2 * 6, 4 * 36 * 6 * 27 * 4),
    "st": (9 * 4 * 6 + 2 * 6 + 3 * 6 * 6 + 2 * 6, 4 * 36 * 6 * 9 * 4 + 4 * 36 * 6 * 3 * 6),
    "dw": (27 * 4 + 2 * 4 + 4 * 6 + 2 * 6, 4 * 36 * 4 * 27 + 4 * 36 * 6 * 4),
    "xwise": (
        9 * 4 + 2 * 4 + 3 * 4 + 2 * 4 + 4 * 6 + 2 * 6,
        4 * 36 * 4 * 9 + 4 * 36 * 4 * 3 + 4 * 36 * 6 * 4,
    ),
}


@pytest.mark.parametrize("conv_type", CONV_TYPES)
def test_params_and_macs_hand_counts(conv_type):
    params, macs = HAND_COUNTS[conv_type]
    layer = make_conv(conv_type, 6, name="counted")
    assert layer.count_macs((1, 4, 6, 6, 4)) == macs
    run_layer_test(
        type(layer),
        {"filters": 6, "kernel_size": 3, "name": "counted"},
        input_shape=(2, 4, 6, 6, 4),
        expected_output_shape=(2, 4, 6, 6, 6),
        expected_num_params=params,
    )


def test_stable_readable_sublayer_names():
    layer = XwiseConv3D(8, name="stage2_unit3_xconv")
    layer(np.zeros((1, 2, 4, 4, 4), "float32"))
    names = [w.path for w in layer.weights]
    assert "stage2_unit3_xconv/stage2_unit3_xconv_spatial/kernel" in names
    assert "stage2_unit3_xconv/stage2_unit3_xconv_temporal/kernel" in names
    assert "stage2_unit3_xconv/stage2_unit3_xconv_pointwise_bn/gamma" in names


def test_factory_rejects_unknown_conv_type():
    with pytest.raises(ValueError, match=r"conv_type.*\['traditional', 'st', 'dw', 'xwise'\].*'x'"):
        make_conv("x", 4, name="bad")


def test_traditional_pointwise_is_conv_bn_relu(rng):
    x = rng.standard_normal((1, 2, 3, 3, 5)).astype("float32")
    layer = TraditionalConv3D(4, 1)
    y = np.asarray(layer(x, training=False))
    kernel = np.asarray(layer.convs[0].kernel)
    expected = relu(_bn(layer.norms[0], x @ kernel[0, 0, 0]))
    np.testing.assert_allclose(y, expected, atol=1e-5)
    assert isinstance(layer.norms[0], keras.layers.BatchNormalization)


def test_xconv_without_inner_activation_keeps_the_depthwise_convs_linear(rng):
    """`inner_activation=False`: BatchNorm but no ReLU after the two depthwise convs."""
    x = rng.standard_normal((2, 5, 6, 6, 4)).astype("float32")
    layer = XwiseConv3D(5, inner_activation=False)
    layer(x)
    _randomize_batch_norms(layer, rng)
    spatial, temporal, pointwise = (np.asarray(c.kernel) for c in layer.convs)
    y = _bn(layer.norms[0], conv3d(x, spatial, depthwise=True))
    y = _bn(layer.norms[1], conv3d(y, temporal, depthwise=True))
    y = relu(_bn(layer.norms[2], conv3d(y, pointwise)))
    np.testing.assert_allclose(np.asarray(layer(x, training=False)), y, atol=1e-4)
    restored = XwiseConv3D.from_config(layer.get_config())
    assert restored.inner_activation is False


@pytest.mark.parametrize("conv_type", ["xwise", "st"])
def test_identity_temporal_init_starts_as_the_spatial_convolution(conv_type, rng):
    """`temporal_init="identity"`: the temporal kernel is a pass-through at initialisation, so
    the layer equals the same layer with its temporal conv removed (sec. I: X-Conv inflates a
    2D depthwise separable convolution)."""
    x = rng.standard_normal((1, 4, 6, 6, 4)).astype("float32")
    layer = make_conv(conv_type, 4, name="c", temporal_init="identity", final_activation=False)
    layer(x)
    temporal = np.asarray(layer.convs[1].kernel)
    assert temporal.shape[:3] == (3, 1, 1)
    assert np.all(temporal[[0, 2]] == 0.0)
    if conv_type == "xwise":
        np.testing.assert_array_equal(temporal[1, 0, 0, :, 0], np.ones(4))
    else:
        np.testing.assert_array_equal(temporal[1, 0, 0], np.eye(4))
    y = np.asarray(layer.convs[1](layer.convs[0](x)))
    np.testing.assert_allclose(y, np.asarray(layer.convs[0](x)), atol=1e-6)
    with pytest.raises(ValueError, match="temporal_init.*'zeros'"):
        make_conv(conv_type, 4, name="d", temporal_init="zeros")


def test_xconv_with_the_relu_between_2d_and_1d_only(rng):
    """`inner_activation="first"`: ReLU after the spatial depthwise conv, none after the
    temporal one (the 2D-1D non-linearity of sec. I)."""
    x = rng.standard_normal((2, 5, 6, 6, 4)).astype("float32")
    layer = XwiseConv3D(5, inner_activation="first")
    layer(x)
    _randomize_batch_norms(layer, rng)
    spatial, temporal, pointwise = (np.asarray(c.kernel) for c in layer.convs)
    y = relu(_bn(layer.norms[0], conv3d(x, spatial, depthwise=True)))
    y = _bn(layer.norms[1], conv3d(y, temporal, depthwise=True))
    y = relu(_bn(layer.norms[2], conv3d(y, pointwise)))
    np.testing.assert_allclose(np.asarray(layer(x, training=False)), y, atol=1e-4)
    with pytest.raises(ValueError, match="inner_activation.*'last'"):
        XwiseConv3D(5, inner_activation="last")


def test_centred_depthwise_init_keeps_the_centre_tap_dominant():
    layer = XwiseConv3D(8, depthwise_init="centred")
    layer(np.zeros((1, 4, 6, 6, 64), "float32"))
    spatial, temporal = (np.asarray(c.kernel) for c in layer.convs[:2])
    centre_s, centre_t = spatial[0, 1, 1, :, 0], temporal[1, 0, 0, :, 0]
    assert abs(centre_s.mean() - 1.0) < 0.1 and abs(centre_t.mean() - 1.0) < 0.15
    others = np.delete(spatial.reshape(9, 64), 4, axis=0)
    # He noise (std sqrt(2/9) for 3x3 taps) scaled by 0.3
    assert 0.1 < others.std() < 0.18 and abs(others.mean()) < 0.03
    config = XwiseConv3D.from_config(layer.get_config()).get_config()
    assert config["depthwise_init"] == "centred"
