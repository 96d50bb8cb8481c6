"""Bad input gives one clear line, and an existing output is never left half-written
(issue item 4)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from xwisenet_tf import files as export_files
from xwisenet_tf.export import ExportError, export_model

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def untrained_run(tmp_path_factory) -> tuple[str, str]:
    """``(checkpoint, prepared data)``: the other export tests' checkpoint and data but
    untrained and with 1 video per class and split (seconds, not the minutes of training).
    These tests fail before the model's predictions matter."""
    from tests.export.conftest import make_synthetic_data, train_checkpoint

    data = make_synthetic_data(tmp_path_factory.mktemp("data"), 1, 1)
    return train_checkpoint(data, tmp_path_factory.mktemp("run"), epochs=0), data


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, str(REPO / "export.py"), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
    )


def _error_line(result: subprocess.CompletedProcess) -> str:
    """The one line of stderr (checked before TensorFlow loads, so no start-up logging)."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_cli_errors_are_one_line(tmp_path, untrained_run):
    checkpoint, _ = untrained_run
    out = str(tmp_path / "out")
    missing = str(tmp_path / "missing.keras")
    line = _error_line(_run_cli("--checkpoint", missing, "--output_dir", out, "--tflite"))
    assert missing in line and "not found" in line

    line = _error_line(
        _run_cli(
            "--checkpoint",
            checkpoint,
            "--output_dir",
            out,
            "--tflite",
            "--quantize",
            "int4",
        )
    )
    assert "--quantize 'int4'" in line and "none, fp16, dynamic, int8" in line

    empty = tmp_path / "no_data"
    empty.mkdir()
    line = _error_line(
        _run_cli(
            "--checkpoint",
            checkpoint,
            "--output_dir",
            out,
            "--tflite",
            "--quantize",
            "int8",
            "--calibration_data",
            str(empty),
        )
    )
    assert str(empty) in line and "no prepared dataset" in line
    assert not os.path.exists(out)  # nothing written on a bad argument


def test_cli_checks_the_library_options_before_tensorflow():
    """export.py's flags are the fields of `ExportOptions` (tests/training/test_cli_flags.py
    compares them) and it checks them with `ExportOptions.validate`, which loads no
    TensorFlow: the checks are the library's, not copies."""
    code = (
        "import sys\n"
        "from xwisenet_tf.export.options import ExportOptions\n"
        "try:\n"
        "    ExportOptions(checkpoint='/nonexistent', output_dir='out', tflite=True).validate()\n"
        "except ValueError as e:\n"
        "    print(e)\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert result.stdout.splitlines() == [
        "--checkpoint /nonexistent: not found; expected a .keras file written by train.py or "
        "its model_dir",
        "False False",
    ], result.stderr


@pytest.mark.parametrize(
    "options,match",
    [
        ({}, "nothing to export"),
        ({"tflite": True, "quantize": "int16"}, "unknown quantization"),
        ({"saved_model": True, "quantize": "int8"}, "applies to TFLite"),
        ({"tflite": True, "int8_io": True}, "needs --quantize int8"),
        ({"tflite": True, "num_verify_clips": 0}, "num_verify_clips"),
        ({"tflite": True, "calibration_data": "/nonexistent/dir"}, "directory not found"),
    ],
)
def test_library_option_errors(tmp_path, options, match):
    checkpoint = tmp_path / "best.keras"  # options are checked before the model is read
    checkpoint.write_bytes(b"")
    with pytest.raises(ExportError, match=match):
        export_model(checkpoint=str(checkpoint), output_dir=str(tmp_path / "out"), **options)
    assert not (tmp_path / "out").exists()


def test_checkpoint_errors(tmp_path):
    not_keras = tmp_path / "model.h5"
    not_keras.write_bytes(b"x")
    with pytest.raises(ExportError, match="not a .keras file"):
        export_model(checkpoint=str(not_keras), output_dir=str(tmp_path), tflite=True)
    corrupt = tmp_path / "corrupt.keras"
    corrupt.write_bytes(b"not a zip")
    with pytest.raises(ExportError, match="not a readable Keras model"):
        export_model(checkpoint=str(corrupt), output_dir=str(tmp_path), tflite=True)
    empty_run = tmp_path / "run"
    empty_run.mkdir()
    with pytest.raises(ExportError, match="no best.keras or last.keras"):
        export_model(checkpoint=str(empty_run), output_dir=str(tmp_path), tflite=True)


def test_failed_write_keeps_the_existing_file(tmp_path, monkeypatch):
    target = tmp_path / "model.tflite"
    target.write_bytes(b"old model")

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export_files.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        export_files.write_bytes(target, b"new model, half written")
    assert target.read_bytes() == b"old model"
    assert os.listdir(tmp_path) == ["model.tflite"]


def test_failed_directory_write_keeps_the_existing_directory(tmp_path):
    target = tmp_path / "saved_model"
    target.mkdir()
    (target / "saved_model.pb").write_bytes(b"old")

    def fill(path):
        os.makedirs(path)
        Path(path, "saved_model.pb").write_bytes(b"half")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        export_files.write_directory(target, fill)
    assert (target / "saved_model.pb").read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["saved_model"]

    export_files.write_directory(target, lambda p: (os.makedirs(p), Path(p, "new").write_text("x")))
    assert os.listdir(target) == ["new"] and os.listdir(tmp_path) == ["saved_model"]


def test_failed_conversion_keeps_the_existing_model(tmp_path, untrained_run, monkeypatch):
    from xwisenet_tf.export import tflite

    checkpoint, data = untrained_run

    target = tmp_path / "xwisenet_float32.tflite"
    target.write_bytes(b"previous export")

    class Broken:
        def convert(self):
            raise RuntimeError("converter crashed: op FOO has no builtin kernel")

    monkeypatch.setattr(tflite, "tflite_converter", lambda *args, **kwargs: Broken())
    with pytest.raises(ExportError, match="TFLite conversion .* failed: .*FOO"):
        export_model(
            checkpoint=checkpoint,
            output_dir=str(tmp_path),
            tflite=True,
            calibration_data=data,
            num_verify_clips=2,
        )
    assert target.read_bytes() == b"previous export"
    assert sorted(os.listdir(tmp_path)) == ["xwisenet_float32.tflite"]
