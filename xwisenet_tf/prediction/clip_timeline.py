"""A video's timeline of clips as prediction cuts it (`xwisenet_tf.prediction.predictor`): the
rate it is read at (`parse_fps`), where each clip lies (`ClipSpan`), the clips' scores
(`VideoScores`, averaged over the clips evaluation counts, sec. IV-C) and the cutting of a
stream of frames into clips (`iter_clip_frames`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from xwisenet_tf.data.errors import DataError
from xwisenet_tf.data.frames import StoredFrame
from xwisenet_tf.data.timeline import as_rate
from xwisenet_tf.training.errors import TrainingError

# Values of the ``fps`` option besides a number of frames per second.
FPS_MODEL = "model"  # the rate the model was trained at (the video's own when unknown)
FPS_SOURCE = "source"  # the video's own nominal rate


def parse_fps(value: str | float | None) -> str | float:
    """Reads the ``fps`` option: `FPS_MODEL`, `FPS_SOURCE` or a frame rate.

    Args:
        value: ``"model"`` (or ``None``), ``"source"``, or frames per second as a number or a
            string (``25``, ``"29.97"``).

    Returns:
        `FPS_MODEL`, `FPS_SOURCE` or a positive float.

    Raises:
        TrainingError: anything else, with the accepted values.
    """
    if value is None:
        return FPS_MODEL
    text = str(value).strip().lower()
    if text in (FPS_MODEL, FPS_SOURCE):
        return text
    try:
        return float(as_rate(value if isinstance(value, int | float) else text))
    except DataError as e:
        raise TrainingError(
            f"fps must be '{FPS_MODEL}' (the rate the model was trained at), '{FPS_SOURCE}' "
            f"(each video's own rate) or a frame rate in frames per second; received {value!r}"
        ) from e


@dataclass(frozen=True)
class ClipSpan:
    """Where a clip of the timeline lies in the video.

    Attributes:
        start: First frame (0-based, on the timeline).
        end: Last frame of the video in the clip (inclusive).
        padded: The clip holds fewer than ``num_frames * frame_stride`` frames of the video and
            was loop-padded (the last partial clip, or a video shorter than one clip).
        in_video_score: Averaged into the video's scores (as evaluation counts it): every full
            clip, and the only clip of a video shorter than one clip; not the last partial
            clip after full ones.
    """

    start: int
    end: int
    padded: bool
    in_video_score: bool


@dataclass(frozen=True)
class VideoScores:
    """The clip scores of one video (`Predictor.score_video`).

    Attributes:
        scores: ``(clips, classes)`` softmax scores, one row per entry of ``clips``.
        clips: Where each clip lies.
        num_frames: Frames of the video's timeline.
        fps: Rate of the timeline (frames per second).
        source_fps: The video's nominal rate (0.0 when its container does not say).
        fps_from: ``"model"`` (the model's training rate), ``"source"`` (the video's own rate:
            asked for, or the model records none) or ``"requested"`` (a rate asked for).
    """

    scores: np.ndarray
    clips: list[ClipSpan]
    num_frames: int
    fps: float
    source_fps: float
    fps_from: str

    @property
    def video_scores(self) -> np.ndarray:
        """Mean of the scores of the clips with ``in_video_score`` (sec. IV-C)."""
        counted = [c.in_video_score for c in self.clips]
        return self.scores[np.asarray(counted, bool)].mean(axis=0)


def iter_clip_frames(frames: Iterable[StoredFrame], span: int) -> Iterator[tuple[int, list[bytes]]]:
    """Cuts a stream of stored frames into non-overlapping runs of ``span`` frames.

    Consumes ``frames`` lazily: a run is yielded as soon as its last frame arrives.

    Yields:
        ``(start, jpegs)``: the first frame's index and the run's JPEGs, ``span`` of them
        except in a last, shorter run holding the frames after the last full one.
    """
    buffer: list[bytes] = []
    start = 0
    for frame in frames:
        if not buffer:
            start = frame.index
        buffer.append(frame.jpeg)
        if len(buffer) == span:
            yield start, buffer
            buffer = []
    if buffer:
        yield start, buffer


def timeline_rate(info, fps: str | float, model_fps: float | None) -> tuple[float, str]:
    """The rate a video is read at, and why: ``(rate, fps_from)`` as in `VideoScores`.

    Args:
        info: The video's `xwisenet_tf.data.decode.probe_video` info.
        fps: `FPS_MODEL`, `FPS_SOURCE` or a rate (`parse_fps`).
        model_fps: The model's training rate (`xwisenet_tf.training.metadata.trained_fps`);
            ``None`` reads `FPS_MODEL` videos at their own rate.

    The video's own rate is its nominal rate (or the decoder's default).
    """
    from xwisenet_tf.data.decode import timeline_fps

    if fps == FPS_MODEL:
        if model_fps is None:
            return timeline_fps(info), FPS_SOURCE
        return model_fps, FPS_MODEL
    if fps == FPS_SOURCE:
        return timeline_fps(info), FPS_SOURCE
    return float(fps), "requested"
