"""python -m xwisenet_tf.bench.convergence: variants parsed as TrainConfig fields, each trained
for the same step budget with the test split measured along the way."""

from __future__ import annotations

import json

import pytest

from tests.training.conftest import SYNTHETIC_OPTIONS
from xwisenet_tf.bench import convergence as bench


def test_parse_variant():
    assert bench.parse_variant(
        "fast:recipe=default,learning_rate=0.004,model.stage_repeats=1-2-1"
    ) == (
        "fast",
        {"recipe": "default", "learning_rate": 0.004},
        {"stage_repeats": [1, 2, 1]},
    )
    assert bench.parse_variant("crop:train_crop=centre,model.block=null") == (
        "crop",
        {"train_crop": "centre"},
        {"block": None},
    )
    for bad in ("no-label", ":recipe=paper", "x:recipe"):
        with pytest.raises(ValueError):
            bench.parse_variant(bad)


def test_variants_side_by_side_on_one_budget(synthetic_data_dir, tmp_path):
    tiny = "model.width=0.5,model.stage_repeats=1-1-1,batch_size=4"
    output = tmp_path / "convergence.md"
    argv = [
        "--data_dir", str(synthetic_data_dir),
        *(f"--dataset_option={k}={v}" for k, v in SYNTHETIC_OPTIONS.items()),
        "--steps", "12", "--eval_every", "6", "--image_size", "32", "--num_frames", "8",
        "--variant", f"paper:recipe=paper,{tiny}",
        "--variant", f"default:recipe=default,{tiny}",
        "--output", str(output),
    ]  # fmt: skip
    assert bench.main(argv) == 0
    results = json.loads(output.with_suffix(".json").read_text())
    assert [r["variant"] for r in results] == ["paper", "default"]
    paper, default = results
    # 24 training videos: the paper draws 1 clip per video (6 steps per epoch, 2 epochs), the
    # default recipe 4 (24 steps per epoch: the budget rounds to 1 epoch).
    assert [row["steps"] for row in paper["rows"]] == [6, 12]
    assert [row["steps"] for row in default["rows"]] == [6, 12, 18, 24]
    assert paper["settings"]["lr_schedule"] == "plateau"
    assert default["settings"]["lr_schedule"] == "cosine"
    for row in paper["rows"] + default["rows"]:
        assert 0.0 <= row["test_video_accuracy"] <= 1.0 and row["minutes"] >= 0.0
    table = output.read_text()
    assert "| paper | 12 |" in table and "| default | 24 |" in table


def test_crossval_trains_every_variant_on_every_fold_and_resumes(tmp_path):
    """python -m xwisenet_tf.bench.crossval: variants x folds x seeds, mean +- std, resumable."""
    from tests.training.conftest import write_motion_dataset
    from xwisenet_tf.bench import crossval

    root = write_motion_dataset(tmp_path / "videos", per_split=(("all", 4),))
    classes = root / "all"  # root/<class>/<video>: the layout folds split
    tiny = "model.width=0.5,model.stage_repeats=1-1-1,batch_size=4,epochs=1,num_frames=8"
    argv = [
        "--dataset", f"folder:{classes}", "--folds", "2", "--fold_subset", "1", "--seeds", "0",
        "--image_size", "32", "--data_dir", str(tmp_path / "cache"),
        "--work_dir", str(tmp_path / "cv"), "--output", str(tmp_path / "cv.md"), "--tta", "flip",
        "--variant", f"plain:recipe=default,{tiny}",
        "--variant", f"real:{tiny}",
    ]  # fmt: skip
    assert crossval.main(argv) == 0
    runs = [json.loads(line) for line in (tmp_path / "cv" / "crossval.jsonl").open()]
    assert sorted((r["variant"], r["fold"]) for r in runs) == [("plain", 1), ("real", 1)]
    for run in runs:  # two folds of 12 videos: 6 test videos each, 2 per class
        assert run["num_test_videos"] == 6 and 0 <= run["test_video_accuracy"] <= 1
    assert {r["recipe"] for r in runs} == {"default", "real"}  # no recipe: auto -> real
    summary = json.loads((tmp_path / "cv.json").read_text())["summary"]
    assert [(s["variant"], s["runs"]) for s in summary] == [("plain", 1), ("real", 1)]
    assert "| plain | xwisenet, 32 px | 1 (1 x 1) |" in (tmp_path / "cv.md").read_text()
    assert "- real, `--tta=flip`: test video" in (tmp_path / "cv.md").read_text()
    assert all(0 <= r["tta"]["flip"]["test_video_accuracy"] <= 1 for r in runs)
    assert crossval.main(argv) == 0  # finished runs are skipped
    assert len((tmp_path / "cv" / "crossval.jsonl").read_text().splitlines()) == 2
