"""Video decoding with PyAV (FFmpeg): any container and codec FFmpeg reads.

Used only when converting videos to TFRecords (the training input path is pure ``tf.data``).
Every frame comes out as RGB ``uint8`` with 3 channels, whatever the source pixel format
(grayscale KTH videos included), optionally resized so that its short side has a given length.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import av
import numpy as np

from xwisenet_tf.data.errors import DataError

VIDEO_EXTENSIONS = frozenset(
    {".avi", ".mp4", ".m4v", ".mkv", ".webm", ".mov", ".mpg", ".mpeg", ".flv", ".wmv", ".ogv"}
    | {".3gp", ".ts", ".mts"}
)

# A container that declares N frames but yields fewer than this fraction of them (and more
# than a couple fewer) was cut short: FFmpeg stops silently at the end of a truncated AVI.
_TRUNCATION_TOLERANCE = 0.95


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video.

    Attributes:
        path: The file.
        width: Frame width in pixels.
        height: Frame height in pixels.
        fps: Average frame rate (0.0 when the container does not say).
        num_frames: Frames the container declares (0 when it does not say).
        codec: FFmpeg codec name, e.g. ``"h264"``.
    """

    path: str
    width: int
    height: int
    fps: float
    num_frames: int
    codec: str


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


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Reads a video's header.

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
        rate = stream.average_rate or stream.guessed_rate
        return VideoInfo(
            path=path,
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            fps=float(rate) if rate else 0.0,
            num_frames=int(stream.frames or 0),
            codec=stream.codec_context.name,
        )


def iter_frames(
    path: str | os.PathLike,
    start: int = 0,
    end: int | None = None,
    short_side: int | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Decodes the frames ``start <= index < end`` of a video.

    Args:
        path: A video file in any container/codec FFmpeg reads.
        start: First frame to return (0-based).
        end: One past the last frame to return; ``None`` reads to the end of the stream.
        short_side: Resize every frame (area interpolation, aspect ratio kept) so that its short
            side has this many pixels; ``None`` or 0 keeps the original size.

    Yields:
        ``(index, frame)`` with frame an RGB ``uint8`` array of shape ``(height, width, 3)``;
        grayscale and YUV sources are converted to 3 channels.

    Raises:
        DataError: the file is missing, empty, not a video, fails to decode, or was truncated
            (yields clearly fewer frames than its container declares).
    """
    path = _check_file(path)
    if start < 0 or (end is not None and end < start):
        raise DataError(f"{path}: invalid frame range [{start}, {end})")
    with _open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        declared = int(stream.frames or 0)
        index = -1
        size = None
        try:
            for frame in container.decode(stream):
                index += 1
                if index < start:
                    continue
                if end is not None and index >= end:
                    return
                # Every frame gets the size of the first one, even if the stream changes size.
                size = size or _resized_shape(frame.width, frame.height, short_side)
                width, height = size
                rgb = frame.reformat(
                    width=width, height=height, format="rgb24", interpolation="AREA"
                )
                yield index, rgb.to_ndarray()
        except av.error.FFmpegError as e:
            raise DataError(
                f"{path}: decoding failed after {index + 1} frames ({e}); "
                "the file is truncated or corrupt"
            ) from e
        decoded = index + 1
        if declared and decoded < declared * _TRUNCATION_TOLERANCE and declared - decoded > 2:
            raise DataError(
                f"{path}: truncated: decoded {decoded} of the {declared} frames its container "
                "declares"
            )


def read_video(
    path: str | os.PathLike,
    start: int = 0,
    end: int | None = None,
    short_side: int | None = None,
) -> np.ndarray:
    """Decodes frames ``[start, end)`` of a video into one array.

    Args:
        path: A video file in any container/codec FFmpeg reads.
        start: First frame (0-based).
        end: One past the last frame; ``None`` reads to the end.
        short_side: Optional resize of the short side, as in `iter_frames`.

    Returns:
        ``uint8`` array of shape ``(frames, height, width, 3)``, RGB.

    Raises:
        DataError: as `iter_frames`, or when the range holds no frame at all.
    """
    frames = [frame for _, frame in iter_frames(path, start, end, short_side)]
    if not frames:
        raise DataError(
            f"{os.fspath(path)}: no frame in range [{start}, {end}); expected at least one frame"
        )
    return np.stack(frames)
