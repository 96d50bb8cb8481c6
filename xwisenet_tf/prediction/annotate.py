"""Annotated videos: the input video with the top labels and their probability bars drawn on
every frame, so a user can look at what the model saw (``predict.py --output=annotated.mp4``).

`annotate_video` decodes the source frame by frame at its own rate and size (upright, as
`xwisenet_tf.data` reads it: a display-matrix rotation is applied), draws the panel of
`xwisenet_tf.prediction.overlay` on each frame and encodes it as it comes (bounded memory, any
length) with `xwisenet_tf.prediction.video_writer`: the source's frame count, width x height
(odd sizes included) and nominal frame rate, H.264 (``libx264``, else ``mpeg4``) in ``.mp4``,
``.mkv``, ``.mov``, ``.avi`` and VP9 in ``.webm``, yuv420p.

What to draw comes from per-frame probabilities: an array ``(num_frames, num_classes)``, an
iterable yielding one vector per decoded frame (what a streaming recognizer produces), or a
function of the frame's index and time (seconds from the first frame). `ClipProbabilities` is
the one of clip-mode prediction: each frame gets the scores of the clip of the prediction's
timeline that covers its time (the timeline runs at the model's rate, the source may run at
another). The pieces work alone too, e.g. for live video: `Overlay` draws on an RGB frame,
`VideoWriter` encodes RGB frames.

Imports neither TensorFlow nor Keras.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import av
import numpy as np

from xwisenet_tf.data.decode import (
    DEFAULT_FPS,
    _nominal_rate,
    _quarter_turns,
    probe_video,
    timestamped_frames,
)
from xwisenet_tf.data.errors import DataError
from xwisenet_tf.prediction.overlay import TOP_K, Overlay
from xwisenet_tf.prediction.video_writer import (
    VIDEO_OUTPUT_EXTENSIONS,
    VideoWriter,
    check_video_output,
    choose_encoder,
)

if TYPE_CHECKING:
    from xwisenet_tf.prediction.clip_timeline import VideoScores

__all__ = [
    "TOP_K",
    "VIDEO_OUTPUT_EXTENSIONS",
    "AnnotatedVideo",
    "ClipProbabilities",
    "Overlay",
    "VideoWriter",
    "annotate_video",
    "check_video_output",
    "choose_encoder",
]

FrameProbabilities = (
    np.ndarray | Iterable[Any] | Callable[[int, float], "np.ndarray | Sequence[float] | None"]
)


@dataclass(frozen=True)
class AnnotatedVideo:
    """What `annotate_video` wrote.

    Attributes:
        path: The output file.
        num_frames: Frames written (the source's decoded frames).
        width: Frame width in pixels (the source's, upright).
        height: Frame height in pixels.
        fps: Frame rate (the source's nominal rate).
        codec: The encoder used (``libx264``, ``mpeg4``, ``libvpx-vp9``...).
        padded: The frames were padded by one row or column to an even size
            (`xwisenet_tf.prediction.video_writer`); the stored size is then one more than
            ``width`` or ``height`` on that side.
    """

    path: str
    num_frames: int
    width: int
    height: int
    fps: float
    codec: str
    padded: bool


class ClipProbabilities:
    """Per-frame probabilities of clip-mode prediction: a frame at ``time`` seconds (from the
    first frame) gets the scores of the clip whose span on the prediction's timeline covers
    that time.

    The timeline is at ``scores.fps`` (the model's rate, by default) and starts at the first
    frame, as the source's frames do; clip ``c`` covers the times
    ``[c.start / fps, (c.end + 1) / fps)``. A time past the last clip gets the last clip's
    scores.

    Args:
        scores: `Predictor.score_video`'s result.
    """

    def __init__(self, scores: VideoScores):
        if not len(scores.clips):
            raise ValueError("no clip scores")
        self.fps = float(scores.fps)
        self.scores = np.asarray(scores.scores)
        self._starts = np.asarray([clip.start for clip in scores.clips])

    def clip_index(self, time: float) -> int:
        """The clip covering ``time`` seconds from the first frame."""
        slot = math.floor(max(0.0, time) * self.fps + 1e-6)  # exact slot times stay on theirs
        return int(
            np.clip(np.searchsorted(self._starts, slot, "right") - 1, 0, len(self._starts) - 1)
        )

    def __call__(self, index: int, time: float) -> np.ndarray:
        return self.scores[self.clip_index(time)]


def _probability_source(probabilities: FrameProbabilities) -> Callable[[int, float], Any]:
    """Turns an array, an iterable or a function into ``f(index, time)``."""
    if callable(probabilities):
        return probabilities
    if isinstance(probabilities, np.ndarray):
        if probabilities.ndim != 2:
            raise ValueError(
                f"probabilities must be (num_frames, num_classes); received {probabilities.shape}"
            )

        def row(index: int, time: float):
            if index >= len(probabilities):
                raise ValueError(
                    f"probabilities has {len(probabilities)} rows; the video has more frames"
                )
            return probabilities[index]

        row.rows = len(probabilities)  # type: ignore[attr-defined]
        return row
    iterator: Iterator[Any] = iter(probabilities)

    def following(index: int, time: float):
        try:
            return next(iterator)
        except StopIteration:
            raise ValueError(
                f"the probabilities ended after {index} frames; the video has more"
            ) from None

    return following


def _decoded_frames(path: str) -> Iterator[tuple[av.VideoFrame, float]]:
    """The video's frames in presentation order, each with its time in seconds from the first
    (a frame without timestamp: one nominal interval after the previous)."""
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        interval = 1 / (_nominal_rate(stream) or Fraction(DEFAULT_FPS))
        origin = previous = None
        for frame, stamp in timestamped_frames(path, container, stream):
            if stamp is not None:
                origin = stamp if origin is None else origin
                time = stamp - origin
            else:
                time = Fraction(0) if previous is None else previous + interval
            time = time if previous is None else max(time, previous)
            previous = time
            yield frame, float(time)


def annotate_video(
    video: str | os.PathLike,
    output: str | os.PathLike,
    class_names: Sequence[str],
    probabilities: FrameProbabilities,
    *,
    top_k: int = TOP_K,
    codec: str | None = None,
    progress: bool = False,
) -> AnnotatedVideo:
    """Writes ``video`` with the top labels and probability bars drawn on every frame.

    Args:
        video: The source video (any container and codec FFmpeg reads).
        output: The annotated video; its extension picks the format (`VIDEO_OUTPUT_EXTENSIONS`).
        class_names: The classes, in the order of the probability vectors.
        probabilities: Per decoded frame of ``video``, one vector of ``len(class_names)``
            probabilities (``None`` for a frame draws no panel): an array
            ``(num_frames, num_classes)`` with exactly one row per frame, an iterable yielding
            one vector per frame (extra items are not read), or a function
            ``f(index, time)`` of the frame's index and its time in seconds from the first
            frame (`ClipProbabilities` for clip-mode prediction).
        top_k: Labels drawn per frame.
        codec: An encoder to use instead of the extension's (`choose_encoder`).
        progress: Show a progress bar (frames) on stderr.

    Returns:
        An `AnnotatedVideo`.

    Raises:
        DataError: ``video`` is missing or cannot be decoded, ``output`` is not a video file
            name or cannot be written (named in the message).
        ValueError: the probabilities do not match the frames or the classes.
    """
    from tqdm.auto import tqdm

    output = check_video_output(output)
    info = probe_video(video)
    if os.path.abspath(output) == os.path.abspath(info.path):
        raise DataError(f"{output}: is the input video; write the annotated video elsewhere")
    source = _probability_source(probabilities)
    with av.open(info.path) as container:
        rate = _nominal_rate(container.streams.video[0]) or Fraction(DEFAULT_FPS)
    width, height = info.display_width, info.display_height
    overlay = Overlay(width, height, class_names, top_k)
    bar = tqdm(
        total=info.num_frames or None,
        desc=f"annotating {os.path.basename(info.path)}",
        unit="frame",
        disable=not progress,
        leave=False,
    )
    try:
        with VideoWriter(output, width, height, rate, codec) as writer:
            for index, (frame, time) in enumerate(_decoded_frames(info.path)):
                writer.write(overlay.draw(_upright_rgb(frame, width, height), source(index, time)))
                bar.update(1)
            rows = getattr(source, "rows", None)
            if rows is not None and rows != writer.num_frames:
                raise ValueError(
                    f"probabilities has {rows} rows for the {writer.num_frames} frames of "
                    f"{info.path}; expected one row per frame"
                )
    finally:
        bar.close()
    if writer.num_frames == 0:
        os.remove(output)
        raise DataError(f"{info.path}: no decodable frame; expected a video")
    return AnnotatedVideo(
        path=output,
        num_frames=writer.num_frames,
        width=width,
        height=height,
        fps=float(writer.rate),
        codec=writer.codec,
        padded=writer.padded,
    )


def _upright_rgb(frame: av.VideoFrame, width: int, height: int) -> np.ndarray:
    """The frame as upright RGB at the video's (upright) size."""
    turns = _quarter_turns(frame)
    w, h = (height, width) if turns % 2 else (width, height)
    rgb = frame.reformat(width=w, height=h, format="rgb24").to_ndarray()
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb
