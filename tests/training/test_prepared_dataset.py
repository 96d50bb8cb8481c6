"""``prepared:PATH``: training from a directory ``python -m xwisenet_tf.data.prepare`` wrote
(locally or with ``--runner=beam``), used as it is."""

from __future__ import annotations

import json
import os

import pytest

from tests.data.conftest import write_known_dataset
from tests.training.conftest import TINY_CLIP, TINY_MODEL
from xwisenet_tf.training import TrainConfig, train
from xwisenet_tf.training.errors import TrainingError


def _record_kind(prepared, kind: str) -> None:
    path = os.path.join(prepared, "manifest.json")
    with open(path, encoding="utf-8") as f:
        manifest = json.load(f)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(dict(manifest, dataset=kind), f)


def test_validation_accepts_a_path_and_refuses_none_or_options():
    assert TrainConfig(dataset="prepared:/data/k400").validate().dataset == "prepared:/data/k400"
    for spec in ("prepared:", "prepared"):
        with pytest.raises(TrainingError, match=f"unknown dataset '{spec}'; expected kth, "):
            TrainConfig(dataset=spec).validate()
    with pytest.raises(
        TrainingError, match=r"takes no dataset options; received \['fold', 'folds'\]"
    ):
        TrainConfig(
            dataset="prepared:/data/k400", dataset_options={"folds": 5, "fold": 0}
        ).validate()


def test_recipe_and_run_directory_follow_the_manifest(tmp_path):
    prepared = tmp_path / "k400"
    prepared.mkdir()
    (prepared / "manifest.json").write_text(json.dumps({"classes": ["a", "b"], "splits": {}}))
    config = TrainConfig(dataset=f"prepared:{prepared}/")
    assert config.dataset_kind() == "prepared"
    assert config.resolved().recipe == "real"
    assert config.resolved().default_model_dir() == os.path.join("runs", "xwisenet-k400")
    for kind, recipe in (("kth", "real"), ("csv", "real"), ("synthetic", "default")):
        _record_kind(prepared, kind)
        assert config.dataset_kind() == kind
        assert config.resolved().recipe == recipe, kind
    # synthetic's own defaults too: its clip size and run length.
    assert (config.resolved().image_size, config.resolved().epochs) == (48, 10)
    # Not there yet (ensure_dataset reports that): the real recipe.
    missing = TrainConfig(dataset=f"prepared:{tmp_path / 'nowhere'}")
    assert missing.resolved().recipe == "real"


def test_train_from_a_prepared_directory(tmp_path):
    prepared = write_known_dataset(tmp_path / "prepared", [24] * 8)
    model_dir = tmp_path / "run"
    cache = tmp_path / "cache"
    result = train(
        TrainConfig(
            dataset=f"prepared:{prepared}",
            data_dir=str(cache),
            model_dir=str(model_dir),
            model_overrides=dict(TINY_MODEL),
            batch_size=4,
            epochs=1,
            steps_per_epoch=2,
            evaluate_test=False,
            verbose=0,
            **TINY_CLIP,
        )
    )
    assert result.epochs_completed == 1 and result.optimizer_steps == 2
    written = json.loads((model_dir / "config.json").read_text())
    assert written["config"]["dataset"] == f"prepared:{prepared}"
    assert written["config"]["recipe"] == "real"
    assert written["resolved"]["prepared_dir"] == str(prepared)
    assert not cache.exists()  # nothing converted into the cache
