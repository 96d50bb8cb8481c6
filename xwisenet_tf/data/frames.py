"""The pixels a model sees: one path from a video file to stored frames and evaluation clips.

Conversion (`xwisenet_tf.data.convert`) stores a video as the frames `stored_frames` gives:
decoded onto its constant-rate timeline (`xwisenet_tf.data.decode.iter_frames`: resampled to
``fps``, rotated upright), resized to the data's short side and JPEG-encoded at the conversion's
quality. The evaluation pipeline (`xwisenet_tf.data.pipeline`) then decodes a clip's JPEGs,
crops the centre square at scale 1 and resizes it. Prediction reads a video file through the
same two functions, `stored_frames` and `eval_clip` (which composes the pipeline's own
``crop_window``, ``loop_pad_indices`` and ``decode_clip``), so a model sees the same pixels for
a video whether they come from a prepared split (``evaluate.py``) or from its file
(``predict.py``): no train/serve skew from the JPEG round trip or the resize.
"""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

import numpy as np
from PIL import Image

from xwisenet_tf.data.decode import iter_frames


class StoredFrame(NamedTuple):
    """One frame of a video's timeline as conversion stores it.

    Attributes:
        index: Position on the timeline (0-based).
        height: Frame height after the resize.
        width: Frame width after the resize.
        jpeg: The JPEG bytes, or ``None`` for a frame the caller chose not to keep.
    """

    index: int
    height: int
    width: int
    jpeg: bytes | None


def encode_jpeg(frame: np.ndarray, quality: int) -> bytes:
    """JPEG bytes of an RGB ``uint8`` frame ``(height, width, 3)`` (Pillow, baseline)."""
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def stored_frames(
    path: str | os.PathLike,
    start: int = 0,
    end: int | None = None,
    *,
    short_side: int | None,
    jpeg_quality: int,
    fps: float | None = None,
    keep: Callable[[int], bool] | None = None,
) -> Iterator[StoredFrame]:
    """The frames ``start <= index < end`` of a video, as conversion stores them.

    Streamed: one frame is decoded and encoded at a time.

    Args:
        path: A video file in any container/codec FFmpeg reads.
        start: First frame of the timeline.
        end: One past the last frame; ``None`` reads to the end.
        short_side: Resize so that the short side has this many pixels (``None``: keep the
            size); the conversion's ``short_side`` setting.
        jpeg_quality: JPEG quality (1-100); the conversion's ``jpeg_quality`` setting.
        fps: Rate of the timeline (``None``: the source's nominal rate); the conversion's
            ``fps`` setting.
        keep: Encode only the frames whose index it accepts (the others come with
            ``jpeg=None``); ``None`` encodes every frame.

    Yields:
        `StoredFrame` tuples in timeline order.

    Raises:
        DataError: as `xwisenet_tf.data.decode.iter_frames`.
    """
    for index, frame in iter_frames(path, start, end, short_side, fps=fps):
        jpeg = encode_jpeg(frame, jpeg_quality) if keep is None or keep(index) else None
        yield StoredFrame(index, frame.shape[0], frame.shape[1], jpeg)


@functools.lru_cache(maxsize=16)
def _clip_decoder(num_frames: int, image_size: int, frame_stride: int, view=(0, False)):
    """A traced function ``(jpegs, count) -> clip`` for one clip format and view."""
    import tensorflow as tf

    from xwisenet_tf.data.clip_ops import crop_window, decode_clip, loop_pad_indices

    @tf.function(
        input_signature=[tf.TensorSpec([None], tf.string), tf.TensorSpec([], tf.int32)],
        reduce_retracing=True,
    )
    def decode(jpegs, count):
        shape = tf.io.extract_jpeg_shape(jpegs[0])
        window = crop_window(shape[0], shape[1], 0, view[0])
        indices = loop_pad_indices(tf.range(num_frames) * frame_stride, count)
        return decode_clip(jpegs, indices, window, image_size, tf.constant(bool(view[1])))

    return decode


def eval_clip(
    jpegs: Sequence[bytes],
    num_frames: int,
    image_size: int,
    frame_stride: int = 1,
    view: tuple[int, bool] = (0, False),
) -> np.ndarray:
    """The evaluation clip (paper sec. IV-C) that starts at the first of ``jpegs``.

    Frames ``0, s, 2s, ...`` (``s = frame_stride``) of ``jpegs``, loop-padded when ``jpegs``
    holds fewer than ``num_frames * s`` frames, the centre square at scale 1 decoded and resized
    to ``image_size``: exactly what ``xwisenet_tf.data.load(..., training=False)`` computes for
    a clip of stored frames, before normalisation.

    Args:
        jpegs: Consecutive stored frames (`stored_frames`), at least one.
        num_frames: Frames per clip.
        image_size: Output height and width.
        frame_stride: Step between the clip's frames.
        view: ``(position, flip)`` of the crop at scale 1 (test-time augmentation,
            `xwisenet_tf.data.clip_choices.TEST_VIEWS`); ``(0, False)``, the centre, is the
            paper's.

    Returns:
        float32 ``(num_frames, image_size, image_size, 3)`` on the 0-255 scale.

    Raises:
        ValueError: ``jpegs`` is empty.
    """
    if not jpegs:
        raise ValueError("eval_clip needs at least one frame")
    view = (int(view[0]), bool(view[1]))
    decode = _clip_decoder(int(num_frames), int(image_size), int(frame_stride), view)
    return decode(np.asarray(list(jpegs), dtype=object), np.int32(len(jpegs))).numpy()
