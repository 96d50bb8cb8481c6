"""Issue 16, ``predict.py --stream``: a causal model frame by frame on a file (generated or real
KTH) with a live label line and an annotated video; a camera that is not there is named."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from tests.prediction.test_annotate import _decode, _frames, _write, tiny_checkpoint
from tests.training.conftest import KTH_DIR, error_line, run_cli
from xwisenet_tf.data.errors import DataError
from xwisenet_tf.prediction.stream import LiveLine, StreamPredictor, camera_frames, is_camera


@pytest.fixture(scope="module")
def causal_checkpoint(tmp_path_factory) -> str:
    """A tiny causal XwiseNet on 8x32x32 clips (random weights) trained at 12.5 fps."""
    return tiny_checkpoint(tmp_path_factory.mktemp("stream"), "xwisenet-stream")


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> str:
    return _write(tmp_path_factory.mktemp("videos") / "input.mp4", _frames(40, 160, 120))


def test_stream_cli_live_line_json_and_annotated_video(causal_checkpoint, video, tmp_path):
    annotated, predictions = tmp_path / "live.mp4", tmp_path / "stream.json"
    done = run_cli(
        "predict.py",
        f"--checkpoint={causal_checkpoint}",
        f"--input={video}",
        "--stream",
        "--pace=fast",
        f"--output={annotated}",
        f"--output={predictions}",
    )
    assert done.returncode == 0, done.stderr
    (result,) = json.loads(predictions.read_text())["predictions"]
    # 40 frames at 25 fps read at the model's 12.5 fps: 20 frames, one step each.
    assert result["num_frames"] == 20 and len(result["frames"]) == 20
    assert [f["time"] for f in result["frames"][:3]] == [0.0, 0.08, 0.16]
    assert result["top_k"][0]["label"] == result["frames"][-1]["label"]
    assert result["step_ms"] > 0
    # The live line (not a terminal: printed when the top label changes, and at the end).
    lines = [line for line in done.stdout.splitlines() if " frame " in line]
    assert lines and lines[-1].split()[2:4] == ["frame", "19"]
    assert f"{video}: {result['top_k'][0]['label']}" in done.stdout
    frames, info = _decode(annotated)
    assert frames.shape == (40, 120, 160, 3) and info["size"] == (160, 120)
    assert info["fps"] == 25.0


def test_stream_probabilities_are_the_causal_clip_models(causal_checkpoint, video):
    """After timeline frame t, the probabilities are the clip model's on frames 1..t (the
    frames as clip prediction reads them)."""
    from xwisenet_tf.data.frames import eval_clip, stored_frames
    from xwisenet_tf.data.pipeline import MEAN_RGB, STD_RGB
    from xwisenet_tf.models import get_model

    predictor = StreamPredictor(causal_checkpoint)
    result = predictor.stream_video(video, pace="fast")
    jpegs = [f.jpeg for f in stored_frames(video, short_side=None, jpeg_quality=90, fps=12.5)]
    clip = (eval_clip(jpegs[:8], 8, 32) - MEAN_RGB) / STD_RGB
    model = keras.models.load_model(causal_checkpoint)
    for seen in (1, 5, 8):
        prefix = get_model(
            "xwisenet-stream", 6, (seen, 32, 32, 3), width=0.5, stage_repeats=(1, 1, 1)
        )
        prefix.set_weights(model.get_weights())
        expected = np.asarray(prefix(clip[None, :seen].astype("float32")))[0]
        np.testing.assert_allclose(result["probabilities"][seen - 1], expected, atol=1e-5)


def test_stream_with_a_half_life_weighs_the_recent_frames(causal_checkpoint, video, tmp_path):
    """``--stream_half_life=2``: the cumulative mean's probabilities for the first frames
    (1 / (1 - 2^-1/2) = 3.4 of them), then an exponential average; the JSON and the summary
    line say so."""
    from xwisenet_tf.prediction.stream import format_stream

    cumulative = StreamPredictor(causal_checkpoint).stream_video(video, pace="fast")
    assert cumulative["half_life"] is None
    predictions = tmp_path / "stream.json"
    done = run_cli(
        "predict.py",
        f"--checkpoint={causal_checkpoint}",
        f"--input={video}",
        "--stream",
        "--pace=fast",
        "--stream_half_life=2",
        f"--output={predictions}",
    )
    assert done.returncode == 0, done.stderr
    (result,) = json.loads(predictions.read_text())["predictions"]
    assert result["half_life"] == 2.0 and "half-life 2 frames" in done.stdout
    rows = StreamPredictor(causal_checkpoint, half_life=2).stream_video(video, pace="fast")
    assert [f["probability"] for f in result["frames"]] == pytest.approx(
        rows["probabilities"].max(-1).tolist(), abs=1e-6
    )
    ema, every = rows["probabilities"], cumulative["probabilities"]
    np.testing.assert_allclose(ema[:3], every[:3], atol=1e-6)
    assert np.abs(ema[3:] - every[3:]).max() > 1e-4
    assert "half-life 2 frames" in format_stream({**rows, "top_k": [], "video": video})


def test_stream_with_several_frames_per_step_shows_the_last_steps(
    causal_checkpoint, video, tmp_path
):
    """``--stream_frames_per_step=4``: a frame shows what a live viewer sees after it, the
    probabilities after the last step (those of the one-frame stream at that step's last
    frame), none before the first step; the JSON and the summary line say so."""
    single = StreamPredictor(causal_checkpoint).stream_video(video, pace="fast")["probabilities"]
    rows = StreamPredictor(causal_checkpoint, frames_per_step=4).stream_video(video, pace="fast")
    assert rows["frames_per_step"] == 4 and rows["frames_seen"] == 20 == rows["num_frames"]
    got = rows["probabilities"]
    assert np.isnan(got[:3]).all()
    for t in range(3, 20):
        np.testing.assert_allclose(got[t], single[t - (t + 1) % 4], atol=1e-5)
    predictions = tmp_path / "stream.json"
    done = run_cli(
        "predict.py",
        f"--checkpoint={causal_checkpoint}",
        f"--input={video}",
        "--stream",
        "--pace=fast",
        "--stream_frames_per_step=4",
        f"--output={predictions}",
    )
    assert done.returncode == 0, done.stderr
    (result,) = json.loads(predictions.read_text())["predictions"]
    assert [f["label"] for f in result["frames"][:3]] == [None] * 3
    assert [f["probability"] for f in result["frames"][3:]] == pytest.approx(
        got[3:].max(-1).tolist(), abs=1e-6
    )
    assert result["frames_per_step"] == 4 and result["step_ms"] > 0
    assert "after 20 of 20 frames" in done.stdout and "4 per step" in done.stdout


@pytest.mark.parametrize(
    "flags,match",
    [
        (["--stream", "--stream_half_life=-3"], "Received: --stream_half_life=-3.0"),
        (["--stream_half_life=3"], "--stream_half_life applies to --stream"),
        (["--stream", "--stream_frames_per_step=0"], "Received: --stream_frames_per_step=0"),
        (["--stream_frames_per_step=2"], "--stream_frames_per_step applies to --stream"),
    ],
)
def test_a_bad_half_life_is_refused_before_tensorflow(causal_checkpoint, video, flags, match):
    done = run_cli("predict.py", f"--checkpoint={causal_checkpoint}", f"--input={video}", *flags)
    assert done.returncode == 2 and match in error_line(done)


def test_stream_refuses_a_model_that_is_not_causal(tmp_path, video):
    from xwisenet_tf.models import get_model

    path = tmp_path / "clip.keras"
    get_model("xwisenet", 6, (8, 32, 32, 3), width=0.5, stage_repeats=(1, 1, 1)).save(path)
    done = run_cli("predict.py", f"--checkpoint={path}", f"--input={video}", "--stream")
    assert done.returncode == 2
    assert "cannot stream: the model is not causal" in error_line(done)
    assert "xwisenet-stream" in error_line(done)


def test_a_missing_camera_is_named(causal_checkpoint):
    assert is_camera("/dev/video7") and is_camera("avfoundation:0") and not is_camera("a.mp4")
    with pytest.raises(DataError, match="/dev/video97: no camera here"):
        next(camera_frames("/dev/video97"))
    done = run_cli(
        "predict.py", f"--checkpoint={causal_checkpoint}", "--input=/dev/video97", "--stream"
    )
    assert done.returncode == 1  # the input failed, named on stderr
    assert "/dev/video97: no camera here" in done.stderr


def test_live_line_prints_label_changes_off_a_terminal():
    import io

    out = io.StringIO()
    line = LiveLine(["a", "b"], 2, out)
    for index, p in enumerate([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.2, 0.8]]):
        line(index, index / 10, np.asarray(p))
    line.close()
    printed = out.getvalue().splitlines()
    assert [row.split()[4] for row in printed] == ["a", "b", "b"]
    assert printed[-1].split()[3] == "3"


def test_stream_on_a_real_kth_video(causal_checkpoint, tmp_path):
    videos = sorted(KTH_DIR.rglob("*.avi")) if KTH_DIR.is_dir() else []
    if not videos:
        pytest.skip(f"real KTH videos not found at {KTH_DIR}")
    annotated = tmp_path / "kth.mp4"
    done = run_cli(
        "predict.py",
        f"--checkpoint={causal_checkpoint}",
        f"--input={videos[0]}",
        "--stream",
        "--pace=fast",
        f"--output={annotated}",
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    source, _ = _decode(videos[0])
    frames, info = _decode(annotated)
    assert frames.shape == source.shape
    assert info["size"] == (source.shape[2], source.shape[1])
