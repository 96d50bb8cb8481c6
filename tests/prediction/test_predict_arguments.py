"""``predict.py`` checks its model and input paths before TensorFlow loads, and takes a training
run's directory in ``--checkpoint`` as ``export.py`` does (`resolve_model`, `find_sources`)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.training.conftest import REPO
from xwisenet_tf.prediction.inputs import find_sources, is_camera, resolve_model
from xwisenet_tf.training.errors import TrainingError


@pytest.fixture
def run_dir(tmp_path):
    """A training run's directory with ``best.keras`` and ``last.keras`` (never loaded here)."""
    run = tmp_path / "run"
    run.mkdir()
    for name in ("best.keras", "last.keras"):
        (run / name).write_bytes(b"")
    return run


def test_checkpoint_takes_a_file_or_a_training_run(run_dir, tmp_path):
    best = str(run_dir / "best.keras")
    assert resolve_model(str(run_dir), None) == best  # was "model not found"
    assert resolve_model(None, str(run_dir)) == best
    assert resolve_model(best, "ignored") == best
    tflite = tmp_path / "model.tflite"
    tflite.write_bytes(b"")
    assert resolve_model(str(tflite), None) == str(tflite)


@pytest.mark.parametrize(
    ("checkpoint", "message"),
    [
        ("missing.keras", "--checkpoint {}: model not found; expected a .keras or .tflite file, "
                          "or a training run's directory"),
        ("model.txt", "--checkpoint {}: unknown model format"),
        ("empty_run", "--checkpoint {}: holds no best.keras or last.keras"),
    ],
)  # fmt: skip
def test_a_bad_checkpoint_names_the_flag(checkpoint, message, tmp_path):
    (tmp_path / "model.txt").write_text("")
    (tmp_path / "empty_run").mkdir()
    path = str(tmp_path / checkpoint)
    with pytest.raises(TrainingError, match="^" + message.format(path).replace(".", r"\.")):
        resolve_model(path, None)
    with pytest.raises(TrainingError, match="give --model_dir"):
        resolve_model(None, None)


def test_sources_are_the_videos_of_files_folders_and_cameras(tmp_path):
    folder = tmp_path / "videos"
    (folder / "b").mkdir(parents=True)
    for name in ("a.mp4", "b/c.avi", "notes.txt"):
        (folder / name).write_bytes(b"")
    videos = [str(folder / "a.mp4"), str(folder / "b" / "c.avi")]
    assert find_sources([folder]) == videos
    assert find_sources(["/dev/video0", videos[0]], cameras=True) == ["/dev/video0", videos[0]]
    assert is_camera("lavfi:testsrc") and not is_camera(videos[0])
    with pytest.raises(TrainingError, match="/dev/video0: no such file or folder"):
        find_sources(["/dev/video0"])  # a camera only with --stream
    with pytest.raises(TrainingError, match=r"out\.mp4: .* for one input video; received 2"):
        find_sources([folder], annotate=["out.mp4"])


@pytest.mark.parametrize("bad", ["input", "checkpoint"])
def test_predict_cli_reports_a_missing_path_before_tensorflow_loads(bad, run_dir, tmp_path):
    """Exit status 2 and one ``error:`` line naming the path, with TensorFlow never imported
    (it took 11 s on a busy 2-core machine to say so)."""
    video = tmp_path / "video.mp4"
    video.write_bytes(b"")
    missing = str(tmp_path / "missing")
    checkpoint = missing if bad == "checkpoint" else str(run_dir)
    inputs = missing if bad == "input" else str(video)
    probe = textwrap.dedent(
        f"""
        import runpy, sys
        sys.argv = ["predict.py", "--checkpoint", {checkpoint!r}, "--input", {inputs!r}]
        try:
            runpy.run_path({str(REPO / "predict.py")!r}, run_name="__main__")
        except SystemExit as exit:
            print("exit", exit.code, "tensorflow" in sys.modules)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.stdout.split()[-3:] == ["exit", "2", "False"], result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")
    assert missing in result.stderr
