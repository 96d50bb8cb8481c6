import keras
import numpy as np
import pytest

from tests.layer_testing import run_layer_test
from xwisenet_tf.layers import BatchNorm


@pytest.mark.parametrize("shape", [(3, 4, 5, 6, 7), (2, 5, 8)])
def test_training_step_equals_keras_batch_normalization(shape, rng):
    """Same outputs, moving statistics and gradients as Keras' unfused layer."""
    import tensorflow as tf

    x = tf.constant(rng.normal(2.0, 3.0, shape).astype("float32"))
    ours = BatchNorm(momentum=0.9, epsilon=1e-5)
    reference = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)
    ours.build(shape)
    reference.build(shape)
    weights = [rng.uniform(0.5, 1.5, (shape[-1],)).astype("float32") for _ in range(4)]
    ours.set_weights(weights)
    reference.set_weights(weights)
    probe = tf.constant(rng.standard_normal(shape).astype("float32"))
    results = []
    for layer in (ours, reference):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(y * probe)
        grads = tape.gradient(loss, [x, *layer.trainable_weights])
        results.append((y, grads, [np.asarray(w) for w in layer.non_trainable_weights]))
    (y1, g1, s1), (y2, g2, s2) = results
    np.testing.assert_allclose(y1, y2, atol=1e-4)
    for a, b in zip(g1, g2, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-3, rtol=1e-4)
    for a, b in zip(s1, s2, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5)


def test_inference_and_layer_contract():
    run_layer_test(
        BatchNorm,
        {"momentum": 0.9, "epsilon": 1e-5},
        input_shape=(2, 3, 4, 4, 5),
        expected_output_shape=(2, 3, 4, 4, 5),
        expected_num_trainable_weights=2,
    )
