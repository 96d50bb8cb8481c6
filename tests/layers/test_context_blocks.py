import keras
import numpy as np
import pytest

from tests.layer_testing import run_layer_test
from tests.numpy_reference import conv3d, layer_norm, relu, sigmoid, softmax
from xwisenet_tf.layers import (
    CBAMBlock,
    ChannelLayerNorm,
    GCBlock,
    SEBlock,
    SSBlock,
    make_context_block,
)

SHAPE = (2, 4, 5, 6, 16)  # batch, T, H, W, C


def _randomize(layer, rng):
    layer.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in layer.weights])


def _transform(layer, context):
    """C_c * ReLU(LN(C_b * context)) with the layer's weights."""
    w_b, b_b = (np.asarray(w) for w in layer.transform_reduce.weights)
    gamma, beta = (np.asarray(w) for w in layer.transform_norm.weights)
    w_c, b_c = (np.asarray(w) for w in layer.transform_expand.weights)
    return relu(layer_norm(context @ w_b + b_b, gamma, beta)) @ w_c + b_c


def ss_block_numpy(layer, x):
    """Eq. (3): y_i = x_i + C_c ReLU(LN(C_b sum_j softmax_j(C_a x_j) x_j)), per frame."""
    b, t, h, w, c = x.shape
    flat = x.reshape(b, t, h * w, c)
    pooling = layer.context_pooling
    if pooling == "channel":
        w_a, b_a = (np.asarray(v) for v in layer.context_conv.weights)
        weights = softmax((flat @ w_a + b_a)[..., 0], axis=-1)[..., None]  # (b, t, hw, 1)
    elif pooling == "channel_temporal":
        w_a, b_a = (np.asarray(v) for v in layer.context_conv.weights)
        pooled = flat.mean(axis=1, keepdims=True)
        weights = softmax((pooled @ w_a + b_a)[..., 0], axis=-1)[..., None]  # (b, 1, hw, 1)
    else:
        weights = softmax(flat.mean(axis=1, keepdims=True), axis=2)  # (b, 1, hw, c)
    context = (weights * flat).sum(axis=2)  # (b, t, c)
    return x + _transform(layer, context)[:, :, None, None, :]


@pytest.mark.parametrize("pooling", ["channel", "temporal", "channel_temporal"])
def test_ss_block_equals_numpy_eq3(pooling, rng):
    def reference(layer, x):
        return ss_block_numpy(layer, x)

    layer = SSBlock(reduction=4, context_pooling=pooling)
    layer(np.zeros(SHAPE, "float32"))
    _randomize(layer, rng)
    x = rng.standard_normal(SHAPE).astype("float32")
    np.testing.assert_allclose(np.asarray(layer(x)), reference(layer, x), atol=1e-4)
    # C_a (C + 1), C_b (C*C/r + C/r), LN (2 C/r), C_c (C/r*C + C); no C_a for temporal pooling
    params = 16 * 4 + 4 + 2 * 4 + 4 * 16 + 16 + (0 if pooling == "temporal" else 17)
    run_layer_test(
        SSBlock,
        {"reduction": 4, "context_pooling": pooling},
        SHAPE,
        SHAPE,
        expected_num_params=params,
        reference=reference,
        atol=1e-4,
    )


@pytest.mark.parametrize("pooling", ["channel", "temporal", "channel_temporal"])
def test_ss_block_on_one_position_per_frame(pooling, rng):
    """At 1 x 1 (the last stage of a small input) each frame's context is its only feature."""
    shape = (2, 3, 1, 1, 16)
    layer = SSBlock(reduction=4, context_pooling=pooling)
    layer(np.zeros(shape, "float32"))
    _randomize(layer, rng)
    x = rng.standard_normal(shape).astype("float32")
    np.testing.assert_allclose(np.asarray(layer(x)), ss_block_numpy(layer, x), atol=1e-4)


def test_new_ss_block_is_identity(rng):
    x = rng.standard_normal(SHAPE).astype("float32")
    np.testing.assert_array_equal(np.asarray(SSBlock()(x)), x)


def test_ss_softmax_is_per_frame_not_over_all_frames(rng):
    """Scaling one frame's logits changes only that frame's weights under a per-frame softmax.

    Make frame 0 carry huge activations: with a GC-style softmax over T x H x W, every frame's
    context would be dominated by frame 0; per frame, frame 1's context stays its own average.
    """
    layer = SSBlock(reduction=4)
    x = rng.standard_normal(SHAPE).astype("float32")
    layer(x)
    w_a = np.zeros((16, 1), "float32")
    w_a[0] = 1.0  # logit = channel 0
    layer.context_conv.set_weights([w_a, np.zeros(1, "float32")])
    x[:, 0, ..., 0] += 50.0  # frame 0 dominates a softmax over all positions
    context = np.asarray(layer.context(x))
    flat = x.reshape(2, 4, 30, 16)
    per_frame = (softmax(flat[..., 0], axis=-1)[..., None] * flat).sum(axis=2)
    np.testing.assert_allclose(context, per_frame, rtol=1e-4, atol=1e-4)
    # A GC-style softmax over all T x H x W positions would give frame 1 the context of frame 0.
    all_positions = flat.reshape(2, 120, 16)
    gc_style = (softmax(all_positions[..., 0], axis=-1)[..., None] * all_positions).sum(axis=1)
    assert gc_style[:, 0].min() > 40.0  # dominated by frame 0's boosted channel
    assert np.abs(context[:, 1:, 0]).max() < 10.0  # frames 1..3 keep their own context


def test_gc_block_equals_numpy(rng):
    def reference(layer, x):
        b, t, h, w, c = x.shape
        flat = x.reshape(b, t * h * w, c)
        w_a, b_a = (np.asarray(v) for v in layer.context_conv.weights)
        weights = softmax((flat @ w_a + b_a)[..., 0], axis=-1)[..., None]
        context = (weights * flat).sum(axis=1)  # (b, c): one vector for the whole clip
        return x + _transform(layer, context)[:, None, None, None, :]

    layer = GCBlock(reduction=4)
    layer(np.zeros(SHAPE, "float32"))
    _randomize(layer, rng)
    x = rng.standard_normal(SHAPE).astype("float32")
    np.testing.assert_allclose(np.asarray(layer(x)), reference(layer, x), atol=1e-4)
    run_layer_test(GCBlock, {"reduction": 4}, SHAPE, SHAPE, reference=reference, atol=1e-4)


@pytest.mark.parametrize("block", ["ss-channel", "ss-temporal", "ss-channel_temporal", "gc"])
def test_tflite_form_equals_the_keras_form(block, rng):
    """The int8-friendly weighted sum the TFLite exporters trace (ELU + 1, MUL, SUM) computes
    the same outputs as the Keras form (EXP, MATMUL), on logits up to 50 apart."""
    from xwisenet_tf.layers.context_blocks import tflite_form

    kind, _, pooling = block.partition("-")
    layer = SSBlock(4, context_pooling=pooling) if kind == "ss" else GCBlock(4)
    layer(np.zeros(SHAPE, "float32"))
    _randomize(layer, rng)
    x = (10 * rng.standard_normal(SHAPE)).astype("float32")
    keras_form = np.asarray(layer(x))
    with tflite_form():
        exported_form = np.asarray(layer(x))
    np.testing.assert_allclose(exported_form, keras_form, rtol=1e-5, atol=1e-4)


def test_se_block_equals_numpy(rng):
    def reference(layer, x):
        w1, b1, w2, b2 = (np.asarray(v) for v in layer.weights)
        scale = sigmoid(relu(x.mean(axis=(1, 2, 3)) @ w1 + b1) @ w2 + b2)
        return x * scale[:, None, None, None, :]

    run_layer_test(
        SEBlock,
        {"reduction": 4},
        SHAPE,
        SHAPE,
        expected_num_params=16 * 4 + 4 + 4 * 16 + 16,
        reference=reference,
    )


def test_cbam_block_equals_numpy(rng):
    def reference(layer, x):
        w1, b1 = (np.asarray(v) for v in layer.mlp_reduce.weights)
        w2, b2 = (np.asarray(v) for v in layer.mlp_expand.weights)
        k, kb = (np.asarray(v) for v in layer.spatial_conv.weights)

        def mlp(v):
            return relu(v @ w1 + b1) @ w2 + b2

        channel = sigmoid(mlp(x.mean(axis=(1, 2, 3))) + mlp(x.max(axis=(1, 2, 3))))
        y = x * channel[:, None, None, None, :]
        maps = np.concatenate([y.mean(-1, keepdims=True), y.max(-1, keepdims=True)], -1)
        return y * sigmoid(conv3d(maps, k) + kb)

    run_layer_test(
        CBAMBlock,
        {"reduction": 4},
        SHAPE,
        SHAPE,
        expected_num_params=16 * 4 + 4 + 4 * 16 + 16 + 49 * 2 + 1,
        reference=reference,
        atol=1e-4,
    )


def test_block_macs_hand_counts():
    t, h, w, c = 4, 5, 6, 16
    positions = t * h * w
    ss = SSBlock(reduction=4)
    # C_a logits + weighted sum (each T*H*W*C) + per-frame transform 2*C*C/r
    assert ss.count_macs((1, t, h, w, c)) == 2 * positions * c + t * 2 * c * 4
    gc = GCBlock(reduction=4)
    assert gc.count_macs((1, t, h, w, c)) == 2 * positions * c + 2 * c * 4
    se = SEBlock(reduction=4)
    assert se.count_macs((1, t, h, w, c)) == 2 * c * 4 + positions * c
    cbam = CBAMBlock(reduction=4)
    # shared MLP on avg and max, 1x7x7 conv on 2 maps per frame, two rescalings
    assert (
        cbam.count_macs((1, t, h, w, c)) == 2 * 2 * c * 4 + positions * 49 * 2 + 2 * positions * c
    )


def test_factory_rejects_unknown_block():
    with pytest.raises(ValueError, match=r"block.*'nl'"):
        make_context_block("nl", name="x")
    assert make_context_block(None, name="x") is None
    with pytest.raises(ValueError, match="context_pooling='spatial'"):
        SSBlock(context_pooling="spatial")


def test_channel_layer_norm_equals_keras_layer_normalization(rng):
    x = rng.normal(2.0, 3.0, (3, 5, 12)).astype("float32")
    reference = keras.layers.LayerNormalization(epsilon=1e-5)
    layer = ChannelLayerNorm(epsilon=1e-5)
    reference.build(x.shape)
    layer.build(x.shape)
    weights = [rng.normal(0, 1, w.shape).astype("float32") for w in reference.weights]
    reference.set_weights(weights)
    layer.set_weights(weights)
    np.testing.assert_allclose(np.asarray(layer(x)), np.asarray(reference(x)), atol=1e-5)
    gamma, beta = weights
    np.testing.assert_allclose(np.asarray(layer(x)), layer_norm(x, gamma, beta), atol=1e-5)
    # Half-precision inputs are normalised in float32, as Keras does.
    half = ChannelLayerNorm(dtype="mixed_bfloat16")
    half.build(x.shape)
    half.set_weights(weights)
    out = half(keras.ops.cast(x, "bfloat16"))
    assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
    np.testing.assert_allclose(np.asarray(keras.ops.cast(out, "float32")), layer(x), atol=0.1)
    restored = ChannelLayerNorm.from_config(layer.get_config())
    restored.build(x.shape)
    restored.set_weights(weights)
    np.testing.assert_allclose(np.asarray(restored(x)), np.asarray(layer(x)), atol=1e-6)
    with pytest.raises(ValueError, match="last axis"):
        ChannelLayerNorm(axis=1)


@pytest.mark.parametrize("block", [SSBlock, GCBlock])
def test_context_softmax_stays_finite_for_large_logits(block, rng):
    """The max-subtracted weights of `_softmax_weighted_sum` never overflow."""
    layer = block(reduction=4)
    x = rng.standard_normal(SHAPE).astype("float32")
    layer(x)
    _randomize(layer, rng)
    w_a, b_a = layer.context_conv.get_weights()
    layer.context_conv.set_weights([w_a * 1e3, b_a + 1e3])
    out = np.asarray(layer(x))
    assert np.isfinite(out).all()
