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
