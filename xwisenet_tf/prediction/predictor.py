"""Action labels for video files: top-k over the whole video and a per-clip timeline.

A video is read the way evaluation reads it (sec. IV-C), through the frame path conversion
and evaluation share (`xwisenet_tf.data.frames`): decoded onto a constant-rate timeline at the
frame rate the model was trained at (`FPS_MODEL`, the default; `FPS_SOURCE` keeps the video's
own rate, a number asks for that rate), resized to the training data's short side and
JPEG-encoded at its quality exactly as ``prepare`` stores frames, then cut into
non-overlapping clips of ``num_frames`` frames, each centre-cropped at scale 1, resized and
normalised. A video of a prepared split thus gets the per-clip scores ``evaluate.py`` computes
(when the split stores it at the model's rate: always, except for data prepared without
``--fps`` from videos of different rates, whose model rate is their median; `FPS_SOURCE` then
reads each video as it was stored).

The clips' softmax scores are averaged into the video's scores, over the clips evaluation
counts: every full clip, or the one loop-padded clip of a video shorter than a clip. The
frames after the last full clip, which evaluation leaves out, still get a clip on the
timeline: loop-padded like evaluation pads a short video, marked ``padded`` and left out of
the video's score (``in_video_score: false``), so the timeline covers the whole video and the
video's scores stay those of evaluation.

Decoding is streamed clip by clip (only the current clip's frames and one batch of clips are
held), so a video of any length runs in bounded memory. Works with a ``.keras`` checkpoint or a
``.tflite`` export; the class names, the clip format and the training frames' format come from
the model's metadata (`xwisenet_tf.training.metadata`). A model whose metadata records no
frame rate (written before it was recorded) reads videos at their own rate.

``annotate=`` also writes the video with each frame's top labels and probability bars drawn on
it, those of the clip covering the frame (`xwisenet_tf.prediction.annotate`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from xwisenet_tf.data.decode import VideoInfo, probe_video
from xwisenet_tf.data.errors import DataError
from xwisenet_tf.data.frames import eval_clip, stored_frames
from xwisenet_tf.data.pipeline import MEAN_RGB, STD_RGB
from xwisenet_tf.prediction.annotate import ClipProbabilities, annotate_video, check_video_output
from xwisenet_tf.prediction.clip_timeline import (  # noqa: F401 - documented here too
    FPS_MODEL,
    FPS_SOURCE,
    ClipSpan,
    VideoScores,
    iter_clip_frames,
    parse_fps,
    timeline_rate,
)
from xwisenet_tf.prediction.inputs import find_sources
from xwisenet_tf.training.errors import TrainingError
from xwisenet_tf.training.metadata import trained_fps
from xwisenet_tf.training.model_metadata import read_model_metadata

# JPEG quality of models whose metadata does not record it: the conversion's default.
_DEFAULT_JPEG_QUALITY = 90


class Predictor:
    """A loaded model with what it needs to read videos.

    Args:
        path: A ``.keras`` checkpoint or a ``.tflite`` model.
        num_threads: TFLite interpreter threads.

    Raises:
        TrainingError: missing or unreadable model, unknown extension, bad metadata.
    """

    def __init__(self, path: str | os.PathLike, num_threads: int | None = None):
        from xwisenet_tf.training import checkpoint

        self.path = os.fspath(path)
        self._forward = None
        if not os.path.isfile(self.path):
            raise TrainingError(f"{self.path}: model not found; expected a .keras or .tflite file")
        extension = os.path.splitext(self.path)[1].lower()
        if extension == ".keras":
            self._model = checkpoint.load_checkpoint(self.path)
            shape = tuple(self._model.inputs[0].shape)
            num_classes = int(self._model.outputs[0].shape[-1])
            self._run = self._run_keras
        elif extension == ".tflite":
            from xwisenet_tf.tflite_runner import TFLiteRunner

            try:
                self._runner = TFLiteRunner(path=self.path, num_threads=num_threads)
            except (ValueError, RuntimeError) as e:
                raise TrainingError(f"{self.path}: not a readable TFLite model ({e})") from e
            shape = tuple(int(d) for d in self._runner.input["shape"])
            num_classes = int(self._runner.output["shape"][-1])
            self._run = self._run_tflite
        else:
            raise TrainingError(
                f"{self.path}: unknown model format {extension!r}; expected .keras or .tflite"
            )
        checkpoint.check_clip_input([shape], self.path, square=True)
        self.num_frames, self.image_size = int(shape[1]), int(shape[2])
        metadata = read_model_metadata(self.path)
        self.class_names = checkpoint.class_names(metadata, num_classes, self.path)
        meta = metadata.get("input") or {}
        self.frame_stride = int(meta.get("frame_stride") or 1)
        self.short_side = meta.get("short_side")
        self.jpeg_quality = int(meta.get("jpeg_quality") or _DEFAULT_JPEG_QUALITY)
        # The rate of the training clips; None for models that do not record it.
        self.fps = trained_fps(metadata)
        self.fps_note = meta.get("fps_note")
        self.mean = np.asarray(meta.get("mean_rgb", MEAN_RGB), np.float32)
        self.std = np.asarray(meta.get("std_rgb", STD_RGB), np.float32)
        # Exports with in-model preprocessing take 0-255 frames (uint8) and normalise them.
        self.raw_frames = meta.get("normalization") == "in_model"

    def _scores(self, clips: np.ndarray) -> np.ndarray:
        """Class scores of clips of resized 0-255 frames ``(n, T, S, S, 3)``."""
        if self.raw_frames:
            clips = np.clip(np.round(clips), 0, 255)
        else:
            clips = (clips - self.mean) / self.std
        return self._run(clips.astype(np.float32))

    def _view_scores(self, batch: list[list[np.ndarray]]) -> np.ndarray:
        """Scores of clips given as their views, averaged over the views."""
        views = len(batch[0])
        scores = self._scores(np.stack([v for clip in batch for v in clip]))
        return scores.reshape(len(batch), views, -1).mean(axis=1)

    def _run_keras(self, clips: np.ndarray) -> np.ndarray:
        if self._forward is None:
            import tensorflow as tf

            model = self._model
            spec = tf.TensorSpec([None, *model.inputs[0].shape[1:]], model.inputs[0].dtype)
            self._forward = tf.function(lambda x: model(x, training=False), input_signature=[spec])
        clips = clips.astype(self._model.inputs[0].dtype)
        return np.asarray(self._forward(clips), np.float64)

    def _run_tflite(self, clips: np.ndarray) -> np.ndarray:
        runner = self._runner
        dtype = runner.input["dtype"]
        if self.raw_frames and np.issubdtype(dtype, np.integer):
            # 0-255 frames (rounded by `_scores`) go in as they are, never quantised.
            info = np.iinfo(dtype)
            clips = np.clip(clips, info.min, info.max).astype(dtype)
        scores = []
        for clip in clips:
            runner.set_input(clip[None])
            runner.invoke()
            scores.append(runner.get_output(np.float64)[0].astype(np.float64))
        return np.stack(scores)

    def timeline_rate(self, info: VideoInfo, fps: str | float = FPS_MODEL) -> tuple[float, str]:
        """The rate a video is read at, and why.

        Args:
            info: The video's `probe_video` info.
            fps: `FPS_MODEL`, `FPS_SOURCE` or a rate (`parse_fps`).

        Returns:
            ``(rate, fps_from)`` as in `VideoScores`; the rate is the video's nominal rate (or
            the decoder's default) when it is read at its own rate.
        """
        return timeline_rate(info, parse_fps(fps), self.fps)

    def score_video(
        self,
        path: str | os.PathLike,
        batch_size: int = 8,
        fps: str | float = FPS_MODEL,
        progress: bool = False,
        views: str = "none",
    ) -> VideoScores:
        """Scores every clip of a video's timeline (module docstring), streamed.

        Args:
            path: A video file.
            batch_size: Clips per forward pass.
            fps: `FPS_MODEL` (default), `FPS_SOURCE` or a rate (`parse_fps`).
            progress: Show a progress bar (clips) on stderr.
            views: Test-time augmentation (`xwisenet_tf.data.clip_choices.TEST_VIEWS`):
                each clip's scores are the mean over these views, as ``evaluate.py --tta``
                computes them; "none" (default): the centre crop, the paper's.

        Raises:
            DataError: the file is missing or cannot be decoded (named in the message).
        """
        from tqdm.auto import tqdm

        from xwisenet_tf.data.clip_choices import TEST_VIEWS

        path = os.fspath(path)
        if batch_size < 1:
            raise TrainingError(f"batch_size must be >= 1; received {batch_size}")
        if views not in TEST_VIEWS:
            raise TrainingError(f"unknown views {views!r}; expected one of {list(TEST_VIEWS)}")
        clip_views = TEST_VIEWS[views]
        info = probe_video(path)
        rate, fps_from = self.timeline_rate(info, fps)
        # The video's own rate is read as the source's exact rate (29.97 is 30000/1001).
        resample = fps_from != FPS_SOURCE and not (
            info.fps and math.isclose(rate, info.fps, rel_tol=1e-6)
        )
        span = self.num_frames * self.frame_stride
        frames = stored_frames(
            path,
            short_side=self.short_side,
            jpeg_quality=self.jpeg_quality,
            fps=rate if resample else None,
        )
        expected = round(info.duration * rate) if info.duration else 0
        bar = tqdm(
            total=math.ceil(expected / span) if expected else None,
            desc=os.path.basename(path),
            unit="clip",
            disable=not progress,
            leave=False,
        )
        spans: list[ClipSpan] = []
        scores, batch = [], []
        count = 0
        try:
            for start, jpegs in iter_clip_frames(frames, span):
                count = start + len(jpegs)
                padded = len(jpegs) < span
                spans.append(ClipSpan(start, count - 1, padded, not padded or start == 0))
                batch.append(
                    [
                        eval_clip(jpegs, self.num_frames, self.image_size, self.frame_stride, v)
                        for v in clip_views
                    ]
                )
                if len(batch) == batch_size:
                    scores.append(self._view_scores(batch))
                    bar.update(len(batch))
                    batch = []
            if batch:
                scores.append(self._view_scores(batch))
                bar.update(len(batch))
        finally:
            bar.close()
        if not spans:
            raise DataError(f"{path}: no decodable frame; expected a video")
        return VideoScores(
            scores=np.concatenate(scores),
            clips=spans,
            num_frames=count,
            fps=rate,
            source_fps=info.fps,
            fps_from=fps_from,
        )

    def predict_video(
        self,
        path: str | os.PathLike,
        top_k: int = 5,
        batch_size: int = 8,
        fps: str | float = FPS_MODEL,
        progress: bool = False,
        annotate: Sequence[str | os.PathLike] = (),
        views: str = "none",
    ) -> dict:
        """Scores of one video (module docstring).

        Args:
            path: A video file.
            top_k: Labels to list, per video and per clip.
            batch_size: Clips per forward pass.
            fps: `FPS_MODEL` (default), `FPS_SOURCE` or a rate (`parse_fps`).
            progress: Show a progress bar (clips) on stderr.
            annotate: Video files to write the video to with the top 3 labels and their
                probability bars drawn on each frame: those of the clip covering it
                (`xwisenet_tf.prediction.annotate`).
            views: Test-time augmentation (`score_video`).

        Returns:
            ``{"video", "num_frames", "fps", "source_fps", "fps_from", "views", "top_k": [{"label",
            "probability"}...], "clips": [{"index", "start_frame", "end_frame", "start_time",
            "end_time", "padded", "in_video_score", "label", "probability", "top_k"}...]}``;
            frames are 0-based and inclusive on the timeline at ``fps`` frames per second
            (`VideoScores` says where the rate comes from), times in seconds. With
            ``annotate``, also ``"annotated": [{"path", "num_frames", "width", "height", "fps",
            "codec", "padded"}...]``.

        Raises:
            DataError: the file is missing or cannot be decoded, or an annotated video cannot
                be written (named in the message).
        """
        result = self.score_video(path, batch_size, fps, progress, views)
        rate = result.fps
        annotated = [
            annotate_video(
                path, out, self.class_names, ClipProbabilities(result), progress=progress
            )
            for out in annotate
        ]
        return {
            "video": os.fspath(path),
            "num_frames": result.num_frames,
            "fps": rate,
            "source_fps": result.source_fps,
            "fps_from": result.fps_from,
            "views": views,
            "top_k": self._top(result.video_scores, top_k),
            "clips": [
                {
                    "index": i,
                    "start_frame": clip.start,
                    "end_frame": clip.end,
                    "start_time": round(clip.start / rate, 3),
                    "end_time": round((clip.end + 1) / rate, 3),
                    "padded": clip.padded,
                    "in_video_score": clip.in_video_score,
                    "label": self.class_names[int(s.argmax())],
                    "probability": float(s.max()),
                    "top_k": self._top(s, top_k),
                }
                for i, (clip, s) in enumerate(zip(result.clips, result.scores, strict=True))
            ],
        } | ({"annotated": [vars(a) for a in annotated]} if annotated else {})

    def _top(self, scores: np.ndarray, k: int) -> list[dict[str, Any]]:
        order = np.argsort(-scores, kind="stable")[: max(1, k)]
        return [{"label": self.class_names[i], "probability": float(scores[i])} for i in order]


def predict(
    inputs: list[str],
    checkpoint: str,
    top_k: int = 5,
    batch_size: int = 8,
    fps: str | float = FPS_MODEL,
    progress: bool = False,
    annotate: Sequence[str | os.PathLike] = (),
    views: str = "none",
) -> tuple[list[dict], list[str]]:
    """Predicts every video of ``inputs`` (files or folders) with ``checkpoint``.

    A video that cannot be decoded does not stop the others.

    Args:
        inputs: Video files or folders (searched recursively).
        checkpoint: A ``.keras`` checkpoint or a ``.tflite`` model.
        top_k: Labels to list, per video and per clip.
        batch_size: Clips per forward pass.
        fps: `FPS_MODEL` (default), `FPS_SOURCE` or a rate (`parse_fps`).
        progress: Show a progress bar per video on stderr.
        annotate: Video files to write the (one) input video to, annotated
            (`Predictor.predict_video`).
        views: Test-time augmentation (`Predictor.score_video`).

    Returns:
        ``(results, errors)``: one `Predictor.predict_video` dict per readable video and one
        message per video that failed.

    Raises:
        TrainingError: bad arguments, missing inputs, unreadable model, an annotated video
            asked for with more than one input video.
        DataError: an annotated video's name is not a video file name.
    """
    if top_k < 1 or batch_size < 1:
        raise TrainingError(f"top_k and batch_size must be >= 1; received {top_k}, {batch_size}")
    fps = parse_fps(fps)
    annotate = [check_video_output(path) for path in annotate]
    videos = find_sources(inputs, annotate)
    predictor = Predictor(checkpoint)
    results, errors = [], []
    for video in videos:
        try:
            results.append(
                predictor.predict_video(video, top_k, batch_size, fps, progress, annotate, views)
            )
        except DataError as e:
            errors.append(" ".join(str(e).split()))
    return results, errors


_FPS_FROM = {
    FPS_MODEL: "the model's training rate",
    FPS_SOURCE: "the video's own rate",
    "requested": "as requested",
}


def format_prediction(result: dict) -> str:
    """What ``predict.py`` prints for one video."""
    top = ", ".join(f"{t['label']} {t['probability']:.2f}" for t in result["top_k"])
    rate = f"{result['fps']:.4g} fps, {_FPS_FROM.get(result.get('fps_from'), 'rate')}"
    source = result.get("source_fps")
    if source and not math.isclose(source, result["fps"], rel_tol=1e-6):
        rate += f"; resampled from {source:.4g} fps"
    lines = [
        f"{result['video']}: {top}   ({len(result['clips'])} clips, {result['num_frames']} "
        f"frames at {rate})"
    ]
    for clip in result["clips"]:
        line = (
            f"  clip {clip['index']:>3}  {clip['start_time']:7.2f}-{clip['end_time']:7.2f} s  "
            f"frames {clip['start_frame']}-{clip['end_frame']}  {clip['label']} "
            f"{clip['probability']:.2f}"
        )
        if clip.get("padded"):
            line += "  (loop-padded"
            line += ")" if clip.get("in_video_score") else "; not in the video's score)"
        lines.append(line)
    for video in result.get("annotated", []):
        padded = "; padded by one pixel to an even size" if video["padded"] else ""
        lines.append(
            f"  annotated video: {video['path']} ({video['num_frames']} frames, "
            f"{video['width']}x{video['height']}, {video['fps']:.4g} fps, {video['codec']}{padded})"
        )
    return "\n".join(lines)
