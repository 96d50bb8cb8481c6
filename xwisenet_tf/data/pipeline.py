"""The clip pipeline: prepared TFRecords -> batches of clips for ``model.fit``/``evaluate``.

Pure ``tf.data`` (no Python per element). Composed of plain functions:

* `train_clip_indices`, `eval_clip_starts`, `loop_pad_indices`: temporal sampling (sec. IV-B:
  16 consecutive frames from a uniformly random start, short videos loop-padded; sec. IV-C:
  every non-overlapping 16-frame clip).
* `crop_window`: the multi-scale corner crop (sec. IV-B): one position from {centre, 4 corners}
  and one scale from {1, 2^-1/4, 2^-1/2, 2^-3/4, 1/2} of the short side, square. `TRAIN_CROPS`
  names it and two lighter crops for data whose subject is centred.
* `decode_clip`: decodes only the JPEGs the clip needs (each distinct frame once) and only their
  crop window (``tf.io.decode_and_crop_jpeg``), resizes, optionally flips.
* `jitter_colours`: optional photometric augmentation of a training clip (brightness, contrast,
  saturation, hue; one draw per clip), not in the paper.
* `normalize_frames`: mean subtraction and division by the standard deviation.

All random choices of an element come from stateless ops seeded by a per-element seed drawn
from ``tf.data.Dataset.random(seed)``, so the pipeline is deterministic for a given ``seed``
(and different in each epoch).
"""

from __future__ import annotations

import os

import tensorflow as tf

from xwisenet_tf.data.errors import DataError
from xwisenet_tf.data.manifest import read_manifest
from xwisenet_tf.data.tfrecord import check_shard, parse_sequence_example

# Mean and standard deviation per RGB channel on the 0-255 scale: the ActivityNet mean and
# Kinetics std used by Hara et al. [5] (3D-ResNets-PyTorch), whose sampling the paper follows.
MEAN_RGB = (114.7748, 107.7354, 99.4750)
STD_RGB = (38.7568578, 37.88248729, 40.02898126)

SCALES = (1.0, 2.0**-0.25, 2.0**-0.5, 2.0**-0.75, 0.5)
POSITIONS = ("center", "top_left", "top_right", "bottom_left", "bottom_right")
DEFAULT_SHUFFLE_BUFFER = 128

# Training crops: (scale indices, position indices) drawn from uniformly. "corner_multiscale" is
# the paper's (sec. IV-B). A corner crop at scale 1/2 holds a quarter of a 4:3 frame and can miss
# the actor altogether, so on data whose subject sits near the centre it adds label noise;
# "corner_large" keeps the five positions with the three largest scales (1 to 2^-1/2: at least
# half the frame's area, so the actor stays in view); "centre_multiscale" keeps the scale
# jitter at the centre, "centre" keeps only temporal jitter and the flip. "corner" keeps the five
# positions at scale 1 only: the window shifts along the long side of the frame but never zooms,
# so the actor has the size it has at test time (sec. IV-C crops the centre at scale 1).
TRAIN_CROPS = {
    "corner_multiscale": (tuple(range(len(SCALES))), tuple(range(len(POSITIONS)))),
    "corner_large": ((0, 1, 2), tuple(range(len(POSITIONS)))),
    "centre_multiscale": (tuple(range(len(SCALES))), (0,)),
    "centre": ((0,), (0,)),
    "corner": ((0,), tuple(range(len(POSITIONS)))),
}
DEFAULT_TRAIN_CROP = "corner_multiscale"
# `jitter_colours` at strength 1: the range of the brightness, contrast and saturation factors
# around 1 and of the hue shift (turns), those of torchvision's ColorJitter(0.4, 0.4, 0.4, 0.1).
COLOUR_JITTER_RANGES = (0.4, 0.4, 0.4, 0.1)
MAX_COLOUR_JITTER = 2.0  # keeps every factor > 0


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


def _frame_shape(jpegs: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    shape = tf.io.extract_jpeg_shape(jpegs[0])
    return shape[0], shape[1]


def _draw(choices: tuple[int, ...], seed) -> tf.Tensor:
    """One of `choices`, uniformly."""
    pick = tf.random.stateless_uniform([], seed, 0, len(choices), dtype=tf.int32)
    return tf.gather(tf.constant(choices, tf.int32), pick)


def _train_map(num_frames, image_size, stride, video_index, crop, colour_jitter):
    scales, positions = TRAIN_CROPS[crop]

    def fn(serialized, seed):
        record = parse_sequence_example(serialized)
        seeds = tf.random.experimental.stateless_split(seed, 4)
        indices = train_clip_indices(record["num_frames"], num_frames, stride, seeds[0])
        scale = _draw(scales, seeds[1])
        position = _draw(positions, seeds[2])
        flip = tf.random.stateless_uniform([], seeds[3]) < 0.5
        height, width = _frame_shape(record["frames"])
        window = crop_window(height, width, scale, position)
        clip = decode_clip(record["frames"], indices, window, image_size, flip)
        clip = jitter_colours(
            clip, colour_jitter, tf.random.experimental.stateless_fold_in(seed, 1)
        )
        clip = normalize_frames(clip)
        clip.set_shape([num_frames, image_size, image_size, 3])
        if video_index is not None:
            return clip, record["label"], video_index.lookup(record["video_id"])
        return clip, record["label"]

    return fn


def _video_index(entry: dict) -> tf.lookup.StaticHashTable:
    """Maps a record's ``video/id`` to its position in the manifest's ``videos`` list."""
    ids = [v["id"] for v in entry["videos"]]
    return tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant(ids), tf.range(len(ids), dtype=tf.int32)),
        default_value=-1,
    )


def _manifest_split(data_dir: str, split: str) -> tuple[dict, dict]:
    manifest = read_manifest(data_dir)
    splits = manifest["splits"]
    if split not in splits:
        raise DataError(
            f"{os.path.join(data_dir, 'manifest.json')}: has no split '{split}'; "
            f"available: {sorted(splits)}"
        )
    return manifest, splits[split]


def _check_args(num_frames, image_size, frame_stride, batch_size, shuffle_buffer):
    for name, value in (
        ("num_frames", num_frames),
        ("image_size", image_size),
        ("frame_stride", frame_stride),
        ("batch_size", batch_size),
        ("shuffle_buffer", shuffle_buffer),
    ):
        if not isinstance(value, int) or value < 1:
            raise DataError(f"{name} must be a positive integer; received {name}={value!r}")


def load(
    data_dir: str | os.PathLike,
    split: str,
    training: bool,
    batch_size: int,
    num_frames: int = 16,
    image_size: int = 112,
    frame_stride: int = 1,
    seed: int | None = None,
    shuffle_buffer: int = DEFAULT_SHUFFLE_BUFFER,
    with_video_id: bool = False,
    drop_remainder: bool = False,
    repeat: bool = False,
    crop: str = DEFAULT_TRAIN_CROP,
    colour_jitter: float = 0.0,
) -> tf.data.Dataset:
    """Batches of clips from a prepared directory, ready for ``model.fit`` / ``model.evaluate``.

    Training (sec. IV-B): records shuffled (shards, then a buffer), one clip per video per epoch:
    ``num_frames`` frames ``frame_stride`` apart from a uniformly random start (loop-padded when
    the video is shorter), one crop position (centre or a corner) and one scale of the short side
    (`SCALES`) shared by all frames, resized to ``image_size``, flipped horizontally with p=0.5,
    normalised with `MEAN_RGB`/`STD_RGB`. ``crop`` can narrow the crop choices (`TRAIN_CROPS`);
    ``colour_jitter`` adds `jitter_colours` (not in the paper).

    Evaluation (sec. IV-C): in record order, every non-overlapping clip of every video
    (``max(1, n // (num_frames * frame_stride))`` per video of n frames, loop-padded), centre
    crop at scale 1, no flip.

    Args:
        data_dir: Directory written by `prepare_dataset`.
        split: ``"train"``, ``"validation"`` or ``"test"`` (those in the manifest).
        training: Random clips with augmentation, or all evaluation clips.
        batch_size: Clips per batch.
        num_frames: Frames per clip.
        image_size: Output height and width.
        frame_stride: Step between sampled frames.
        seed: Makes shuffling and augmentation deterministic; ``None`` is random.
        shuffle_buffer: Records in the shuffle buffer (training).
        with_video_id: Also yield, per clip, the int32 index of its video in
            ``read_manifest(data_dir)["splits"][split]["videos"]`` (to average clip scores per
            video; works for training too).
        drop_remainder: Drop the last incomplete batch.
        repeat: Repeat forever (training); by default one pass is one epoch.
        crop: Training crop, a key of `TRAIN_CROPS`: ``"corner_multiscale"`` (the paper's),
            ``"corner_large"``, ``"corner"`` (scale 1), ``"centre_multiscale"`` or ``"centre"``
            (scale 1). Evaluation always crops the centre at scale 1.
        colour_jitter: Strength of `jitter_colours` on training clips (0: none, the paper's).

    Returns:
        A dataset of ``(clips, labels)`` or ``(clips, labels, video_ids)``: clips float32
        ``(batch, num_frames, image_size, image_size, 3)``, labels and video ids int32
        ``(batch,)``.

    Raises:
        DataError: missing/incomplete directory, unknown split, bad argument, or a shard that is
            missing, truncated or not a TFRecord file (named in the message).
    """
    data_dir = os.fspath(data_dir)
    _check_args(num_frames, image_size, frame_stride, batch_size, shuffle_buffer)
    if crop not in TRAIN_CROPS:
        raise DataError(f"unknown crop {crop!r}; expected one of {list(TRAIN_CROPS)}")
    if not 0 <= colour_jitter <= MAX_COLOUR_JITTER:
        raise DataError(
            f"colour_jitter must be in [0, {MAX_COLOUR_JITTER}]; received {colour_jitter!r}"
        )
    manifest, entry = _manifest_split(data_dir, split)
    files = []
    for shard in entry["shards"]:
        path = os.path.join(data_dir, shard["file"])
        check_shard(path, shard.get("size"))
        files.append(path)
    if not entry["videos"]:
        raise DataError(f"{data_dir}: split '{split}' holds no video (all failed to convert?)")
    autotune = tf.data.AUTOTUNE
    deterministic = seed is not None or not training
    options = tf.data.Options()
    options.deterministic = deterministic
    options.experimental_optimization.map_parallelization = True
    file_ds = tf.data.Dataset.from_tensor_slices(files)

    if training:
        file_ds = file_ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
        records = file_ds.interleave(
            tf.data.TFRecordDataset,
            cycle_length=min(len(files), 8),
            num_parallel_calls=autotune,
            deterministic=deterministic,
        )
        records = records.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
        if repeat:
            records = records.repeat()
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        table = _video_index(entry) if with_video_id else None
        ds = tf.data.Dataset.zip(records, seeds).map(
            _train_map(num_frames, image_size, frame_stride, table, crop, colour_jitter),
            num_parallel_calls=autotune,
            deterministic=deterministic,
        )
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
        return ds.prefetch(autotune).with_options(options)

    table = _video_index(entry)
    records = tf.data.TFRecordDataset(files, num_parallel_reads=None)

    def parse(serialized):
        record = parse_sequence_example(serialized)
        height, width = _frame_shape(record["frames"])
        window = crop_window(height, width, 0, 0)
        starts = eval_clip_starts(record["num_frames"], num_frames, frame_stride)
        return record["frames"], record["label"], table.lookup(record["video_id"]), window, starts

    def clips(jpegs, label, video_id, window, starts):
        per_video = tf.data.Dataset.from_tensors((jpegs, label, video_id, window)).repeat()
        return tf.data.Dataset.zip(per_video, tf.data.Dataset.from_tensor_slices(starts))

    def decode(video, start):
        jpegs, label, video_id, window = video
        n = tf.shape(jpegs)[0]
        indices = loop_pad_indices(start + tf.range(num_frames) * frame_stride, n)
        clip = normalize_frames(decode_clip(jpegs, indices, window, image_size, tf.constant(False)))
        clip.set_shape([num_frames, image_size, image_size, 3])
        return (clip, label, video_id) if with_video_id else (clip, label)

    ds = records.map(parse, num_parallel_calls=autotune).flat_map(clips)
    if repeat:
        ds = ds.repeat()
    ds = ds.map(decode, num_parallel_calls=autotune, deterministic=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    return ds.prefetch(autotune).with_options(options)


def count_eval_clips(
    data_dir: str | os.PathLike, split: str, num_frames: int = 16, frame_stride: int = 1
) -> int:
    """Number of clips `load(..., training=False)` yields for a split (from the manifest).

    Useful for ``steps`` arguments and progress bars: sum over videos of
    ``max(1, n // (num_frames * frame_stride))``.
    """
    _, entry = _manifest_split(os.fspath(data_dir), split)
    span = num_frames * frame_stride
    return sum(max(1, v["num_frames"] // span) for v in entry["videos"])
