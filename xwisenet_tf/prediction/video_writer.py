"""Encoding annotated videos: RGB frames -> a video file with PyAV (`VideoWriter`).

Frames keep the source's size and frame rate (constant-rate timestamps ``index / rate``), in
yuv420p, with the encoder chosen by the file's extension (`choose_encoder`):

* H.264 (``libx264``) in ``.mp4``, ``.mkv``, ``.mov`` and ``.avi``, MPEG-4 part 2 (``mpeg4``)
  where libx264 is missing; VP9 (``libvpx-vp9``, else VP8) in ``.webm``.
* An odd width or height: H.264 in 4:2:0 cannot store it (its frame size and its cropping come
  in steps of 2 pixels), so libx264 does not open and such a video is encoded with ``mpeg4``
  (VP9 in ``.webm``), which keeps the exact size. Only if no candidate opens at the odd size
  (or the encoder asked for is libx264) is each frame padded by one row or column, a copy of
  the last one, to an even size (`VideoWriter.padded`).
"""

from __future__ import annotations

import os
from fractions import Fraction

import av
import numpy as np

from xwisenet_tf.data.errors import DataError

VIDEO_OUTPUT_EXTENSIONS = (".mp4", ".avi", ".mkv", ".mov", ".webm")

# Encoders by preference, per container; the first that opens at the frame size is used.
_ENCODERS = {".webm": ("libvpx-vp9", "libvpx")}
_DEFAULT_ENCODERS = ("libx264", "mpeg4")
# Near-transparent quality: the frames outside the panel stay the source's.
_ENCODER_OPTIONS = {
    "libx264": {"crf": "18", "preset": "veryfast"},
    "mpeg4": {"qmin": "1", "qmax": "4"},
    "libvpx-vp9": {"crf": "24", "b:v": "0", "deadline": "realtime", "cpu-used": "8"},
    "libvpx": {"crf": "8", "b:v": "4M", "deadline": "realtime", "cpu-used": "8"},
}
_PIXEL_FORMAT = "yuv420p"


def _encoder_opens(name: str, width: int, height: int, rate: Fraction) -> bool:
    """Whether ``name`` encodes yuv420p frames of this size at this rate."""
    try:
        context = av.CodecContext.create(name, "w")
        context.width, context.height, context.pix_fmt = width, height, _PIXEL_FORMAT
        context.time_base, context.framerate = 1 / rate, rate
        context.open()
    except (av.error.FFmpegError, ValueError, TypeError):  # unknown, no encoder, size, rate
        return False
    return True


def choose_encoder(
    path: str, width: int, height: int, rate: Fraction, codec: str | None = None
) -> tuple[str, bool]:
    """The encoder for ``path`` (by extension) and whether frames need padding to even sizes.

    Args:
        path: The output file; its extension picks the candidates (module docstring).
        width: Frame width.
        height: Frame height.
        rate: Frame rate.
        codec: An encoder to use instead of the extension's candidates.

    Returns:
        ``(encoder, padded)``: the first candidate that opens at the exact size, else the first
        that opens at the size padded to even numbers.

    Raises:
        DataError: no candidate encoder opens.
    """
    extension = os.path.splitext(path)[1].lower()
    candidates = (codec,) if codec else _ENCODERS.get(extension, _DEFAULT_ENCODERS)
    for pad in (False, True):
        w, h = (width + width % 2, height + height % 2) if pad else (width, height)
        if pad and (w, h) == (width, height):
            break
        for name in candidates:
            if _encoder_opens(name, w, h, rate):
                return name, pad
    raise DataError(
        f"{path}: no video encoder available for {width}x{height} at {float(rate):.4g} fps "
        f"(tried {', '.join(candidates)})"
    )


class VideoWriter:
    """Encodes RGB frames into a video file (module docstring), one at a time.

    Written to ``<name>.partial<ext>`` beside the output and renamed on `close`, so a failed
    run never leaves a truncated video under the requested name.

    Args:
        path: Output file; a video extension of `VIDEO_OUTPUT_EXTENSIONS`.
        width: Frame width in pixels.
        height: Frame height in pixels.
        fps: Frame rate (frames get the timestamps ``index / fps``).
        codec: An encoder to use instead of the extension's (`choose_encoder`).

    Raises:
        DataError: unknown extension, or the file cannot be written.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        width: int,
        height: int,
        fps: float | Fraction,
        codec: str | None = None,
    ):
        self.path = os.fspath(path)
        root, extension = os.path.splitext(self.path)
        check_video_output(self.path)
        # Timestamps in units of 1/rate: 30000/1001 stays exact; a long fraction (an average
        # over variable-rate frames) is rounded so that every encoder accepts its time base.
        self.rate = Fraction(fps).limit_denominator(1001)
        if self.rate <= 0:
            raise DataError(f"{self.path}: frame rate must be positive; received {fps}")
        self.width, self.height = width, height
        self.codec, self.padded = choose_encoder(self.path, width, height, self.rate, codec)
        self.num_frames = 0
        self._partial = f"{root}.partial{extension}"
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        try:
            self._container = av.open(self._partial, "w")
            self._stream = self._container.add_stream(self.codec, rate=self.rate)
        except (av.error.FFmpegError, ValueError, OSError) as e:
            self._discard()
            raise DataError(f"{self.path}: cannot write a {self.codec} video here ({e})") from e
        self._stream.width = width + width % 2 if self.padded else width
        self._stream.height = height + height % 2 if self.padded else height
        self._stream.pix_fmt = _PIXEL_FORMAT
        self._stream.options = dict(_ENCODER_OPTIONS.get(self.codec, {}))

    def write(self, frame: np.ndarray) -> None:
        """Encodes one RGB ``uint8`` frame ``(height, width, 3)``."""
        if frame.shape != (self.height, self.width, 3):
            raise ValueError(f"frame shape {frame.shape} is not ({self.height}, {self.width}, 3)")
        if self.padded:
            frame = np.pad(frame, ((0, self.height % 2), (0, self.width % 2), (0, 0)), "edge")
        picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        picture.pts = self.num_frames
        self._mux(self._stream.encode(picture))
        self.num_frames += 1

    def _mux(self, packets) -> None:
        try:
            self._container.mux(packets)
        except (av.error.FFmpegError, OSError) as e:
            self.abort()
            raise DataError(f"{self.path}: writing the video failed ({e})") from e

    def close(self) -> None:
        """Flushes the encoder and moves the file to its name."""
        self._mux(self._stream.encode(None))
        self._container.close()
        os.replace(self._partial, self.path)

    def abort(self) -> None:
        """Closes and deletes the partial file."""
        try:
            self._container.close()
        except (av.error.FFmpegError, OSError):
            pass
        self._discard()

    def _discard(self) -> None:
        if os.path.exists(self._partial):
            os.remove(self._partial)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


def check_video_output(path: str | os.PathLike) -> str:
    """``path`` if its extension is one of `VIDEO_OUTPUT_EXTENSIONS`.

    Raises:
        DataError: another extension (the message lists the accepted ones).
    """
    path = os.fspath(path)
    if os.path.splitext(path)[1].lower() not in VIDEO_OUTPUT_EXTENSIONS:
        raise DataError(
            f"{path}: not a video file name for an annotated video; expected one of "
            f"{', '.join(VIDEO_OUTPUT_EXTENSIONS)}"
        )
    return path
