"""One helper for every layer test (CONVENTIONS.md item 6, after Keras' `run_layer_test`)."""

from __future__ import annotations

import keras
import numpy as np


def run_layer_test(
    layer_cls,
    init_kwargs: dict,
    input_shape: tuple,
    expected_output_shape: tuple,
    expected_num_trainable_weights: int | None = None,
    expected_num_params: int | None = None,
    reference=None,
    atol: float = 1e-5,
):
    """Checks a layer: shapes, weights, config round trip, eager/symbolic call, a fit step.

    Args:
        reference: optional `fn(layer, x) -> np.ndarray` computing the expected output of the
            built layer on `x` independently (NumPy or an explicit composition).
    """
    rng = np.random.default_rng(1)
    x = rng.standard_normal(input_shape).astype("float32")
    layer = layer_cls(**init_kwargs)
    y = np.asarray(layer(x))
    assert y.shape == tuple(expected_output_shape)
    assert tuple(layer.compute_output_shape(input_shape)) == tuple(expected_output_shape)
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights
    if expected_num_params is not None:
        assert sum(int(np.prod(w.shape)) for w in layer.trainable_weights) == expected_num_params

    clone = layer_cls.from_config(layer.get_config())
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(clone(x)), y, atol=1e-6)
    assert clone.get_config() == layer.get_config()

    symbolic = layer(keras.Input(batch_shape=input_shape))
    assert tuple(symbolic.shape) == tuple(expected_output_shape)

    if reference is not None:
        np.testing.assert_allclose(y, reference(layer, x), atol=atol)

    inputs = keras.Input(shape=input_shape[1:])
    outputs = layer_cls.from_config(layer.get_config())(inputs)
    model = keras.Model(inputs, keras.layers.Flatten()(outputs))
    model.compile(optimizer="sgd", loss="mse")
    target = np.zeros((input_shape[0], int(np.prod(expected_output_shape[1:]))), "float32")
    history = model.fit(x, target, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    return layer, y
