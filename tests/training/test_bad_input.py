"""Item 5 of the issue: bad input gives a one-line error naming the problem, a non-zero exit
status, and leaves everything already written as it was."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.training.conftest import (
    PYTHON,
    REPO,
    SYNTHETIC_OPTIONS,
    TINY_FLAGS,
    cli_env,
    synthetic_flags,
    tree_digest,
)
from xwisenet_tf.training import TrainConfig

SYNTHETIC_CLASSES = ["walking", "jogging", "running", "boxing", "handwaving", "handclapping"]


def _save_model(path, num_classes, class_names=None):
    from xwisenet_tf.models import get_model
    from xwisenet_tf.training.metadata import write_metadata

    model = get_model("xwisenet", num_classes, (8, 32, 32, 3), width=0.5, stage_repeats=(1, 1, 1))
    model.save(path)
    if class_names:
        write_metadata(path, {"class_names": class_names, "input": {"short_side": 128}})
    return path


@pytest.fixture(scope="module")
def cases(synthetic_data_dir, tmp_path_factory):
    """Runs every bad command at once (they are independent) and returns their results."""
    root = tmp_path_factory.mktemp("bad_input")
    good = _save_model(str(root / "good.keras"), 6, SYNTHETIC_CLASSES)
    other = _save_model(str(root / "other.keras"), 4)
    (root / "corrupt.keras").write_bytes(b"PK\x03\x04 not really a zip")
    (root / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 then garbage" * 20)
    (root / "empty" / "walking").mkdir(parents=True)
    (root / "empty" / "running").mkdir(parents=True)
    run_dir = root / "run"  # a run of another model
    run_dir.mkdir()
    saved = TrainConfig(dataset="synthetic", data_dir=str(synthetic_data_dir),
                        dataset_options=dict(SYNTHETIC_OPTIONS),
                        model_dir=str(run_dir)).resolved().to_dict()  # fmt: skip
    (run_dir / "config.json").write_text(json.dumps({"config": saved, "resolved": {}}))
    data = synthetic_flags(synthetic_data_dir)
    commands = {
        "unknown_preset": ("train.py", "--model=resnet3d-99", *data),
        "unknown_dataset": ("train.py", "--dataset=imagenet"),
        "missing_data_dir": ("train.py", f"--dataset=folder:{root / 'nowhere'}",
                             f"--data_dir={root / 'cache'}"),
        "empty_dataset": ("train.py", f"--dataset=folder:{root / 'empty'}",
                          f"--data_dir={root / 'cache'}"),
        "other_run": ("train.py", "--model=xwisenet-simple", f"--model_dir={run_dir}", *data),
        "other_architecture": ("evaluate.py", f"--checkpoint={other}", *data),
        "corrupt_checkpoint": ("evaluate.py", f"--checkpoint={root / 'corrupt.keras'}", *data),
        "missing_model_dir": ("evaluate.py", f"--model_dir={root / 'no_run'}"),
        "undecodable_video": ("predict.py", f"--checkpoint={good}",
                              f"--input={root / 'broken.mp4'}"),
        "not_a_video_model": ("predict.py", f"--checkpoint={root / 'good.keras.json'}",
                              f"--input={root / 'broken.mp4'}"),
        "bad_flag_value": ("train.py", "--stage_repeats=1,two,1", *data, *TINY_FLAGS[2:]),
    }  # fmt: skip
    before = tree_digest(root)
    processes = {}
    results = {}
    names = list(commands)
    for start in range(0, len(names), 4):  # four at a time on two shared cores
        for name in names[start : start + 4]:
            script, *args = commands[name]
            processes[name] = subprocess.Popen(
                [PYTHON, str(REPO / script), *args], cwd=REPO, env=cli_env(),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
        for name in names[start : start + 4]:
            out, err = processes[name].communicate(timeout=180)
            results[name] = (processes[name].returncode, out, err)
    after = tree_digest(root)
    return results, before, after


EXPECTED = {
    "unknown_preset": r"unknown model 'resnet3d-99'; expected one of \[.*'xwisenet'",
    "unknown_dataset": r"unknown dataset 'imagenet'; expected kth, kth:PATH, folder:PATH",
    "missing_data_dir": r"nowhere: dataset folder not found",
    "empty_dataset": r"empty: found no video to convert",
    "other_run": r"run: holds a run with another configuration \(model: 'xwisenet' -> "
    r"'xwisenet-simple'\); rerun with the same flags to resume it, or use another --model_dir",
    "other_architecture": r"other\.keras: the model predicts 4 classes but the dataset has 6",
    "corrupt_checkpoint": r"corrupt\.keras: not a readable Keras model",
    "missing_model_dir": r"no_run: model directory not found",
    "undecodable_video": r"broken\.mp4: not a readable video file",
    "not_a_video_model": r"good\.keras\.json: unknown model format '\.json'",
    "bad_flag_value": r"--stage_repeats must be comma-separated integers",
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_one_line_error_and_non_zero_status(cases, name):
    import re

    status, out, err = cases[0][name]
    assert status != 0, out + err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, err
    assert re.search(EXPECTED[name], lines[0]), lines[0]


def test_nothing_written_is_destroyed(cases):
    _, before, after = cases
    assert {k: after.get(k) for k in before} == before
