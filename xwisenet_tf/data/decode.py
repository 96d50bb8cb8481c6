"""Video decoding with PyAV (FFmpeg): any container and codec FFmpeg reads.

Used when converting videos to TFRecords and by prediction (the training input path is pure
``tf.data``). Every frame comes out as RGB ``uint8`` with 3 channels, whatever the source pixel
format (grayscale KTH videos included), upright (a display-matrix rotation, as portrait phone
videos carry, is applied), optionally resized so that its short side has a given length.

Frames are returned on a constant-rate timeline built from their presentation timestamps
(`xwisenet_tf.data.timeline`): at the source's nominal rate by default, or at the rate asked
for with ``fps=``. Variable-frame-rate video, AVI files with dropped-frame entries and
60 fps sources thus all give frames that are ``1 / fps`` seconds apart; a video that already
has regular timestamps at its nominal rate (KTH) gives exactly its stored frames.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from xwisenet_tf.data.errors import DataError
from xwisenet_tf.data.timeline import MAX_FPS, Timeline, as_rate

VIDEO_EXTENSIONS = frozenset(
    {".avi", ".mp4", ".m4v", ".mkv", ".webm", ".mov", ".mpg", ".mpeg", ".flv", ".wmv", ".ogv"}
    | {".3gp", ".ts", ".mts"}
)

# Rate of the timeline when neither the caller nor the container gives one (KTH's, PAL's).
DEFAULT_FPS = 25.0

# A video whose frames end before this fraction of the duration its container declares (and
# more than a couple of frame intervals before it) was cut short: FFmpeg stops silently at the
# end of a truncated AVI.
_TRUNCATION_TOLERANCE = 0.95


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video.

    Attributes:
        path: The file.
        width: Coded frame width in pixels (before rotation).
        height: Coded frame height in pixels (before rotation).
        fps: Nominal frame rate (0.0 when the container does not say).
        num_frames: Frames, or frame slots, the container declares (0 when it does not say).
        codec: FFmpeg codec name, e.g. ``"h264"``.
        rotation: Counter-clockwise rotation in degrees (0, 90, 180 or -90) that turns the
            coded frames upright, from the display matrix of the first frame; decoding
            applies it.
        display_width: Width of the decoded (upright) frames before any resize.
        display_height: Height of the decoded (upright) frames before any resize.
        duration: Duration in seconds the container declares (0.0 when it does not say).
    """

    path: str
    width: int
    height: int
    fps: float
    num_frames: int
    codec: str
    rotation: int = 0
    display_width: int = 0
    display_height: int = 0
    duration: float = 0.0


def timeline_fps(info: VideoInfo, fps: float | None = None) -> float:
    """The rate of the timeline `iter_frames` returns for a video.

    Args:
        info: From `probe_video`.
        fps: The rate asked for (``None``: the source's nominal rate).

    Returns:
        ``fps`` if given, else the source's nominal rate, else `DEFAULT_FPS`.

    Raises:
        DataError: ``fps`` is not a positive frame rate.
    """
    if fps is not None:
        return float(as_rate(fps))
    return info.fps or DEFAULT_FPS


def _check_file(path: str | os.PathLike) -> str:
    path = os.fspath(path)
    if not os.path.exists(path):
        raise DataError(f"{path}: no such file; expected a video file")
    if not os.path.isfile(path):
        raise DataError(f"{path}: is not a regular file; expected a video file")
    if os.path.getsize(path) == 0:
        raise DataError(f"{path}: file is empty (0 bytes); expected a video file")
    return path


def _open(path: str) -> av.container.InputContainer:
    try:
        container = av.open(path, mode="r")
    except Exception as e:  # noqa: BLE001 - FFmpeg/PyAV raise many types for bad files
        raise DataError(f"{path}: not a readable video file ({e})") from e
    if not container.streams.video:
        container.close()
        raise DataError(f"{path}: has no video stream; expected a video file")
    return container


def _resized_shape(width: int, height: int, short_side: int | None) -> tuple[int, int]:
    if not short_side or min(width, height) == short_side:
        return width, height
    scale = short_side / min(width, height)
    if width <= height:
        return short_side, max(1, round(height * scale))
    return max(1, round(width * scale)), short_side


def _nominal_rate(stream) -> Fraction | None:
    for rate in (stream.average_rate, stream.guessed_rate):
        if rate and 0 < rate <= MAX_FPS:
            return Fraction(rate)
    return None


def _declared_span(container, stream) -> tuple[Fraction, Fraction] | None:
    """``(start, duration)`` in seconds the container declares for the stream, if any.

    The duration is the longest the stream declares: its own duration, or its frame count at
    its nominal rate (an AVI header counts frame slots, dropped ones included; without its
    index, FFmpeg estimates an AVI's duration from its size, which a cut file shrinks); else
    the container's duration.
    """
    rate = _nominal_rate(stream)
    declared = []
    if stream.duration and stream.time_base:
        declared.append(stream.duration * stream.time_base)
    if stream.frames and rate:
        declared.append(stream.frames / rate)
    if declared:
        start = stream.start_time if stream.start_time is not None and stream.time_base else 0
        return start * (stream.time_base or 0), max(declared)
    if container.duration:
        start = container.start_time or 0
        return Fraction(start, av.time_base), Fraction(container.duration, av.time_base)
    return None


def _quarter_turns(frame: av.VideoFrame) -> int:
    """Counter-clockwise quarter turns that make the frame upright (its display matrix).

    ``VideoFrame.rotation`` (PyAV) reads the matrix's rotation in degrees, counter-clockwise;
    iPhone portrait videos give -90. Flips in the matrix are not applied.
    """
    return round(getattr(frame, "rotation", 0) / 90) % 4


def _upright_size(frame: av.VideoFrame) -> tuple[int, int]:
    if _quarter_turns(frame) % 2:
        return frame.height, frame.width
    return frame.width, frame.height


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Reads a video's header (and its first frame, for the rotation).

    Args:
        path: A video file in any container/codec FFmpeg reads.

    Returns:
        A `VideoInfo`.

    Raises:
        DataError: the file is missing, empty, or not a video FFmpeg can open.
    """
    path = _check_file(path)
    with _open(path) as container:
        stream = container.streams.video[0]
        rate = _nominal_rate(stream)
        span = _declared_span(container, stream)
        width, height = stream.codec_context.width, stream.codec_context.height
        rotation, display = 0, (width, height)
        try:
            first = next(container.decode(stream), None)
        except av.error.FFmpegError:
            first = None  # iter_frames reports the decoding error with its context
        if first is not None:
            rotation = 90 * _quarter_turns(first)
            rotation = rotation - 360 if rotation > 180 else rotation
            display = _upright_size(first)
        return VideoInfo(
            path=path,
            width=width,
            height=height,
            fps=float(rate) if rate else 0.0,
            num_frames=int(stream.frames or 0),
            codec=stream.codec_context.name,
            rotation=rotation,
            display_width=display[0],
            display_height=display[1],
            duration=float(span[1]) if span else 0.0,
        )


def iter_frames(
    path: str | os.PathLike,
    start: int = 0,
    end: int | None = None,
    short_side: int | None = None,
    *,
    fps: float | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Decodes the frames ``start <= index < end`` of a video's constant-rate timeline.

    Frame ``index`` is the frame shown at ``index / fps`` seconds after the first frame (module
    docstring of `xwisenet_tf.data.timeline`). Decoding is streamed: one source frame is held
    at a time, whatever the length of the video.

    Args:
        path: A video file in any container/codec FFmpeg reads.
        start: First frame to return (0-based, on the timeline).
        end: One past the last frame to return; ``None`` reads to the end of the stream.
        short_side: Resize every frame (area interpolation, aspect ratio kept) so that its short
            side has this many pixels; ``None`` or 0 keeps the original size.
        fps: Rate of the timeline in frames per second; ``None`` keeps the source's nominal
            rate (`timeline_fps` says which).

    Yields:
        ``(index, frame)`` with frame an upright RGB ``uint8`` array of shape
        ``(height, width, 3)``; grayscale and YUV sources are converted to 3 channels.

    Raises:
        DataError: the file is missing, empty, not a video, fails to decode, or was truncated
            (its frames end clearly before the duration its container declares), or ``fps``
            is not a positive frame rate.
    """
    path = _check_file(path)
    if start < 0 or (end is not None and end < start):
        raise DataError(f"{path}: invalid frame range [{start}, {end})")
    rate = as_rate(fps) if fps is not None else None
    with _open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        source_rate = _nominal_rate(stream) or as_rate(DEFAULT_FPS)
        timeline: Timeline[av.VideoFrame] = Timeline(rate or source_rate, source_rate)
        to_rgb = _Converter(short_side)
        for frame, time in timestamped_frames(path, container, stream):
            for index, held in timeline.push(time, frame):
                if end is not None and index >= end:
                    return
                if index >= start:
                    yield index, to_rgb(held)
        for index, held in timeline.finish():
            if end is not None and index >= end:
                return
            if index >= start:
                yield index, to_rgb(held)
        _check_complete(path, container, stream, timeline)


def timestamped_frames(
    path: str, container: av.container.InputContainer, stream
) -> Iterator[tuple[av.VideoFrame, Fraction | None]]:
    """The frames of ``stream`` in decoding order, each with its presentation time in seconds
    (``None`` for a frame without timestamp).

    Raises:
        DataError: FFmpeg fails part way, naming ``path`` and the frames decoded before.
    """
    count = 0
    try:
        for frame in container.decode(stream):
            count += 1
            stamped = frame.pts is not None and stream.time_base
            yield frame, frame.pts * stream.time_base if stamped else None
    except av.error.FFmpegError as e:
        raise DataError(
            f"{path}: decoding failed after {count} frames ({e}); the file is truncated or corrupt"
        ) from e


class _Converter:
    """Decoded frame -> upright RGB array at the output size (the first frame's, resized)."""

    def __init__(self, short_side: int | None):
        self.short_side = short_side
        self.size: tuple[int, int] | None = None
        self._last: tuple[av.VideoFrame, np.ndarray] | None = None

    def __call__(self, frame: av.VideoFrame) -> np.ndarray:
        if self._last is not None and self._last[0] is frame:
            return self._last[1].copy()  # a repeated slot: the same picture
        # Every frame gets the size of the first one, even if the stream changes size.
        self.size = self.size or _resized_shape(*_upright_size(frame), self.short_side)
        width, height = self.size
        turns = _quarter_turns(frame)
        if turns % 2:
            width, height = height, width
        rgb = frame.reformat(
            width=width, height=height, format="rgb24", interpolation="AREA"
        ).to_ndarray()
        if turns:
            rgb = np.ascontiguousarray(np.rot90(rgb, turns))
        self._last = (frame, rgb)
        return rgb


def _check_complete(path: str, container, stream, timeline: Timeline) -> None:
    """Raises when the frames end clearly before the duration the container declares."""
    span = _declared_span(container, stream)
    if span is None:
        return
    declared_start, declared = span
    covered = timeline.covered
    if timeline.origin is not None:
        covered += max(Fraction(0), timeline.origin - declared_start)
    missing = declared - covered
    if covered < declared * Fraction(_TRUNCATION_TOLERANCE) and missing > 2 * timeline.interval:
        raise DataError(
            f"{path}: truncated: its {timeline.num_frames} decoded frames end at "
            f"{float(covered):.2f} s but its container declares {float(declared):.2f} s"
        )


def read_video(
    path: str | os.PathLike,
    start: int = 0,
    end: int | None = None,
    short_side: int | None = None,
    *,
    fps: float | None = None,
) -> np.ndarray:
    """Decodes frames ``[start, end)`` of a video's constant-rate timeline into one array.

    Args:
        path: A video file in any container/codec FFmpeg reads.
        start: First frame (0-based).
        end: One past the last frame; ``None`` reads to the end.
        short_side: Optional resize of the short side, as in `iter_frames`.
        fps: Rate of the timeline, as in `iter_frames` (``None``: the source's).

    Returns:
        ``uint8`` array of shape ``(frames, height, width, 3)``, RGB, upright.

    Raises:
        DataError: as `iter_frames`, or when the range holds no frame at all.
    """
    frames = [frame for _, frame in iter_frames(path, start, end, short_side, fps=fps)]
    if not frames:
        raise DataError(
            f"{os.fspath(path)}: no frame in range [{start}, {end}); expected at least one frame"
        )
    return np.stack(frames)
