"""The clip pipeline: prepared TFRecords -> batches of clips for ``model.fit``/``evaluate``.

Pure ``tf.data`` (no Python per element), composed of the plain functions of
`xwisenet_tf.data.clip_ops` (temporal sampling, the multi-scale corner crop, decoding, colour
jitter, normalisation; re-exported here). `TRAIN_CROPS` holds the scales and positions of each
training crop of `xwisenet_tf.data.clip_choices.TRAIN_CROP_NAMES`.

All random choices of an element come from stateless ops seeded by a per-element seed drawn
from ``tf.data.Dataset.random(seed)``, so the pipeline is deterministic for a given ``seed``
(and different in each epoch).
"""

from __future__ import annotations

import os

import tensorflow as tf

from xwisenet_tf.data import service
from xwisenet_tf.data.clip_augment import (
    random_erase,
    random_grayscale,
    resized_crop_window,
    speed_clip_indices,
)
from xwisenet_tf.data.clip_choices import (
    COLOUR_JITTER_RANGES,
    DEFAULT_TRAIN_CROP,
    MAX_COLOUR_JITTER,
    TRAIN_CROP_NAMES,
    ClipAugmentation,
)
from xwisenet_tf.data.clip_ops import (
    MEAN_RGB,
    POSITIONS,
    SCALES,
    STD_RGB,
    crop_window,
    decode_clip,
    eval_clip_starts,
    jitter_colours,
    loop_pad_indices,
    normalize_frames,
    num_eval_clips,
    train_clip_indices,
)
from xwisenet_tf.data.errors import DataError
from xwisenet_tf.data.manifest import read_manifest
from xwisenet_tf.data.tfrecord import check_shard, parse_sequence_example

__all__ = [
    "COLOUR_JITTER_RANGES",
    "DEFAULT_SHUFFLE_BUFFER",
    "DEFAULT_TRAIN_CROP",
    "MAX_COLOUR_JITTER",
    "MEAN_RGB",
    "POSITIONS",
    "SCALES",
    "STD_RGB",
    "TRAIN_CROPS",
    "count_eval_clips",
    "crop_window",
    "decode_clip",
    "eval_clip_starts",
    "jitter_colours",
    "load",
    "loop_pad_indices",
    "normalize_frames",
    "num_eval_clips",
    "train_clip_indices",
]

DEFAULT_SHUFFLE_BUFFER = 128
_ALL_SCALES = tuple(range(len(SCALES)))
_ALL_POSITIONS = tuple(range(len(POSITIONS)))
# Training crop -> (scale indices, position indices) drawn from uniformly (`clip_choices`);
# None: the random resized crop (`clip_augment.resized_crop_window`).
TRAIN_CROPS = dict(
    zip(
        TRAIN_CROP_NAMES,
        (
            (_ALL_SCALES, _ALL_POSITIONS),  # corner_multiscale: the paper's
            ((0, 1, 2), _ALL_POSITIONS),  # corner_large
            (_ALL_SCALES, (0,)),  # centre_multiscale
            ((0,), (0,)),  # centre
            ((0,), _ALL_POSITIONS),  # corner
            None,  # resized
        ),
        strict=True,
    )
)


def _frame_shape(jpegs: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    shape = tf.io.extract_jpeg_shape(jpegs[0])
    return shape[0], shape[1]


def _draw(choices: tuple[int, ...], seed) -> tf.Tensor:
    """One of `choices`, uniformly."""
    pick = tf.random.stateless_uniform([], seed, 0, len(choices), dtype=tf.int32)
    return tf.gather(tf.constant(choices, tf.int32), pick)


def _train_map(num_frames, image_size, stride, video_index, crop, colour_jitter, augment):
    grid = TRAIN_CROPS[crop]

    def fn(serialized, seed):
        record = parse_sequence_example(serialized)
        seeds = tf.random.experimental.stateless_split(seed, 4)
        if augment.speed > 1:
            indices = speed_clip_indices(
                record["num_frames"], num_frames, stride, augment.speed, seeds[0]
            )
        else:
            indices = train_clip_indices(record["num_frames"], num_frames, stride, seeds[0])
        flip = tf.random.stateless_uniform([], seeds[3]) < 0.5
        height, width = _frame_shape(record["frames"])
        if grid is None:
            window = resized_crop_window(
                height, width, augment.crop_min_area, augment.crop_max_aspect, seeds[1]
            )
        else:
            scale = _draw(grid[0], seeds[1])
            position = _draw(grid[1], seeds[2])
            window = crop_window(height, width, scale, position)
        clip = decode_clip(record["frames"], indices, window, image_size, flip)
        clip = jitter_colours(
            clip, colour_jitter, tf.random.experimental.stateless_fold_in(seed, 1)
        )
        clip = random_grayscale(
            clip, augment.grayscale, tf.random.experimental.stateless_fold_in(seed, 2)
        )
        clip = normalize_frames(clip)
        clip = random_erase(clip, augment.erase, tf.random.experimental.stateless_fold_in(seed, 3))
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
    augment: ClipAugmentation | None = None,
    view: tuple[int, bool] = (0, False),
    data_service: str | None = None,
    data_service_job: str | None = None,
) -> tf.data.Dataset:
    """Batches of clips from a prepared directory, ready for ``model.fit`` / ``model.evaluate``.

    Training (sec. IV-B): records shuffled (shards, then a buffer), one clip per video per epoch:
    ``num_frames`` frames ``frame_stride`` apart from a uniformly random start (loop-padded when
    the video is shorter), one crop position (centre or a corner) and one scale of the short side
    (`SCALES`) shared by all frames, resized to ``image_size``, flipped horizontally with p=0.5,
    normalised with `MEAN_RGB`/`STD_RGB`. ``crop`` can narrow the crop choices (`TRAIN_CROPS`);
    ``colour_jitter`` adds `jitter_colours`, ``augment`` the augmentations of
    `xwisenet_tf.data.clip_augment` for small datasets (neither in the paper).

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
            ``"corner_large"``, ``"corner"`` (scale 1), ``"centre_multiscale"``, ``"centre"``
            (scale 1) or ``"resized"`` (random area, aspect and position, `augment`'s range).
            Evaluation always crops the centre at scale 1.
        colour_jitter: Strength of `jitter_colours` on training clips (0: none, the paper's).
        augment: `ClipAugmentation` of training clips (default: all off).
        view: Evaluation: ``(position, flip)``, the crop position at scale 1 (an index of
            `POSITIONS`; 0, the centre, is the paper's) and a horizontal flip, for
            test-time augmentation (`xwisenet_tf.data.clip_choices.TEST_VIEWS`).
        data_service: Training: the address of a tf.data service dispatcher
            (``grpc://host:port``) whose workers make the batches (`xwisenet_tf.data.service`:
            each pass over the records gives each video one clip, keyed by seed, pass and
            record, so the clips differ from the local pipeline's draws; order is not
            deterministic).
        data_service_job: Training with ``data_service``: trainers naming the same job share
            it (each batch goes to one of them).

    Returns:
        A dataset of ``(clips, labels)`` or ``(clips, labels, video_ids)``: clips float32
        ``(batch, num_frames, image_size, image_size, 3)``, labels and video ids int32
        ``(batch,)``.

    Raises:
        DataError: missing/incomplete directory, unknown split, bad argument, a shard that is
            missing, truncated or not a TFRecord file (named in the message), or no dispatcher
            at ``data_service``.
    """
    data_dir = os.fspath(data_dir)
    if data_service is not None and not training:
        raise DataError("data_service makes training clips only; evaluation runs locally")
    _check_args(num_frames, image_size, frame_stride, batch_size, shuffle_buffer)
    if crop not in TRAIN_CROPS:
        raise DataError(f"unknown crop {crop!r}; expected one of {list(TRAIN_CROPS)}")
    if not 0 <= colour_jitter <= MAX_COLOUR_JITTER:
        raise DataError(
            f"colour_jitter must be in [0, {MAX_COLOUR_JITTER}]; received {colour_jitter!r}"
        )
    augment = augment or ClipAugmentation()
    problems = augment.problems()
    if problems:
        raise DataError("; ".join(problems))
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

    if training and data_service is not None:
        # Order is not deterministic through the service; the clips are (keyed seeds).
        options.deterministic = deterministic = False
        paths = [service.absolute(f) for f in files]
        keyed = service.keyed_records(paths, seed, shuffle_buffer, None if repeat else 1)
    elif training:
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
        keyed = tf.data.Dataset.zip(records, seeds)
    if training:
        table = _video_index(entry) if with_video_id else None
        ds = keyed.map(
            _train_map(num_frames, image_size, frame_stride, table, crop, colour_jitter, augment),
            num_parallel_calls=autotune,
            deterministic=deterministic,
        )
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
        ds = ds.prefetch(autotune).with_options(options)
        if data_service is not None:
            ds = service.distribute(ds, data_service, data_service_job).prefetch(autotune)
        return ds

    table = _video_index(entry)
    records = tf.data.TFRecordDataset(files, num_parallel_reads=None)

    def parse(serialized):
        record = parse_sequence_example(serialized)
        height, width = _frame_shape(record["frames"])
        window = crop_window(height, width, 0, view[0])
        starts = eval_clip_starts(record["num_frames"], num_frames, frame_stride)
        return record["frames"], record["label"], table.lookup(record["video_id"]), window, starts

    def clips(jpegs, label, video_id, window, starts):
        per_video = tf.data.Dataset.from_tensors((jpegs, label, video_id, window)).repeat()
        return tf.data.Dataset.zip(per_video, tf.data.Dataset.from_tensor_slices(starts))

    def decode(video, start):
        jpegs, label, video_id, window = video
        n = tf.shape(jpegs)[0]
        indices = loop_pad_indices(start + tf.range(num_frames) * frame_stride, n)
        flip = tf.constant(bool(view[1]))
        clip = normalize_frames(decode_clip(jpegs, indices, window, image_size, flip))
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
