"""The fused training BatchNorm on its two views (`BatchNorm.fused_layout`, issue 15): the
forward pass on rows with the gradient on clips (default) against clips both ways (before)."""

import contextlib

import keras
import numpy as np
import pytest

from xwisenet_tf.layers import BatchNorm


@contextlib.contextmanager
def fused_layout(layout: str):
    previous = BatchNorm.fused_layout
    BatchNorm.fused_layout = layout
    try:
        yield
    finally:
        BatchNorm.fused_layout = previous


def _train_step(layout, weights, x, probe):
    """Outputs, gradients (input, gamma, beta) and moving statistics of one traced step."""
    import tensorflow as tf

    layer = BatchNorm(momentum=0.9, epsilon=1e-5)
    layer.build(x.shape)
    layer.set_weights(weights)

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(tf.cast(y, "float32") * probe)
        return [y, *tape.gradient(loss, [x, *layer.trainable_weights])]

    with fused_layout(layout):
        step.get_concrete_function(x)  # the layout is read when the step is traced
    out = [np.asarray(t, "float32") for t in step(x)]
    return out, [np.asarray(w) for w in layer.non_trainable_weights]


@pytest.mark.parametrize("shape", [(3, 4, 5, 6, 7), (2, 5, 8), (2, 4, 6, 6, 16)])
def test_rows_layout_equals_clips_layout(shape, rng):
    import tensorflow as tf

    x = tf.constant(rng.normal(2.0, 3.0, shape).astype("float32"))
    probe = tf.constant(rng.standard_normal(shape).astype("float32"))
    weights = [rng.uniform(0.5, 1.5, (shape[-1],)).astype("float32") for _ in range(4)]
    rows, rows_stats = _train_step("rows", weights, x, probe)
    clips, clips_stats = _train_step("clips", weights, x, probe)
    for a, b in zip(rows + rows_stats, clips + clips_stats, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_rows_layout_under_mixed_bfloat16(rng):
    """`train.py --mixed_precision` on CPU: bfloat16 activations, float32 weights."""
    import tensorflow as tf

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        shape = (2, 4, 6, 6, 16)
        x = tf.constant(rng.normal(2.0, 3.0, shape).astype("float32"), "bfloat16")
        probe = tf.constant(rng.standard_normal(shape).astype("float32"))
        weights = [rng.uniform(0.5, 1.5, (shape[-1],)).astype("float32") for _ in range(4)]
        rows, _ = _train_step("rows", weights, x, probe)
        clips, _ = _train_step("clips", weights, x, probe)
    finally:
        keras.config.set_dtype_policy(previous)
    for a, b in zip(rows, clips, strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-2, atol=2e-2 * np.abs(b).max())


def test_rows_layout_trains_with_fit(rng):
    """The custom gradient inside `Model.fit`: the moving statistics move, the loss is finite."""
    inputs = keras.Input((3, 4, 4, 5))
    x = keras.layers.Conv3D(6, 1)(inputs)
    x = BatchNorm(momentum=0.5)(x)
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling3D()(x))
    model = keras.Model(inputs, outputs)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(
        rng.standard_normal((8, 3, 4, 4, 5)).astype("float32"),
        rng.integers(0, 2, 8),
        epochs=1,
        batch_size=4,
        verbose=0,
    )
    assert np.isfinite(history.history["loss"][0])
    moving_mean = model.layers[2].moving_mean
    assert np.abs(np.asarray(moving_mean)).max() > 0
