"""Training clip augmentations for small datasets, beyond the paper's crop and flip (sec. IV-B).

A few dozen recordings of one place let a 3D CNN memorise each video (where the actor stands,
what he wears) instead of learning the motion. These ops show the same motion in other ways,
all inside the ``tf.data`` graph (stateless random ops with the seeds passed in, no Python per
clip), with the settings of `xwisenet_tf.data.clip_choices.ClipAugmentation`:

* `resized_crop_window`: a random area, aspect ratio and position of the crop (the actor at
  other sizes, places and proportions);
* `speed_clip_indices`: frames sampled at a random speed (the action slower or faster);
* `random_grayscale`: a clip turned grey (no colour cue: an outfit, KTH's grey videos);
* `random_erase`: a rectangle blanked in every frame (a tube), so that no single region decides;
* `mix_batch`: mixup (Zhang et al. 2018) or CutMix (Yun et al. 2019) of a batch with its own
  reverse, with soft labels.
"""

from __future__ import annotations

import math

import tensorflow as tf

from xwisenet_tf.data.clip_ops import loop_pad_indices

ERASE_AREA = (0.02, 0.25)  # share of the frame (torchvision's RandomErasing defaults)
ERASE_ASPECT = (0.3, 3.3)


def _log_uniform(seed, low: float, high: float) -> tf.Tensor:
    value = tf.random.stateless_uniform([], seed, math.log(low), math.log(high))
    return tf.exp(value)


def resized_crop_window(height, width, min_area: float, max_aspect: float, seed) -> tf.Tensor:
    """A random crop window ``[y, x, h, w]`` inside a ``height x width`` frame.

    Its area is a share ``a`` (uniform in ``[min_area, 1]``) of the square of the frame's short
    side (the evaluation crop's area, sec. IV-C), its aspect ratio ``w / h`` is log-uniform in
    ``[1 / max_aspect, max_aspect]``, each side clipped to the frame, its position uniform.

    Args:
        height, width: Frame size (scalar int tensors).
        min_area: Smallest area share, in (0, 1].
        max_aspect: Largest aspect ratio, >= 1.
        seed: Stateless seed, shape ``(2,)``.
    """
    seeds = tf.random.experimental.stateless_split(seed, 4)
    height = tf.cast(height, tf.int32)
    width = tf.cast(width, tf.int32)
    short = tf.cast(tf.minimum(height, width), tf.float32)
    area = tf.random.stateless_uniform([], seeds[0], min_area, 1.0) * short * short
    aspect = _log_uniform(seeds[1], 1.0 / max_aspect, max_aspect)
    w = tf.clip_by_value(tf.cast(tf.round(tf.sqrt(area * aspect)), tf.int32), 1, width)
    h = tf.clip_by_value(tf.cast(tf.round(tf.sqrt(area / aspect)), tf.int32), 1, height)
    y = tf.random.stateless_uniform([], seeds[2], 0, height - h + 1, dtype=tf.int32)
    x = tf.random.stateless_uniform([], seeds[3], 0, width - w + 1, dtype=tf.int32)
    return tf.stack([y, x, h, w])


def speed_clip_indices(num_video_frames, num_frames: int, stride: int, speed: float, seed):
    """Frame indices of a training clip played at a random speed.

    The step between frames is ``v * stride`` with ``v`` log-uniform in ``[1/speed, speed]``;
    frame ``k`` is ``start + floor(k v stride)`` from a uniformly random start, loop-padded when
    the video is too short (sec. IV-B's sampling at ``v = 1``).

    Args:
        num_video_frames: Frames in the video (scalar int tensor, >= 1).
        num_frames: Clip length.
        stride: Step between frames at speed 1.
        speed: Largest speed factor, >= 1.
        seed: Stateless seed, shape ``(2,)``.
    """
    seeds = tf.random.experimental.stateless_split(seed, 2)
    step = _log_uniform(seeds[0], 1.0 / speed, speed) * float(stride)
    offsets = tf.cast(tf.floor(tf.range(num_frames, dtype=tf.float32) * step), tf.int32)
    n = tf.cast(num_video_frames, tf.int32)
    last_start = tf.maximum(n - offsets[-1] - 1, 0)
    start = tf.random.stateless_uniform([], seeds[1], 0, last_start + 1, dtype=tf.int32)
    return loop_pad_indices(start + offsets, n)


def random_grayscale(clip: tf.Tensor, probability: float, seed) -> tf.Tensor:
    """The clip in grey (its luma in all three channels) with ``probability``, else as is."""
    if not probability:
        return clip
    grey = tf.image.grayscale_to_rgb(tf.image.rgb_to_grayscale(clip))
    return tf.where(tf.random.stateless_uniform([], seed) < probability, grey, clip)


def random_erase(clip: tf.Tensor, probability: float, seed) -> tf.Tensor:
    """With ``probability``, sets one random rectangle of every frame to 0 (the mean colour of
    a normalised clip).

    The rectangle's area is a share of the frame uniform in `ERASE_AREA`, its aspect ratio
    log-uniform in `ERASE_ASPECT`, its position uniform; the same in every frame.

    Args:
        clip: float32 ``(frames, height, width, channels)``, normalised.
        probability: Chance of erasing, in [0, 1].
        seed: Stateless seed, shape ``(2,)``.
    """
    if not probability:
        return clip
    seeds = tf.random.experimental.stateless_split(seed, 5)
    shape = tf.shape(clip)
    height, width = shape[1], shape[2]
    area = tf.random.stateless_uniform([], seeds[0], *ERASE_AREA) * tf.cast(
        height * width, tf.float32
    )
    aspect = _log_uniform(seeds[1], *ERASE_ASPECT)
    h = tf.clip_by_value(tf.cast(tf.round(tf.sqrt(area / aspect)), tf.int32), 1, height)
    w = tf.clip_by_value(tf.cast(tf.round(tf.sqrt(area * aspect)), tf.int32), 1, width)
    y = tf.random.stateless_uniform([], seeds[2], 0, height - h + 1, dtype=tf.int32)
    x = tf.random.stateless_uniform([], seeds[3], 0, width - w + 1, dtype=tf.int32)
    rows = tf.range(height)
    cols = tf.range(width)
    inside = tf.logical_and(
        ((rows >= y) & (rows < y + h))[:, None], ((cols >= x) & (cols < x + w))[None, :]
    )
    erase = tf.random.stateless_uniform([], seeds[4]) < probability
    keep = tf.cast(tf.logical_not(tf.logical_and(inside, erase)), clip.dtype)
    return clip * keep[None, :, :, None]


def _beta(seed, alpha: float) -> tf.Tensor:
    """A Beta(alpha, alpha) sample from two stateless gamma draws."""
    draws = tf.random.stateless_gamma([2], seed, alpha)
    return draws[0] / (draws[0] + draws[1])


def mix_batch(clips, labels, num_classes: int, mixup: float, cutmix: float, seed):
    """Mixup or CutMix of a batch with its own reverse; integer labels -> soft labels.

    With both alphas > 0 each batch uses one of the two, with even odds. Mixup:
    ``x = lam x_i + (1 - lam) x_j`` with ``lam ~ Beta(mixup, mixup)``. CutMix: a box of area
    ``1 - lam`` (``lam ~ Beta(cutmix, cutmix)``), the same in every frame, is pasted from
    ``x_j``, and ``lam`` becomes the share of the frame kept. Labels mix with the same ``lam``.

    Args:
        clips: float32 ``(batch, frames, height, width, channels)``.
        labels: int ``(batch,)``.
        num_classes: Number of classes (width of the soft labels).
        mixup, cutmix: Beta parameters (0: that kind off; not both 0).
        seed: Stateless seed, shape ``(2,)``.

    Returns:
        ``(clips, soft_labels)``, soft labels float32 ``(batch, num_classes)``.
    """
    seeds = tf.random.experimental.stateless_split(seed, 5)
    one_hot = tf.one_hot(tf.cast(labels, tf.int32), num_classes)
    other_clips = tf.reverse(clips, axis=[0])
    other_labels = tf.reverse(one_hot, axis=[0])

    def do_mixup():
        lam = _beta(seeds[0], mixup)
        return lam * clips + (1.0 - lam) * other_clips, lam

    def do_cutmix():
        lam = _beta(seeds[1], cutmix)
        shape = tf.shape(clips)
        height, width = shape[2], shape[3]
        side = tf.sqrt(1.0 - lam)
        h = tf.cast(tf.round(side * tf.cast(height, tf.float32)), tf.int32)
        w = tf.cast(tf.round(side * tf.cast(width, tf.float32)), tf.int32)
        y = tf.random.stateless_uniform([], seeds[2], 0, height - h + 1, dtype=tf.int32)
        x = tf.random.stateless_uniform([], seeds[3], 0, width - w + 1, dtype=tf.int32)
        rows = tf.range(height)
        cols = tf.range(width)
        box = tf.logical_and(
            ((rows >= y) & (rows < y + h))[:, None], ((cols >= x) & (cols < x + w))[None, :]
        )
        box = tf.cast(box, clips.dtype)[None, None, :, :, None]
        kept = 1.0 - tf.cast(h * w, tf.float32) / tf.cast(height * width, tf.float32)
        return clips * (1.0 - box) + other_clips * box, kept

    if mixup and cutmix:
        use_mixup = tf.random.stateless_uniform([], seeds[4]) < 0.5
        mixed, lam = tf.cond(use_mixup, do_mixup, do_cutmix)
    elif mixup:
        mixed, lam = do_mixup()
    else:
        mixed, lam = do_cutmix()
    return mixed, lam * one_hot + (1.0 - lam) * other_labels


def mix_batches(
    dataset: tf.data.Dataset, num_classes: int, mixup: float, cutmix: float, seed: int | None
) -> tf.data.Dataset:
    """`mix_batch` on every ``(clips, labels)`` batch of ``dataset`` (a no-op when both alphas
    are 0), each batch with its own seed drawn from ``tf.data.Dataset.random(seed)``."""
    if not mixup and not cutmix:
        return dataset
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    return tf.data.Dataset.zip(dataset, seeds).map(
        lambda batch, s: mix_batch(batch[0], batch[1], num_classes, mixup, cutmix, s),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
