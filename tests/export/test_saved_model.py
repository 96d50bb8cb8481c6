"""The SavedModel reloads with ``tf.saved_model.load`` and its signature gives the Keras outputs
(issue item 2)."""

from __future__ import annotations

import os

import keras
import numpy as np
import tensorflow as tf

from tests.export.conftest import CLIP, FLOAT_EXPORT
from xwisenet_tf.export import read_class_names


def test_saved_model_signature_gives_keras_outputs(exported, trained_checkpoint, synthetic_data):
    from xwisenet_tf.export.clips import evaluation_clips

    entry = exported(**FLOAT_EXPORT)["saved_model"]
    assert entry["signature"] == "serving_default"
    assert entry["verification"]["top1_agreement"] == 1.0
    assert entry["verification"]["max_abs_diff"] < 1e-5

    loaded = tf.saved_model.load(entry["path"])
    serve = loaded.signatures["serving_default"]
    assert list(serve.structured_input_signature[1]) == ["clips"]
    assert list(serve.structured_outputs) == ["probabilities"]
    clips, _ = evaluation_clips(synthetic_data, "test", 6, CLIP[0], CLIP[1])
    got = serve(clips=tf.constant(clips))["probabilities"].numpy()  # dynamic batch
    model = keras.models.load_model(trained_checkpoint)
    np.testing.assert_allclose(got, model.predict(clips, verbose=0), atol=1e-5)
    names = [n.decode() for n in loaded.class_names[0].numpy()]
    assert names == read_class_names(entry["path"]) == list(model_classes(synthetic_data))
    with open(os.path.join(entry["path"], "assets", "labels.txt")) as f:
        assert f.read().split() == names


def model_classes(data_dir):
    from xwisenet_tf.data import read_manifest

    return read_manifest(data_dir)["classes"]
