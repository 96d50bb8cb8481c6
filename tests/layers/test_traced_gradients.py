"""`release_traced_graphs`: TensorFlow's gradient registry holds traced custom gradients only as
long as their graphs are in use (the registry kept each traced graph for the process's life)."""

import gc
import weakref

import keras
import numpy as np

from xwisenet_tf.layers import BatchNorm
from xwisenet_tf.layers.traced_gradients import _graph_of, _WeakForwarder, release_traced_graphs


def _custom_gradients() -> dict:
    from tensorflow.python.framework import ops

    return {
        name: entry["type"]
        for name, entry in ops._gradient_registry._registry.items()
        if name.startswith("CustomGradient-")
    }


def test_a_graph_in_use_keeps_its_custom_gradient():
    """Differentiating a traced function from outside builds its backward pass from the
    registry (not the tape): after the release it still finds the custom gradient."""
    import tensorflow as tf

    @tf.custom_gradient
    def times_two_backward_by_three(x):
        return 2.0 * x, lambda dy: 3.0 * dy

    traced = tf.function(times_two_backward_by_three).get_concrete_function(
        tf.TensorSpec([], "float32")
    )
    assert release_traced_graphs() >= 1
    gc.collect()
    x = tf.constant(1.5)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = traced(x)
    assert float(y) == 3.0 and float(tape.gradient(y, x)) == 3.0


def test_a_dropped_training_graph_is_freed_by_the_next_trace(rng):
    """A model trained (`BatchNorm`'s custom gradient, Keras' optimizer's all-reduce) and
    dropped: the next model's training trace releases its graph and registry entries."""

    def train_one():
        inputs = keras.Input((2, 4, 4, 3))
        x = BatchNorm()(keras.layers.Conv3D(4, 1)(inputs))
        model = keras.Model(inputs, keras.layers.GlobalAveragePooling3D()(x))
        model.compile("adam", "mse")
        model.train_on_batch(rng.standard_normal((2, 2, 4, 4, 3)), np.zeros((2, 4)))

    before = set(_custom_gradients())
    train_one()
    first = {name: fn for name, fn in _custom_gradients().items() if name not in before}
    # The optimizer's entry comes after the last BatchNorm's trace: still held strongly.
    held = [fn for fn in first.values() if not isinstance(fn, _WeakForwarder)]
    assert held
    graph = weakref.ref(_graph_of(held[0]))
    names = set(first)
    del held
    del first
    keras.backend.clear_session()
    train_one()
    keras.backend.clear_session()
    gc.collect()
    assert graph() is None
    assert not names & set(_custom_gradients())
