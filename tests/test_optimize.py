"""Inference rewrites keep the model's outputs (BatchNorm folding)."""

import keras
import numpy as np
import pytest

from tests.models.test_models import TINY_CLIP, tiny
from tests.models.test_tflite import _randomize_batch_norms
from xwisenet_tf.export import convert_to_tflite, run_tflite, tflite_op_names
from xwisenet_tf.models import list_models
from xwisenet_tf.optimize import fold_batch_norms


@pytest.mark.parametrize("name", list_models())
def test_folded_model_gives_the_same_outputs(name, rng):
    """The features entering the classifier agree to 1e-5 of their scale (with random BatchNorm
    statistics those of the tiny ResNet-50 reach ~140, where float32 rounding alone moves the
    probabilities by ~1e-4), and so do the predicted classes."""
    model = tiny(name)
    _randomize_batch_norms(model, rng)
    folded = fold_batch_norms(model)
    x = rng.standard_normal((3, *TINY_CLIP)).astype("float32")
    features = [
        keras.Model(m.input, m.get_layer("predictions").input).predict(x, verbose=0)
        for m in (model, folded)
    ]
    scale = np.abs(features[0]).max()
    assert scale > 0.1
    np.testing.assert_allclose(features[1], features[0], rtol=0, atol=1e-5 * scale)
    expected = model.predict(x, verbose=0)
    got = folded.predict(x, verbose=0)
    np.testing.assert_array_equal(got.argmax(-1), expected.argmax(-1))
    assert not [w for w in folded.weights if "moving_mean" in w.path]
    assert len(folded.layers) == len(model.layers)


def test_folded_model_saves_loads_and_converts(tmp_path, rng):
    model = tiny("xwisenet", classifier_activation=None)
    _randomize_batch_norms(model, rng)
    folded = fold_batch_norms(model)
    folded.save(tmp_path / "folded.keras")
    loaded = keras.models.load_model(tmp_path / "folded.keras")
    x = rng.standard_normal((1, *TINY_CLIP)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), folded.predict(x, verbose=0))
    content = convert_to_tflite(loaded)
    assert "CUSTOM" not in " ".join(tflite_op_names(content))
    np.testing.assert_allclose(run_tflite(content, x), model.predict(x, verbose=0), atol=1e-4)


def test_folding_twice_is_harmless(rng):
    model = tiny("xwisenet-simple", classifier_activation=None)
    _randomize_batch_norms(model, rng)
    once = fold_batch_norms(model)
    twice = fold_batch_norms(once)
    x = rng.standard_normal((1, *TINY_CLIP)).astype("float32")
    np.testing.assert_allclose(twice.predict(x, verbose=0), once.predict(x, verbose=0))


@pytest.mark.parametrize("inner_activation", ["first", False])
def test_folding_keeps_the_x_conv_non_linearities_chosen(inner_activation, rng):
    model = tiny("xwisenet", inner_activation=inner_activation)
    _randomize_batch_norms(model, rng)
    folded = fold_batch_norms(model)
    x = rng.standard_normal((2, *TINY_CLIP)).astype("float32")
    logits = [
        keras.Model(m.input, m.get_layer("predictions").input).predict(x, verbose=0)
        for m in (model, folded)
    ]
    np.testing.assert_allclose(logits[1], logits[0], atol=1e-5 * np.abs(logits[0]).max())
    unit = folded.get_layer("stage3_unit2_xconv")
    assert unit.inner_activation == inner_activation and unit.fused
