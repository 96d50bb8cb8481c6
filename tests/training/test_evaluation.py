"""The recognition protocol (sec. IV-C): scores averaged per video, video vs clip accuracy,
report files; the validation source of training (never the test split)."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from tests.training.conftest import TINY_CLIP
from xwisenet_tf import data
from xwisenet_tf.training.datasets import load_videos, plan_validation, subject_of
from xwisenet_tf.training.errors import TrainingError
from xwisenet_tf.training.evaluation import (
    evaluate,
    format_report,
    protocol_report,
    write_report,
)

CLASSES = ["a", "b", "c"]


def test_video_accuracy_averages_clip_scores_per_video():
    videos = [{"id": "v0", "label": 0}, {"id": "v1", "label": 1}, {"id": "v2", "label": 2}]
    # v0: 3 clips, only 1 right, but its average is right; v1: 1 clip, wrong; v2: 2 right.
    scores = np.array(
        [
            [0.9, 0.1, 0.0],
            [0.4, 0.6, 0.0],
            [0.4, 0.0, 0.6],
            [0.7, 0.2, 0.1],
            [0.1, 0.1, 0.8],
            [0.2, 0.1, 0.7],
        ]
    )
    labels = np.array([0, 0, 0, 1, 2, 2])
    index = np.array([0, 0, 0, 1, 2, 2])
    report = protocol_report(scores, labels, index, videos, CLASSES)
    assert report["video_accuracy"] == pytest.approx(2 / 3)
    assert report["clip_accuracy"] == pytest.approx(3 / 6)
    assert report["num_videos"] == 3 and report["num_clips"] == 6
    assert report["per_class_accuracy"] == {"a": 1.0, "b": 0.0, "c": 1.0}
    assert report["per_class"]["a"] == {
        "videos": 1,
        "video_accuracy": 1.0,
        "clips": 3,
        "clip_accuracy": pytest.approx(1 / 3),
    }
    assert report["confusion_matrix"] == [[1, 0, 0], [1, 0, 0], [0, 0, 1]]
    assert report["clip_confusion_matrix"] == [[1, 1, 1], [1, 0, 0], [0, 0, 2]]
    assert report["per_video"][0] == {
        "id": "v0",
        "label": "a",
        "predicted": "a",
        "score": pytest.approx(1.7 / 3),
        "clips": 3,
    }
    text = format_report(report)
    assert "video accuracy: 66.67%" in text and "clip accuracy:  50.00%" in text


def test_every_video_needs_a_clip():
    with pytest.raises(TrainingError, match="no clip was evaluated"):
        protocol_report(
            np.ones((1, 3)) / 3,
            np.array([0]),
            np.array([0]),
            [{"id": "v0", "label": 0}, {"id": "v1", "label": 1}],
            CLASSES,
        )


def test_evaluate_a_model_on_a_prepared_split(synthetic_prepared, tmp_path):
    inputs = keras.Input((TINY_CLIP["num_frames"], 32, 32, 3))
    pooled = keras.layers.GlobalAveragePooling3D()(inputs)
    model = keras.Model(inputs, keras.layers.Dense(6, activation="softmax")(pooled))
    report = evaluate(model, synthetic_prepared, "test", batch_size=5)
    manifest = data.read_manifest(synthetic_prepared)
    assert report["num_videos"] == len(manifest["splits"]["test"]["videos"]) == 6
    assert report["num_clips"] == data.count_eval_clips(synthetic_prepared, "test", 8)
    assert report["class_names"] == manifest["classes"]
    assert report["params"] == 4 * 6 - 6 + 6 and report["macs"] > 0
    json_path, png_path = write_report(report, tmp_path / "out" / "report.json")
    saved = json.loads(open(json_path).read())
    assert saved["video_accuracy"] == report["video_accuracy"]
    assert open(png_path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_evaluate_refuses_other_classes(synthetic_prepared):
    inputs = keras.Input((8, 32, 32, 3))
    pooled = keras.layers.GlobalAveragePooling3D()(inputs)
    model = keras.Model(inputs, keras.layers.Dense(4, activation="softmax")(pooled))
    with pytest.raises(TrainingError, match="predicts 4 classes but the dataset has 6"):
        evaluate(model, synthetic_prepared, "test")
    model6 = keras.Model(inputs, keras.layers.Dense(6, activation="softmax")(pooled))
    with pytest.raises(TrainingError, match="trained on classes"):
        evaluate(model6, synthetic_prepared, "test", class_names=list("abcdef"))
    with pytest.raises(TrainingError, match="has no split 'holdout'"):
        evaluate(model6, synthetic_prepared, "holdout")


def _kth_manifest(persons=(1, 4, 11, 12, 15), per_person=3):
    videos = [
        {"id": f"person{p:02d}_boxing_d1_seq{s}", "label": s % 2, "num_frames": 50}
        for p in persons
        for s in range(per_person)
    ]
    return {"dataset": "kth", "classes": ["x", "y"], "splits": {"train": {"videos": videos}}}


def test_validation_plan_holds_out_whole_subjects():
    manifest = _kth_manifest()
    plan = plan_validation(manifest, "auto", 0.3, seed=0)
    assert plan.source == "holdout" and plan.split == "train"
    assert len(plan.holdout_groups) == 2  # round(0.3 * 5 subjects)
    held = {subject_of(v) for v in plan.holdout_ids}
    assert held == set(plan.holdout_groups)
    assert len(plan.holdout_ids) == 2 * 3  # every sample of a held-out subject
    assert plan_validation(manifest, "auto", 0.3, seed=0).holdout_ids == plan.holdout_ids
    assert plan_validation(manifest, "none", 0.3, 0).source == "none"
    with pytest.raises(TrainingError, match="has no validation split"):
        plan_validation(manifest, "split", 0.3, 0)
    single = _kth_manifest(persons=(1,))
    assert plan_validation(single, "auto", 0.1, 0).source == "none"
    with pytest.raises(TrainingError, match="holdout impossible"):
        plan_validation(single, "holdout", 0.1, 0)


def test_validation_plan_prefers_the_validation_split_and_stratifies_videos():
    manifest = _kth_manifest()
    for v in manifest["splits"]["train"]["videos"]:
        v["id"] = v["id"].replace("person", "clip")
    plan = plan_validation(manifest, "holdout", 0.2, 0)
    labels = {v["id"]: v["label"] for v in manifest["splits"]["train"]["videos"]}
    assert {labels[i] for i in plan.holdout_ids} == {0, 1}  # stratified: every class
    per_class = [sum(1 for x in labels.values() if x == c) for c in (0, 1)]
    assert per_class == [10, 5]
    assert len(plan.holdout_ids) == round(0.2 * 10) + round(0.2 * 5)  # 2 + 1
    manifest["splits"]["validation"] = {"videos": [{"id": "v", "label": 0, "num_frames": 9}]}
    assert plan_validation(manifest, "auto", 0.2, 0).split == "validation"


def test_load_videos_keeps_the_pipeline_clips(synthetic_prepared):
    videos = data.read_manifest(synthetic_prepared)["splits"]["train"]["videos"]
    kept = [videos[1]["id"], videos[4]["id"]]
    reference = data.load(synthetic_prepared, "train", False, 64, 8, 32, with_video_id=True)
    clips, labels, ids = next(iter(reference))
    mask = np.isin(ids.numpy(), [1, 4])
    subset = list(load_videos(str(synthetic_prepared), "train", False, 64, kept, **TINY_CLIP))
    np.testing.assert_allclose(subset[0][0].numpy(), clips.numpy()[mask], atol=1e-5)
    np.testing.assert_array_equal(subset[0][1].numpy(), labels.numpy()[mask])
    rest = load_videos(
        str(synthetic_prepared), "train", True, 4, kept, keep=False, seed=1, **TINY_CLIP
    )
    batch_labels = np.concatenate([y.numpy() for _, y in rest])
    assert len(batch_labels) == len(videos) - 2
