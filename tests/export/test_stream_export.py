"""``export.py --stream``: the step model of a causal checkpoint as TFLite, verified frame by
frame against Keras and against the clip model after each clip's last frame (issue 16)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tests.export.conftest import CLIP, train_checkpoint
from xwisenet_tf.export import ExportError, export_model
from xwisenet_tf.tflite_runner import TFLiteRunner


def _checkpoint(folder, data_dir, model: str) -> str:
    """An untrained tiny `model` with the metadata train.py writes."""
    return train_checkpoint(data_dir, str(folder), epochs=0, model=model)


def test_stream_export_float_is_exact_and_timed_per_frame(synthetic_data, tmp_path):
    checkpoint = _checkpoint(tmp_path, synthetic_data, "xwisenet-stream")
    report = export_model(
        checkpoint=checkpoint,
        output_dir=str(tmp_path / "out"),
        stream=True,
        calibration_data=synthetic_data,
        num_verify_clips=4,
        latency_runs=3,
        num_threads=2,
    )
    (name,) = report["last_run"]
    assert name == "xwisenet-stream_stream_float32.tflite"
    entry = report["exports"][name]
    check = entry["verification"]
    assert check["num_clips"] == 4 and check["top1_agreement"] == 1.0
    assert check["max_abs_diff"] < 1e-4  # after the last frame: the clip model's scores
    assert check["max_abs_diff_per_frame_vs_keras_step"] < 1e-4
    assert entry["latency"]["frame_median_ms"] > 0
    assert entry["latency"]["frames_per_clip"] == CLIP[0]
    assert entry["states"]["stem_conv_state"] == [2, CLIP[1], CLIP[2], 3]
    runner = TFLiteRunner(path=entry["path"])
    signature = runner.interpreter.get_signature_list()["serving_default"]
    assert "frame" in signature["inputs"] and "probabilities" in signature["outputs"]
    assert set(signature["inputs"]) - {"frame"} == set(signature["outputs"]) - {"probabilities"}
    assert os.path.isfile(entry["path"] + ".json")


def test_stream_export_with_a_half_life_records_it_for_predict(synthetic_data, tmp_path):
    """``--stream_half_life``: the exponential average in the graph, in the file's name, its
    metadata and report; verified against the Keras step model with the same half-life."""
    from xwisenet_tf.streaming import StreamingRecognizer
    from xwisenet_tf.training.model_metadata import read_tflite_metadata

    checkpoint = _checkpoint(tmp_path, synthetic_data, "xwisenet-stream")
    report = export_model(
        checkpoint=checkpoint,
        output_dir=str(tmp_path / "out"),
        stream=True,
        stream_half_life=2.0,  # shorter than the clips' 8 frames: differs from the clip model
        calibration_data=synthetic_data,
        num_verify_clips=2,
        latency_runs=3,
        num_threads=2,
    )
    (name,) = report["last_run"]
    assert name == "xwisenet-stream_stream_halflife2_float32.tflite"
    entry = report["exports"][name]
    assert entry["half_life"] == 2.0 and entry["options"]["stream_half_life"] == 2.0
    check = entry["verification"]
    assert "half-life 2 frames" in check["reference"] and check["max_abs_diff"] < 1e-4
    assert check["max_abs_diff_per_frame_vs_keras_step"] < 1e-4
    assert read_tflite_metadata(entry["path"])["export"]["half_life"] == 2.0
    assert StreamingRecognizer.from_file(entry["path"]).half_life == 2.0


def test_stream_export_of_several_frames_per_step_records_them(synthetic_data, tmp_path):
    """``--stream_frames_per_step=4``: a ``frame`` input of 4 frames, the clip model's scores
    after each clip's last frame, k in the file's name, metadata and report, a step's time
    per frame; `StreamingRecognizer` takes the k of the file."""
    from xwisenet_tf.streaming import StreamingRecognizer
    from xwisenet_tf.training.errors import TrainingError
    from xwisenet_tf.training.model_metadata import read_tflite_metadata

    checkpoint = _checkpoint(tmp_path, synthetic_data, "xwisenet-stream")
    report = export_model(
        checkpoint=checkpoint,
        output_dir=str(tmp_path / "out"),
        stream=True,
        stream_frames_per_step=4,
        calibration_data=synthetic_data,
        num_verify_clips=2,
        latency_runs=3,
        num_threads=2,
    )
    (name,) = report["last_run"]
    assert name == "xwisenet-stream_stream_step4_float32.tflite"
    entry = report["exports"][name]
    assert entry["frames_per_step"] == 4 and entry["options"]["stream_frames_per_step"] == 4
    check = entry["verification"]
    assert check["max_abs_diff"] < 1e-4 and check["max_abs_diff_per_frame_vs_keras_step"] < 1e-4
    latency = entry["latency"]
    assert latency["frames_per_step"] == 4
    assert latency["frame_median_ms"] == pytest.approx(latency["step_median_ms"] / 4, abs=1e-3)
    assert read_tflite_metadata(entry["path"])["export"]["frames_per_step"] == 4
    signature = TFLiteRunner(path=entry["path"]).interpreter.get_signature_runner()
    assert tuple(signature.get_input_details()["frame"]["shape"]) == (1, 4, *CLIP[1:])
    assert StreamingRecognizer.from_file(entry["path"]).frames_per_step == 4
    with pytest.raises(TrainingError, match="takes 4 frame"):
        StreamingRecognizer.from_file(entry["path"], frames_per_step=1)
    with pytest.raises(ExportError, match="must divide the 8 frames"):
        export_model(
            checkpoint=checkpoint,
            output_dir=str(tmp_path / "out3"),
            stream=True,
            stream_frames_per_step=3,
            calibration_data=synthetic_data,
            num_verify_clips=2,
        )


def test_stream_export_int8_runs_on_integer_kernels(synthetic_data, tmp_path):
    checkpoint = _checkpoint(tmp_path, synthetic_data, "xwisenet-stream")
    report = export_model(
        checkpoint=checkpoint,
        output_dir=str(tmp_path / "out"),
        stream=True,
        quantize="int8",
        calibration_data=synthetic_data,
        num_calibration_clips=4,
        num_verify_clips=4,
        latency_runs=3,
        num_threads=2,
    )
    entry = report["exports"]["xwisenet-stream_stream_int8.tflite"]
    assert entry["verification"]["max_abs_diff"] < 0.05  # random weights: near-uniform scores
    assert "CONV_2D" in entry["ops"] and "DEQUANTIZE" in entry["ops"]
    assert np.isfinite(entry["latency"]["frame_median_ms"])


def test_stream_export_refuses_a_model_that_is_not_causal(synthetic_data, tmp_path):
    checkpoint = _checkpoint(tmp_path, synthetic_data, "xwisenet")
    with pytest.raises(ExportError, match="--stream: the model is not causal"):
        export_model(
            checkpoint=checkpoint,
            output_dir=str(tmp_path / "out"),
            stream=True,
            calibration_data=synthetic_data,
            num_verify_clips=2,
        )


@pytest.mark.parametrize(
    "options,match",
    [
        ({"stream": True, "include_preprocessing": True}, "drop --include_preprocessing"),
        ({"stream": True, "quantize": "int8", "int8_io": True}, "--int8_io applies to --tflite"),
        ({"stream": True, "stream_half_life": -4.0}, "Received: --stream_half_life=-4.0"),
        ({"tflite": True, "stream_half_life": 4.0}, "--stream_half_life applies to the step"),
        ({"stream": True, "stream_frames_per_step": 0}, "Received: --stream_frames_per_step=0"),
        ({"tflite": True, "stream_frames_per_step": 2}, "--stream_frames_per_step applies to"),
    ],
)
def test_stream_option_errors(options, match, tmp_path):
    from xwisenet_tf.export import ExportOptions

    with pytest.raises(ExportError, match=match):
        ExportOptions(checkpoint=str(tmp_path), output_dir=str(tmp_path), **options).validate()
