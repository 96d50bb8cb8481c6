"""The model a run fits and the float32 model its checkpoints save (mixed precision)."""

from __future__ import annotations

import keras
import numpy as np

from xwisenet_tf.training.config import TrainConfig
from xwisenet_tf.training.model_build import ExportModel, build_model, dtype_policy


def test_mixed_precision_model_keeps_a_float32_classifier_and_checkpoint():
    config = TrainConfig(model_overrides={"width": 0.5, "stage_repeats": (1, 1, 1)},
                         num_frames=4, image_size=32, mixed_precision=True).resolved()  # fmt: skip
    with dtype_policy("mixed_bfloat16"):
        model = build_model(config, 3)
        assert model.get_layer("stem_conv").dtype_policy.name == "mixed_bfloat16"
        assert model.get_layer("predictions").dtype_policy.name == "float32"
        export = ExportModel(model, config, 3)()
    assert keras.config.dtype_policy().name == "float32"  # restored
    assert {layer.dtype_policy.name for layer in export.layers} == {"float32"}
    for a, b in zip(model.get_weights(), export.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    clips = np.random.default_rng(0).normal(size=(1, 4, 32, 32, 3)).astype("float32")
    assert export(clips).dtype == "float32"
