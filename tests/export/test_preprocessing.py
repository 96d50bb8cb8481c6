"""``--include_preprocessing``: uint8 frames in, the data pipeline's normalisation inside the
model (issue item 3)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tests.export.conftest import CLIP, FLOAT_EXPORT, INT8_MIN_AGREEMENT
from xwisenet_tf.data import MEAN_RGB, STD_RGB, normalize_frames
from xwisenet_tf.export import (
    FramePreprocessing,
    TFLiteModel,
    non_builtin_ops,
    to_uint8_frames,
    with_preprocessing,
)


def test_layer_matches_the_pipeline_normalisation(rng):
    frames = rng.integers(0, 256, (2, 3, 5, 5, 3)).astype("uint8")
    layer = FramePreprocessing()
    assert layer.mean == tuple(MEAN_RGB) and layer.std == tuple(STD_RGB)
    got = keras.ops.convert_to_numpy(layer(frames))
    np.testing.assert_allclose(got, normalize_frames(frames).numpy(), rtol=1e-6, atol=1e-6)
    clone = FramePreprocessing.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    with pytest.raises(ValueError, match="std"):
        FramePreprocessing(std=(1.0, 0.0, 1.0))
    with pytest.raises(ValueError, match="channels"):
        FramePreprocessing()(np.zeros((1, 2, 2, 2, 4), "uint8"))


def test_wrapped_model_saves_and_loads_in_safe_mode(tmp_path, rng):
    from xwisenet_tf.models import get_model

    model = get_model(
        "xwisenet-simple", 3, input_shape=(4, 32, 32, 3), width=0.5, stage_repeats=(1, 1, 1)
    )
    wrapped = with_preprocessing(model)
    assert wrapped.inputs[0].dtype == "uint8" and wrapped.inputs[0].shape == (None, 4, 32, 32, 3)
    frames = rng.integers(0, 256, (2, 4, 32, 32, 3)).astype("uint8")
    wrapped.save(tmp_path / "wrapped.keras")
    loaded = keras.models.load_model(tmp_path / "wrapped.keras", safe_mode=True)
    expected = model.predict(normalize_frames(frames).numpy(), verbose=0)
    np.testing.assert_allclose(loaded.predict(frames, verbose=0), expected, atol=1e-5)


def test_uint8_frames_give_the_float_models_predictions(exported, synthetic_data):
    from xwisenet_tf.export.clips import evaluation_clips

    plain = exported(**FLOAT_EXPORT)["xwisenet_float32.tflite"]
    entries = exported(tflite=True, quantize="none", include_preprocessing=True)
    entry = entries["xwisenet_preprocessing_float32.tflite"]
    assert entry["input"]["dtype"] == "uint8" and entry["input"]["signature_name"] == "frames"
    assert entry["verification"]["top1_agreement"] == 1.0
    with open(entry["path"], "rb") as f:
        with_pre = TFLiteModel(f.read())
    with open(plain["path"], "rb") as f:
        without = TFLiteModel(f.read())
    clips, _ = evaluation_clips(synthetic_data, "test", 32, CLIP[0], CLIP[1])
    frames = to_uint8_frames(clips)
    from_uint8 = np.stack([with_pre(x) for x in frames])
    from_float = np.stack([without(normalize_frames(x).numpy()) for x in frames])
    np.testing.assert_array_equal(from_uint8.argmax(-1), from_float.argmax(-1))
    np.testing.assert_allclose(from_uint8, from_float, atol=1e-5)


def test_int8_with_preprocessing_and_int8_output(exported):
    """The phone-ready form: uint8 camera frames in, int8 scores out, integer ops inside."""
    entries = exported(tflite=True, quantize="int8", include_preprocessing=True, int8_io=True)
    entry = entries["xwisenet_preprocessing_int8_int8io.tflite"]
    with open(entry["path"], "rb") as f:
        content = f.read()
    assert not non_builtin_ops(content)
    assert entry["input"]["dtype"] == "uint8" and "quantization" not in entry["input"]
    assert entry["output"]["dtype"] == "int8"
    assert entry["verification"]["top1_agreement"] >= INT8_MIN_AGREEMENT, entry["verification"]
