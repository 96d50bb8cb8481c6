"""Stochastic depth over the Same Units (`SkipBranch`, ``stochastic_depth``)."""

import keras
import numpy as np
import pytest

from xwisenet_tf.layers import SkipBranch
from xwisenet_tf.models import get_model


def test_skip_branch_passes_the_input_for_a_share_of_the_clips_in_training_only():
    layer = SkipBranch(0.5, seed=1)
    skip = np.zeros((400, 2, 3, 3, 4), "float32")
    branch = np.ones((400, 2, 3, 3, 4), "float32")
    np.testing.assert_array_equal(layer([skip, branch]), branch)  # inference: the branch
    out = keras.ops.convert_to_numpy(layer([skip, branch], training=True))
    per_clip = out.reshape(400, -1)
    assert set(np.unique(per_clip.min(axis=1))) <= {0.0, 1.0}
    assert np.array_equal(per_clip.min(axis=1), per_clip.max(axis=1))  # whole clips
    assert 0.4 < 1 - per_clip.mean() < 0.6
    assert SkipBranch.from_config(layer.get_config()).rate == 0.5
    with pytest.raises(ValueError, match="Received: rate=1"):
        SkipBranch(1)


def test_the_rate_grows_over_the_same_units_and_inference_is_unchanged(tmp_path):
    options = dict(width=0.5, stage_repeats=(1, 2, 2), block=None)
    model = get_model("xwisenet", 3, (4, 32, 32, 3), stochastic_depth=0.3, **options)
    rates = {x.name: x.rate for x in model.layers if isinstance(x, SkipBranch)}
    assert rates == pytest.approx({"stage3_unit2_skip": 0.15, "stage4_unit2_skip": 0.3})
    plain = get_model("xwisenet", 3, (4, 32, 32, 3), **options)
    plain.set_weights(model.get_weights())  # the same weights: SkipBranch has none
    clips = np.random.default_rng(0).normal(size=(2, 4, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(model.predict(clips, verbose=0), plain.predict(clips, verbose=0))
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(clips, verbose=0), plain.predict(clips, verbose=0))
