"""Issue 13, the prediction side: ``predict.py`` reads a video file as evaluation reads its
prepared frames (one frame path, `xwisenet_tf.data.frames`), at the frame rate the model was
trained at, over the whole video (the last partial clip marked), streamed clip by clip."""

from __future__ import annotations

import json
import os

import keras
import numpy as np
import pytest

from tests.training.conftest import TINY_CLIP, error_line, run_cli
from xwisenet_tf import data
from xwisenet_tf.data.clip_choices import TEST_VIEWS
from xwisenet_tf.data.frames import eval_clip, stored_frames
from xwisenet_tf.data.pipeline import loop_pad_indices, normalize_frames
from xwisenet_tf.data.synthetic import write_video
from xwisenet_tf.prediction import predictor as prediction
from xwisenet_tf.prediction.predictor import (
    FPS_MODEL,
    FPS_SOURCE,
    Predictor,
    format_prediction,
    parse_fps,
)
from xwisenet_tf.training.errors import TrainingError
from xwisenet_tf.training.evaluation import evaluate
from xwisenet_tf.training.metadata import (
    frame_format,
    read_metadata,
    trained_fps,
    write_metadata,
)
from xwisenet_tf.training.report import PROTOCOL

FRAMES, SIZE = TINY_CLIP["num_frames"], TINY_CLIP["image_size"]


def _video(path, num_frames: int, fps: int = 25) -> str:
    """A 64x48 H.264 video whose frame ``t`` shows a bar at column ``t`` (every frame differs)."""
    frames = np.full((num_frames, 48, 64, 3), 40, np.uint8)
    for t in range(num_frames):
        frames[t, :, t % 60 : t % 60 + 4] = (230, 120, 30)
        frames[t, : 1 + t % 47, :2] = 255
    write_video(path, frames, fps=fps)
    return os.fspath(path)


def _checkpoint(path, names=None, **frame_input) -> str:
    """A tiny XwiseNet on 8x32x32 clips with 6 classes, saved with a sidecar whose ``input``
    adds ``frame_input`` (``short_side``, ``jpeg_quality``, ``fps``...)."""
    from xwisenet_tf.models import get_model

    keras.utils.set_random_seed(0)
    model = get_model("xwisenet", 6, (FRAMES, SIZE, SIZE, 3), width=0.5, stage_repeats=(1, 1, 1))
    model.save(path)
    names = list(names or [f"action{i}" for i in range(6)])
    write_metadata(path, {"class_names": names, "input": {"frame_stride": 1, **frame_input}})
    return os.fspath(path)


@pytest.fixture(scope="module")
def trained_like(synthetic_prepared, tmp_path_factory):
    """A checkpoint with the frame format of the prepared synthetic data (as training writes)."""
    manifest = data.read_manifest(synthetic_prepared)
    path = tmp_path_factory.mktemp("prediction") / "model.keras"
    return _checkpoint(path, **frame_format(manifest))


def test_eval_clip_is_the_evaluation_pipelines_clip(synthetic_prepared):
    """A video file read through `stored_frames` + `eval_clip` gives, bit for bit, the clips
    `data.load(training=False)` reads from its prepared TFRecords."""
    manifest = data.read_manifest(synthetic_prepared)
    settings = manifest["settings"]
    videos = manifest["splits"]["test"]["videos"]
    dataset = data.load(synthetic_prepared, "test", False, 256, FRAMES, SIZE, with_video_id=True)
    clips, _, ids = next(iter(dataset))
    for index in (0, 3):
        jpegs = [
            frame.jpeg
            for frame in stored_frames(
                videos[index]["source"],
                short_side=settings["short_side"],
                jpeg_quality=settings["jpeg_quality"],
                fps=settings["fps"],
            )
        ]
        assert len(jpegs) == videos[index]["num_frames"]
        ours = np.stack(
            [
                normalize_frames(eval_clip(jpegs[s : s + FRAMES], FRAMES, SIZE)).numpy()
                for s in range(0, len(jpegs) - FRAMES + 1, FRAMES)
            ]
        )
        np.testing.assert_array_equal(ours, clips.numpy()[ids.numpy() == index])
        # Every other frame (frame_stride 2): clips of 16 frames' span, loop-padded alike.
        strided = data.load(synthetic_prepared, "test", False, 256, FRAMES, SIZE, 2, None,
                            with_video_id=True)  # fmt: skip
        clips2, _, ids2 = next(iter(strided))
        starts = range(0, max(1, len(jpegs) // (2 * FRAMES)) * 2 * FRAMES, 2 * FRAMES)
        ours = np.stack(
            [
                normalize_frames(eval_clip(jpegs[s : s + 2 * FRAMES], FRAMES, SIZE, 2)).numpy()
                for s in starts
            ]
        )
        np.testing.assert_array_equal(ours, clips2.numpy()[ids2.numpy() == index])


def test_predict_gives_evaluations_clip_scores(synthetic_prepared, trained_like):
    """Issue 13, item 5: the same per-clip scores for a video of the test split."""
    manifest = data.read_manifest(synthetic_prepared)
    predictor = Predictor(trained_like)
    report = evaluate(predictor._model, synthetic_prepared, "test", 16, clip_scores=True)
    for index in (0, 2, 5):
        video = manifest["splits"]["test"]["videos"][index]
        result = predictor.score_video(video["source"], batch_size=8)
        counted = result.scores[[c.in_video_score for c in result.clips]]
        expected = np.asarray(report["per_video"][index]["clip_scores"])
        assert counted.shape == expected.shape == (video["num_frames"] // FRAMES, 6)
        assert np.abs(counted - expected).max() < 1e-4
        assert result.fps == 25.0 and result.fps_from == FPS_MODEL
        mean = expected.mean(axis=0)
        assert report["per_video"][index]["score"] == pytest.approx(mean.max(), abs=1e-4)
        np.testing.assert_allclose(result.video_scores, mean, atol=1e-4)


def test_timeline_covers_the_whole_video(trained_like, tmp_path):
    """A 44-frame video with 8-frame clips: 5 full clips (frames 0-39), then frames 40-43 in a
    last clip, loop-padded as the pipeline pads (`loop_pad_indices`) and marked, out of the
    video's score; a video shorter than a clip is one padded clip, in the score (as in
    evaluation)."""
    predictor = Predictor(trained_like)
    video = _video(tmp_path / "v44.mp4", 44)
    result = predictor.predict_video(video, top_k=6)
    clips = result["clips"]
    assert result["num_frames"] == 44
    assert [(c["start_frame"], c["end_frame"]) for c in clips] == [
        (0, 7), (8, 15), (16, 23), (24, 31), (32, 39), (40, 43)
    ]  # fmt: skip
    assert [c["padded"] for c in clips] == [False] * 5 + [True]
    assert [c["in_video_score"] for c in clips] == [True] * 5 + [False]
    assert clips[-1]["end_time"] == pytest.approx(44 / 25)
    scores = predictor.score_video(video)
    video_scores = {t["label"]: t["probability"] for t in result["top_k"]}
    full = scores.scores[:5].mean(axis=0)
    for i, name in enumerate(predictor.class_names):
        assert video_scores[name] == pytest.approx(full[i], abs=1e-9)
    text = format_prediction(result)
    assert "frames 40-43" in text and "(loop-padded; not in the video's score)" in text
    # The padded clip is the pipeline's loop padding of frames 40-43.
    jpegs = [
        f.jpeg for f in stored_frames(video, 40, short_side=predictor.short_side, jpeg_quality=90)
    ]
    order = loop_pad_indices(np.arange(FRAMES), len(jpegs)).numpy()
    padded = np.stack([eval_clip([jpegs[i]], 1, SIZE)[0] for i in order])
    np.testing.assert_array_equal(eval_clip(jpegs, FRAMES, SIZE), padded)

    short = predictor.predict_video(_video(tmp_path / "v5.mp4", 5))
    assert [(c["start_frame"], c["end_frame"], c["padded"], c["in_video_score"])
            for c in short["clips"]] == [(0, 4, True, True)]  # fmt: skip


def test_decoding_is_consumed_clip_by_clip(trained_like, tmp_path, monkeypatch):
    """The first forward pass comes after one batch of clips was decoded, not after the
    whole video: memory is bounded by a batch, whatever the video's length."""
    video = _video(tmp_path / "v120.mp4", 120)
    pulled = []
    original = prediction.stored_frames

    def counting(*args, **kwargs):
        for frame in original(*args, **kwargs):
            pulled.append(frame.index)
            yield frame

    monkeypatch.setattr(prediction, "stored_frames", counting)
    predictor = Predictor(trained_like)
    calls = []
    run = predictor._run
    predictor._run = lambda clips: (calls.append(len(pulled)), run(clips))[1]
    result = predictor.score_video(video, batch_size=2)
    assert len(pulled) == 120 and len(result.clips) == 15
    assert calls[0] <= 2 * FRAMES  # two clips' frames, then the model
    assert calls == sorted(calls) and len(calls) == 8


def test_the_model_training_rate_is_used_unless_told_otherwise(synthetic_prepared, tmp_path):
    manifest = data.read_manifest(synthetic_prepared)
    video = _video(tmp_path / "v50fps.mp4", 100, fps=50)  # 2 s
    model = _checkpoint(tmp_path / "m25.keras", **{**frame_format(manifest), "fps": 25.0})
    predictor = Predictor(model)
    assert predictor.fps == 25.0
    at_model = predictor.predict_video(video)
    assert at_model["fps"] == 25.0 and at_model["fps_from"] == FPS_MODEL
    assert at_model["source_fps"] == 50.0 and at_model["num_frames"] == 50
    assert "resampled from 50 fps" in format_prediction(at_model)
    own = predictor.predict_video(video, fps=FPS_SOURCE)
    assert own["fps"] == 50.0 and own["num_frames"] == 100 and own["fps_from"] == FPS_SOURCE
    asked = predictor.predict_video(video, fps="10")
    assert asked["fps"] == 10.0 and asked["num_frames"] == 20 and asked["fps_from"] == "requested"
    # A checkpoint written before the rate was recorded reads a video at its own rate.
    old = _checkpoint(tmp_path / "old.keras", short_side=72)
    assert "fps" not in read_metadata(old)["input"] and Predictor(old).fps is None
    result = Predictor(old).predict_video(video)
    assert result["fps"] == 50.0 and result["fps_from"] == FPS_SOURCE
    assert result["num_frames"] == 100


def test_parse_fps():
    assert parse_fps(None) == parse_fps("model") == parse_fps(" Model ") == FPS_MODEL
    assert parse_fps("source") == FPS_SOURCE
    assert parse_fps("29.97") == parse_fps(29.97) == pytest.approx(29.97)
    for bad in ("fast", "0", "-5", "1e9"):
        with pytest.raises(TrainingError, match="fps must be 'model'.*'source'"):
            parse_fps(bad)


def _manifest(rates, settings_fps=None):
    videos = [{"id": f"v{i}", "label": 0, "num_frames": 9, "fps": r} for i, r in enumerate(rates)]
    if rates and rates[0] is None:
        videos = [{"id": "v", "label": 0, "num_frames": 9}]
    return {
        "settings": {"short_side": 128, "jpeg_quality": 85, "fps": settings_fps},
        "splits": {"train": {"videos": videos}, "test": {"videos": [{"fps": 60.0}]}},
    }


def test_frame_format_records_the_training_rate():
    same = frame_format(_manifest([25.0, 25.0, 25.0]))
    assert same["fps"] == 25.0 and same["short_side"] == 128 and same["jpeg_quality"] == 85
    assert "all 3 training videos" in same["fps_note"]
    mixed = frame_format(_manifest([24.0, 30.0, 60.0, 25.0, 30.0]))
    assert mixed["fps"] == 30.0 and "median" in mixed["fps_note"]
    assert "24 to 60 fps" in mixed["fps_note"] and "--fps" in mixed["fps_note"]
    assert frame_format(_manifest([30.0, 60.0]))["fps"] == 45.0
    resampled = frame_format(_manifest([30.0, 60.0], settings_fps=25.0))
    assert resampled["fps"] == 25.0 and "prepare --fps" in resampled["fps_note"]
    unknown = frame_format(_manifest([None]))
    assert unknown["fps"] is None and "unknown" in unknown["fps_note"]
    assert trained_fps({"input": same}) == 25.0
    assert trained_fps({"input": unknown}) is None and trained_fps({}) is None


def test_write_metadata_takes_the_frame_format_from_the_run(synthetic_prepared, tmp_path):
    """Checkpoints of a training run record the rate of its prepared data (the run's
    ``config.json`` names it); the exported model's metadata copies the checkpoint's input."""
    (tmp_path / "config.json").write_text(
        json.dumps({"config": {}, "resolved": {"prepared_dir": str(synthetic_prepared)}})
    )
    path = tmp_path / "last.keras"
    write_metadata(path, {"class_names": ["a"], "input": {"num_frames": 8, "short_side": 72}})
    meta = json.loads((tmp_path / "last.keras.json").read_text())
    assert meta["input"]["fps"] == 25.0 and meta["input"]["jpeg_quality"] == 90
    assert meta["input"]["num_frames"] == 8 and "fps_note" in meta["input"]
    # Given values win; an input that already has fps is left as it is.
    write_metadata(path, {"class_names": ["a"], "input": {"fps": 12.5}})
    assert read_metadata(path)["input"] == {"fps": 12.5}


def test_the_exported_model_carries_the_training_rate(synthetic_prepared, tmp_path):
    from xwisenet_tf.export import ExportOptions, export_model, read_model_metadata

    manifest = data.read_manifest(synthetic_prepared)
    checkpoint = _checkpoint(
        tmp_path / "model.keras", manifest["classes"], **frame_format(manifest)
    )
    options = ExportOptions(
        checkpoint=checkpoint,
        output_dir=str(tmp_path / "exported"),
        tflite=True,
        calibration_data=str(synthetic_prepared),
        num_verify_clips=2,
        latency_runs=1,
    )
    export_model(options)
    (tflite,) = (tmp_path / "exported").glob("*.tflite")
    exported = read_model_metadata(tflite)["input"]
    assert exported["fps"] == 25.0 and exported["jpeg_quality"] == 90
    predictor = Predictor(tflite)
    assert predictor.fps == 25.0 and predictor.short_side == manifest["settings"]["short_side"]


def test_predict_cli_fps_flag(trained_like, tmp_path):
    video = _video(tmp_path / "v20.mp4", 20)
    bad = run_cli("predict.py", f"--checkpoint={trained_like}", f"--input={video}", "--fps=fast")
    assert bad.returncode == 2 and "fps must be 'model'" in error_line(bad)
    out = tmp_path / "pred.json"
    good = run_cli(
        "predict.py",
        f"--checkpoint={trained_like}",
        f"--input={video}",
        "--fps=source",
        "--noprogress",
        f"--output={out}",
    )
    assert good.returncode == 0, good.stderr
    (result,) = json.loads(out.read_text())["predictions"]
    assert result["fps_from"] == FPS_SOURCE and len(result["clips"]) == 3
    assert result["clips"][-1]["padded"] and "frames 16-19" in good.stdout


# Test-time augmentation (evaluate.py --tta, predict.py --tta): each clip's scores are the mean
# over its views, evaluation and prediction give the same, the paper's protocol is the default.


def test_views_average_the_mirrored_and_shifted_crops(synthetic_prepared, trained_like):
    model = Predictor(trained_like)._model
    plain = evaluate(model, synthetic_prepared, "test", 16, clip_scores=True)
    assert plain["views"] == "none" and plain["protocol"] == PROTOCOL
    flip = evaluate(model, synthetic_prepared, "test", 16, clip_scores=True, views="flip")
    assert "flip" in flip["protocol"] and flip["views"] == "flip"
    clips, _, ids = next(
        iter(data.load(synthetic_prepared, "test", False, 256, FRAMES, SIZE, with_video_id=True))
    )
    centre = model.predict(clips, verbose=0)
    mirrored = model.predict(clips.numpy()[:, :, :, ::-1], verbose=0)
    for index in (0, 4):
        expected = (centre + mirrored)[ids.numpy() == index] / 2
        np.testing.assert_allclose(flip["per_video"][index]["clip_scores"], expected, atol=1e-5)
    # The three crops along the long side are three different views of a 96x72 video.
    crops = evaluate(model, synthetic_prepared, "test", 16, clip_scores=True, views="crops")
    difference = np.abs(
        np.asarray(crops["per_video"][0]["clip_scores"])
        - np.asarray(plain["per_video"][0]["clip_scores"])
    )
    assert difference.max() > 1e-4


@pytest.mark.parametrize("views", ["crops_flip"])
def test_predict_gives_evaluations_scores_with_the_same_views(
    synthetic_prepared,
    trained_like,
    views,
):
    predictor = Predictor(trained_like)
    report = evaluate(predictor._model, synthetic_prepared, "test", 16, clip_scores=True,
                      views=views)  # fmt: skip
    video = data.read_manifest(synthetic_prepared)["splits"]["test"]["videos"][1]
    result = predictor.score_video(video["source"], batch_size=4, views=views)
    counted = result.scores[[c.in_video_score for c in result.clips]]
    expected = np.asarray(report["per_video"][1]["clip_scores"])
    assert counted.shape == expected.shape and len(TEST_VIEWS[views]) == 6
    assert np.abs(counted - expected).max() < 1e-4
