"""The clip pipeline's plain functions, on one video's frames (no ``tf.data`` here).

* `train_clip_indices`, `eval_clip_starts`, `loop_pad_indices`: temporal sampling (sec. IV-B:
  16 consecutive frames from a uniformly random start, short videos loop-padded; sec. IV-C:
  every non-overlapping 16-frame clip).
* `crop_window`: the multi-scale corner crop (sec. IV-B): one position from `POSITIONS` (centre,
  4 corners) and one scale from `SCALES` ({1, 2^-1/4, 2^-1/2, 2^-3/4, 1/2} of the short side),
  square.
* `decode_clip`: decodes only the JPEGs the clip needs (each distinct frame once) and only their
  crop window (``tf.io.decode_and_crop_jpeg``), resizes, optionally flips.
* `jitter_colours`: optional photometric augmentation of a training clip (brightness, contrast,
  saturation, hue; one draw per clip), not in the paper.
* `normalize_frames`: mean subtraction and division by the standard deviation.

Random choices come from stateless ops and the seeds passed in.
"""

from __future__ import annotations

import tensorflow as tf

from xwisenet_tf.data.clip_choices import COLOUR_JITTER_RANGES

# Mean and standard deviation per RGB channel on the 0-255 scale: the ActivityNet mean and
# Kinetics std used by Hara et al. [5] (3D-ResNets-PyTorch), whose sampling the paper follows.
MEAN_RGB = (114.7748, 107.7354, 99.4750)
STD_RGB = (38.7568578, 37.88248729, 40.02898126)

SCALES = (1.0, 2.0**-0.25, 2.0**-0.5, 2.0**-0.75, 0.5)
POSITIONS = ("center", "top_left", "top_right", "bottom_left", "bottom_right")


def normalize_frames(frames) -> tf.Tensor:
    """``(x - MEAN_RGB) / STD_RGB`` per channel.

    Args:
        frames: uint8 or float tensor/array on the 0-255 scale, channels last (``(..., 3)``).

    Returns:
        float32 tensor of the same shape.
    """
    frames = tf.cast(frames, tf.float32)
    return (frames - tf.constant(MEAN_RGB, tf.float32)) / tf.constant(STD_RGB, tf.float32)


def loop_pad_indices(indices: tf.Tensor, num_video_frames: tf.Tensor) -> tf.Tensor:
    """Replaces indices past the end of the video by repeating the valid ones in order.

    ``indices`` must be increasing with ``indices[0] < num_video_frames``. E.g. indices
    0..15 of a 6-frame video -> 0 1 2 3 4 5 0 1 2 3 4 5 0 1 2 3 (Hara et al.'s loop padding).
    """
    indices = tf.convert_to_tensor(indices, tf.int32)
    valid = tf.reduce_sum(tf.cast(indices < num_video_frames, tf.int32))
    valid = tf.maximum(valid, 1)
    return tf.gather(indices, tf.range(tf.size(indices)) % valid)


def train_clip_indices(num_video_frames, num_frames: int, stride: int, seed) -> tf.Tensor:
    """Frame indices of a training clip: uniformly random start, ``num_frames`` frames
    ``stride`` apart, loop-padded when the video is too short (sec. IV-B).

    Args:
        num_video_frames: Frames in the video (scalar int tensor, >= 1).
        num_frames: Clip length.
        stride: Step between frames.
        seed: Stateless seed, shape ``(2,)``.
    """
    n = tf.cast(num_video_frames, tf.int32)
    span = (num_frames - 1) * stride + 1
    last_start = tf.maximum(n - span, 0)
    start = tf.random.stateless_uniform([], seed, 0, last_start + 1, dtype=tf.int32)
    return loop_pad_indices(start + tf.range(num_frames) * stride, n)


def num_eval_clips(num_video_frames, num_frames: int = 16, stride: int = 1):
    """``max(1, n // (num_frames * stride))``: non-overlapping clips of a video (sec. IV-C)."""
    return tf.maximum(1, tf.cast(num_video_frames, tf.int32) // (num_frames * stride))


def eval_clip_starts(num_video_frames, num_frames: int = 16, stride: int = 1) -> tf.Tensor:
    """First frame of every non-overlapping evaluation clip (sec. IV-C)."""
    count = num_eval_clips(num_video_frames, num_frames, stride)
    return tf.range(count) * (num_frames * stride)


def crop_window(height, width, scale_index, position_index) -> tf.Tensor:
    """Square crop ``[y, x, side, side]`` inside a ``height x width`` frame.

    Args:
        height: Frame height (scalar int tensor).
        width: Frame width.
        scale_index: Index into `SCALES`; side = floor(scale * short side), at least 1.
        position_index: Index into `POSITIONS` (0 centre, 1-4 the corners).

    Returns:
        int32 ``[y, x, side, side]`` with ``0 <= y``, ``y + side <= height`` (same for x).
    """
    height = tf.cast(height, tf.int32)
    width = tf.cast(width, tf.int32)
    scale = tf.gather(tf.constant(SCALES, tf.float32), scale_index)
    short = tf.minimum(height, width)
    side = tf.maximum(1, tf.cast(tf.floor(scale * tf.cast(short, tf.float32) + 1e-4), tf.int32))
    free_y, free_x = height - side, width - side
    ys = tf.stack([free_y // 2, 0, 0, free_y, free_y])
    xs = tf.stack([free_x // 2, 0, free_x, 0, free_x])
    return tf.stack([ys[position_index], xs[position_index], side, side])


def decode_clip(jpegs: tf.Tensor, indices: tf.Tensor, window: tf.Tensor, image_size: int, flip):
    """Decodes the cropped frames ``indices`` of a video and resizes them.

    Each distinct index is decoded once (loop-padded clips repeat frames) and only its crop
    window is decoded.

    Args:
        jpegs: String vector, one JPEG per video frame.
        indices: Frame indices of the clip, shape ``(num_frames,)``.
        window: ``[y, x, h, w]`` crop shared by all frames.
        image_size: Output side.
        flip: Scalar bool: mirror all frames horizontally.

    Returns:
        float32 ``(num_frames, image_size, image_size, 3)`` on the 0-255 scale.
    """
    unique, position = tf.unique(indices)
    frames = tf.map_fn(
        lambda jpeg: tf.io.decode_and_crop_jpeg(jpeg, window, channels=3),
        tf.gather(jpegs, unique),
        fn_output_signature=tf.TensorSpec([None, None, 3], tf.uint8),
    )
    frames = tf.image.resize(frames, [image_size, image_size], method="bilinear")
    frames = tf.gather(frames, position)
    return tf.cond(flip, lambda: tf.reverse(frames, axis=[2]), lambda: frames)


def jitter_colours(clip: tf.Tensor, strength: float, seed) -> tf.Tensor:
    """Random brightness, contrast, saturation and hue of a clip, drawn once and applied to
    every frame (a clip keeps one look, as a recording does).

    Brightness, contrast and saturation factors are uniform in ``[1 - r s, 1 + r s]`` and the
    hue shift in ``[-r s, r s]`` turns, with ``r`` from `COLOUR_JITTER_RANGES` and ``s =
    strength``; applied in that order (contrast about the clip's mean grey level, saturation
    about each pixel's grey level), values kept in 0-255.

    Args:
        clip: float32 ``(..., 3)`` RGB on the 0-255 scale.
        strength: ``s`` in ``[0, MAX_COLOUR_JITTER]``; 0 returns ``clip`` unchanged.
        seed: Stateless seed, shape ``(2,)``.
    """
    if not strength:
        return clip
    seeds = tf.random.experimental.stateless_split(seed, 4)
    brightness, contrast, saturation, hue = (r * strength for r in COLOUR_JITTER_RANGES)

    def factor(spread, seed):
        return tf.random.stateless_uniform([], seed, 1.0 - spread, 1.0 + spread)

    clip = clip * factor(brightness, seeds[0])
    mean = tf.reduce_mean(tf.image.rgb_to_grayscale(clip))
    clip = mean + (clip - mean) * factor(contrast, seeds[1])
    grey = tf.image.rgb_to_grayscale(clip)
    clip = tf.clip_by_value(grey + (clip - grey) * factor(saturation, seeds[2]), 0.0, 255.0)
    shift = tf.random.stateless_uniform([], seeds[3], -hue, hue)
    return tf.clip_by_value(tf.image.adjust_hue(clip / 255.0, shift) * 255.0, 0.0, 255.0)
