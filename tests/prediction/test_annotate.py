"""Issue 16, ``predict.py --output=annotated.mp4``: the input video with the top labels and a
probability bar per label drawn on every frame, at the input's frame count, size and rate; the
pixels outside the panel stay the input's."""

from __future__ import annotations

import json
import os
from pathlib import Path

import av
import keras
import numpy as np
import pytest

from tests.training.conftest import KTH_DIR, error_line, run_cli
from xwisenet_tf.data.errors import DataError
from xwisenet_tf.prediction.annotate import ClipProbabilities, annotate_video
from xwisenet_tf.prediction.clip_timeline import ClipSpan, VideoScores
from xwisenet_tf.prediction.inputs import split_outputs
from xwisenet_tf.prediction.overlay import Overlay
from xwisenet_tf.prediction.predictor import Predictor
from xwisenet_tf.training.errors import TrainingError
from xwisenet_tf.training.metadata import write_metadata

NAMES = ["boxing", "handclapping", "handwaving", "jogging", "running", "walking"]


def _frames(num_frames: int, width: int, height: int) -> np.ndarray:
    """A smooth gradient with a bar moving one column per frame (every frame differs)."""
    gradient = np.linspace(30, 220, width).astype(np.uint8)
    frames = np.empty((num_frames, height, width, 3), np.uint8)
    frames[:] = gradient[None, None, :, None]
    for t in range(num_frames):
        frames[t, :, t % (width - 6) : t % (width - 6) + 6] = (230, 120, 30)
    return frames


def _write(path, frames: np.ndarray, codec: str = "libx264", fps: int = 25) -> str:
    """Writes ``frames`` near-losslessly with PyAV (any size, odd ones with ``mpeg4``)."""
    with av.open(os.fspath(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "10"} if codec == "libx264" else {"qmin": "1", "qmax": "2"}
        for frame in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(stream.encode(None))
    return os.fspath(path)


def _decode(path) -> tuple[np.ndarray, dict]:
    """Every frame of a video as RGB, and its stream's rate, codec and size."""
    with av.open(os.fspath(path)) as container:
        stream = container.streams.video[0]
        frames = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(stream)])
        info = {
            "fps": float(stream.average_rate),
            "codec": stream.codec_context.name,
            "size": (stream.codec_context.width, stream.codec_context.height),
        }
    return frames, info


def _panel_mask(width: int, height: int, names=NAMES, margin: int = 2) -> np.ndarray:
    """True on the panel's box and a few pixels around it (4:2:0 chroma and codec blocks)."""
    x0, y0, x1, y1 = Overlay(width, height, names).box
    mask = np.zeros((height, width), bool)
    mask[max(0, y0 - margin) : y1 + margin, max(0, x0 - margin) : x1 + margin] = True
    return mask


def _assert_drawn_only_on_the_panel(source, annotated, names=NAMES, codec_loss: float = 2.0):
    """The panel's pixels differ from the source on every frame; the others match it, up to
    the re-encoding's loss (mean absolute difference in 0-255 levels; `Overlay.draw` itself
    changes nothing outside the panel: `test_long_labels_fit_small_frames`)."""
    height, width = source.shape[1:3]
    x0, y0, x1, y1 = Overlay(width, height, names).box
    diff = np.abs(annotated.astype(np.int16) - source.astype(np.int16))
    outside = diff[:, ~_panel_mask(width, height, names)]
    assert outside.mean() < codec_loss, outside.mean()
    inside = diff[:, y0:y1, x0:x1].reshape(len(source), -1).mean(axis=1)
    assert inside.min() > 20, inside.min()  # on every frame


def tiny_checkpoint(folder, preset: str = "xwisenet") -> str:
    """A tiny `preset` on 8x32x32 clips (random weights), trained at 12.5 fps as recorded in
    its metadata: a 25 fps video is read at half its rate, a clip spans 16 source frames."""
    from xwisenet_tf.models import get_model

    keras.utils.set_random_seed(0)
    model = get_model(preset, 6, (8, 32, 32, 3), width=0.5, stage_repeats=(1, 1, 1))
    path = folder / "model.keras"
    model.save(path)
    write_metadata(path, {"class_names": NAMES, "input": {"frame_stride": 1, "fps": 12.5}})
    return os.fspath(path)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> str:
    return tiny_checkpoint(tmp_path_factory.mktemp("annotate"))


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> str:
    """40 frames of 160x120 (KTH's size) at 25 fps, H.264."""
    return _write(tmp_path_factory.mktemp("videos") / "input.mp4", _frames(40, 160, 120))


def test_predict_cli_writes_the_annotated_video_and_the_json(checkpoint, video, tmp_path):
    annotated, predictions = tmp_path / "out" / "annotated.mp4", tmp_path / "pred.json"
    done = run_cli(
        "predict.py",
        f"--checkpoint={checkpoint}",
        f"--input={video}",
        f"--output={annotated}",
        f"--output={predictions}",
        "--noprogress",
    )
    assert done.returncode == 0, done.stderr
    assert f"annotated video: {annotated} (40 frames, 160x120, 25 fps, libx264)" in done.stdout
    source, _ = _decode(video)
    frames, info = _decode(annotated)
    assert frames.shape == source.shape == (40, 120, 160, 3)
    assert info == {"fps": 25.0, "codec": "h264", "size": (160, 120)}
    _assert_drawn_only_on_the_panel(source, frames)
    (result,) = json.loads(predictions.read_text())["predictions"]
    assert result["annotated"] == [
        {
            "path": str(annotated),
            "num_frames": 40,
            "width": 160,
            "height": 120,
            "fps": 25.0,
            "codec": "libx264",
            "padded": False,
        }
    ]
    # The JSON is today's otherwise: 20 timeline frames at the model's 12.5 fps, 3 clips.
    assert result["num_frames"] == 20 and len(result["clips"]) == 3
    assert not list(annotated.parent.glob("*.partial*"))


def test_predict_cli_refuses_bad_outputs(checkpoint, video, tmp_path):
    """An unknown extension, or a video output for several videos: exit 2, one line, before
    any video is read (nothing written)."""
    unknown = run_cli(
        "predict.py", f"--checkpoint={checkpoint}", f"--input={video}",
        f"--output={tmp_path / 'out.txt'}",
    )  # fmt: skip
    assert unknown.returncode == 2
    line = error_line(unknown)
    assert "out.txt: unknown output type .txt" in line
    assert ".json" in line and ".mp4, .avi, .mkv, .mov, .webm" in line
    several = run_cli(
        "predict.py", f"--checkpoint={checkpoint}", f"--input={video}", f"--input={video}",
        f"--output={tmp_path / 'out.mp4'}", "--noprogress",
    )  # fmt: skip
    assert several.returncode == 2
    assert "an annotated video is written for one input video; received 2" in error_line(several)
    assert not list(tmp_path.iterdir())


def test_split_outputs():
    assert split_outputs(["a.json", "b.MP4", "c.webm", "d.Json"]) == (
        ["a.json", "d.Json"],
        ["b.MP4", "c.webm"],
    )
    assert split_outputs([]) == ([], [])
    for bad in ("out", "out.gif", "out.json.bak"):
        with pytest.raises(TrainingError, match="unknown output type"):
            split_outputs([bad])


def test_each_frame_gets_the_clip_that_covers_its_time():
    """Clips at the model's 12.5 fps, frames at 25 fps: a clip of 8 covers 16 source frames;
    the loop-padded last clip covers the frames after the full ones."""
    scores = VideoScores(
        scores=np.eye(6)[[0, 3, 5]],
        clips=[ClipSpan(0, 7, False, True), ClipSpan(8, 15, False, True), ClipSpan(16, 19, True, False)],
        num_frames=20,
        fps=12.5,
        source_fps=25.0,
        fps_from="model",
    )  # fmt: skip
    mapping = ClipProbabilities(scores)
    clips = [mapping.clip_index(i / 25) for i in range(45)]
    assert clips == [0] * 16 + [1] * 16 + [2] * 13  # past the end: the last clip
    np.testing.assert_array_equal(mapping(17, 17 / 25), np.eye(6)[3])
    # At the timeline's own rate, frame i is slot i (exact times stay in their slot).
    same = ClipProbabilities(VideoScores(scores.scores, scores.clips, 20, 30000 / 1001, 0, "x"))
    assert [same.clip_index(i * 1001 / 30000) for i in (7, 8, 15, 16)] == [0, 1, 1, 2]


def test_the_panel_shows_the_clip_of_each_frame(video, tmp_path):
    """Frames 0-15 show the first clip's labels, 16-31 the second's: the annotated frame is the
    source frame with that clip's panel (`Overlay.draw`), up to codec loss."""
    confident = np.full((2, 6), 0.01)
    confident[0, 0] = confident[1, 5] = 0.95
    scores = VideoScores(
        confident, [ClipSpan(0, 7, False, True), ClipSpan(8, 19, True, True)], 20, 12.5, 25.0, "model"
    )  # fmt: skip
    out = annotate_video(video, tmp_path / "clips.mkv", NAMES, ClipProbabilities(scores))
    source, _ = _decode(video)
    frames, info = _decode(out.path)
    assert (out.num_frames, out.codec, info["codec"]) == (40, "libx264", "h264")
    overlay = Overlay(160, 120, NAMES)
    x0, y0, x1, y1 = overlay.box
    for index in (0, 15, 16, 39):
        panels = [overlay.draw(source[index], p)[y0:y1, x0:x1].astype(int) for p in confident]
        errors = [np.abs(frames[index, y0:y1, x0:x1] - panel).mean() for panel in panels]
        expected = 0 if index < 16 else 1
        # Codec loss on the text's edges: a few levels; the other clip's panel: many more.
        assert errors[expected] < 8 and errors[1 - expected] > 2 * errors[expected], (index, errors)


def test_odd_sizes_keep_their_size(tmp_path):
    """65x49: H.264 4:2:0 cannot store it, so MPEG-4 part 2 (or VP9 in WebM) keeps the exact
    size; libx264 asked for by name pads one row and one column."""
    frames = _frames(12, 65, 49)
    source = _write(tmp_path / "odd.avi", frames, codec="mpeg4")
    decoded, _ = _decode(source)
    probabilities = np.random.default_rng(0).dirichlet(np.ones(6), size=12)
    for name, codec in (("odd.mp4", "mpeg4"), ("odd.webm", "vp9")):
        out = annotate_video(source, tmp_path / name, NAMES, probabilities)
        annotated, info = _decode(out.path)
        assert (out.width, out.height, out.padded) == (65, 49, False)
        assert info["size"] == (65, 49) and info["codec"] == codec
        assert annotated.shape == decoded.shape
        _assert_drawn_only_on_the_panel(decoded, annotated)
    padded = annotate_video(source, tmp_path / "pad.mp4", NAMES, probabilities, codec="libx264")
    annotated, info = _decode(padded.path)
    assert padded.padded and info["size"] == (66, 50) and len(annotated) == 12
    _assert_drawn_only_on_the_panel(decoded, annotated[:, :49, :65], codec_loss=3.0)
    for copy, last in (
        (annotated[:, 49], annotated[:, 48]),
        (annotated[:, :, 65], annotated[:, :, 64]),
    ):
        assert np.abs(copy.astype(int) - last).mean() < 3  # the copied row and column


def test_probabilities_as_an_iterator_or_an_array(video, tmp_path):
    """One vector per decoded frame: a generator (as a stream yields them; extra items are
    not read), an array of exactly one row per frame; ``None`` draws no panel."""
    source, _ = _decode(video)
    rng = np.random.default_rng(1)
    rows = rng.dirichlet(np.ones(6), size=45)

    def stream():
        yield None  # nothing to show yet
        yield from rows

    out = annotate_video(video, tmp_path / "stream.avi", NAMES, stream())
    annotated, _ = _decode(out.path)
    assert len(annotated) == 40
    assert np.abs(annotated[0].astype(int) - source[0]).mean() < 2  # the first frame as it was
    _assert_drawn_only_on_the_panel(source[1:], annotated[1:])

    with pytest.raises(ValueError, match="41 rows for the 40 frames"):
        annotate_video(video, tmp_path / "long.mp4", NAMES, rows[:41])
    with pytest.raises(ValueError, match="has 39 rows; the video has more frames"):
        annotate_video(video, tmp_path / "short.mp4", NAMES, rows[:39])
    with pytest.raises(ValueError, match="ended after 10 frames"):
        annotate_video(video, tmp_path / "ended.mp4", NAMES, iter(rows[:10]))
    with pytest.raises(ValueError, match="5 probabilities for 6 classes"):
        annotate_video(video, tmp_path / "classes.mp4", NAMES, rows[:40, :5])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stream.avi"]  # no partial file left


def test_bad_files_are_data_errors(video, tmp_path):
    rows = np.full((40, 6), 1 / 6)
    with pytest.raises(DataError, match="not a video file name"):
        annotate_video(video, tmp_path / "out.gif", NAMES, rows)
    with pytest.raises(DataError, match="is the input video"):
        annotate_video(video, video, NAMES, rows)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video")
    with pytest.raises(DataError, match="junk.mp4"):
        annotate_video(junk, tmp_path / "out.mp4", NAMES, rows)
    assert not (tmp_path / "out.mp4").exists()


@pytest.mark.parametrize(
    ("width", "height", "font"),
    [(160, 120, 7), (320, 240, 7), (640, 480, 14), (1280, 720, 22), (1920, 1080, 32)],
)
def test_the_panel_scales_with_the_frame_height(width, height, font):
    """A font of 3% of the height, at least 7 px; the panel holds three rows and stays inside
    the frame, in the top third of its left part (it covered 39% of the height and 59% of the
    width of KTH's 160x120 frames, the actor's head and hands)."""
    overlay = Overlay(width, height, NAMES)
    x0, y0, x1, y1 = overlay.box
    assert overlay.font_size == font and overlay.top_k == 3
    assert 0 < x0 < x1 <= width and 0 < y0 < y1 <= height
    assert y1 - y0 >= 3 * font and y1 <= height / 3 and x1 <= 0.4 * width


def test_long_labels_fit_small_frames():
    overlay = Overlay(64, 48, ["a rather long class name indeed", "b"])
    assert overlay.box[2] <= 64 and overlay.top_k == 2 and overlay.font_size == 6
    assert overlay._labels[0].endswith("...")
    frame = overlay.draw(np.zeros((48, 64, 3), np.uint8), [0.7, 0.3])
    x0, y0, x1, y1 = overlay.box
    assert frame[y0:y1, x0:x1].any() and not frame[y1:].any() and not frame[:, x1:].any()


def test_annotates_a_real_kth_avi(checkpoint, tmp_path):
    """A real KTH file (original MPEG-4 AVI, grayscale, 160x120 at 25 fps) through prediction:
    the annotated video has its frame count and size."""
    avi = Path(KTH_DIR) / "handclapping" / "person01_handclapping_d1_uncomp.avi"
    if not avi.is_file():
        pytest.skip(f"real KTH slice not found at {Path(KTH_DIR).resolve()}")
    source, source_info = _decode(avi)
    out = tmp_path / "kth.mp4"
    result = Predictor(checkpoint).predict_video(avi, top_k=3, annotate=[out])
    frames, info = _decode(out)
    assert frames.shape == source.shape and frames.shape[1:] == (120, 160, 3)
    assert info["size"] == source_info["size"] == (160, 120)
    assert info["fps"] == source_info["fps"] == 25.0
    assert result["annotated"][0]["num_frames"] == len(source)
    # Camera noise costs H.264 at CRF 18 about 2.2 levels (the same without the panel).
    _assert_drawn_only_on_the_panel(source, frames, codec_loss=3.0)
