"""Training and validation inputs of a run, on top of `xwisenet_tf.data.load`.

The paper lowers the learning rate "according to the accuracy of the validation set"
(sec. IV-B) but KTH's 16/9 subject split has no validation subjects. `plan_validation` picks a
sound source without ever touching the test split:

* ``split``: the dataset's own ``validation`` split (synthetic, KTH ``schuldt`` split, folder
  datasets with a ``val/`` folder);
* ``holdout``: a seeded share of the training *subjects* (KTH ``personNN``; every sample of a
  held-out person leaves training, as in the subject-wise test split) or of the training videos
  (stratified by class) for other datasets;
* ``none``: no validation; the plateau and the best checkpoint follow training accuracy.

Validation clips follow the recognition protocol (sec. IV-C: every non-overlapping clip, centre
crop); the reported ``val_accuracy`` is the clip accuracy.

`xwisenet_tf.data.load` has no way to keep or drop records by video id, which a holdout needs;
`load_videos` adds that filter around the same pipeline (to be replaced by a
``load(..., video_ids=...)`` argument of the data package).
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Collection
from dataclasses import dataclass, field

import tensorflow as tf

from xwisenet_tf import data
from xwisenet_tf.data import pipeline
from xwisenet_tf.data.tfrecord import check_shard, parse_sequence_example
from xwisenet_tf.training.errors import TrainingError
from xwisenet_tf.training.recipes import SMALL_DATA_VIDEOS

_SUBJECT = re.compile(r"^(person\d+)_")


@dataclass
class ValidationPlan:
    """Where validation clips come from.

    Attributes:
        source: ``"split"``, ``"holdout"`` or ``"none"``.
        split: The manifest split validation reads (``"validation"`` or ``"train"``).
        holdout_ids: Video ids held out of the training split (holdout only).
        holdout_groups: The held-out subjects or videos.
        note: One line for the user about the choice.
        num_videos: Validation videos.
    """

    source: str
    split: str | None = None
    holdout_ids: list[str] = field(default_factory=list)
    holdout_groups: list[str] = field(default_factory=list)
    note: str = ""
    num_videos: int = 0

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "split": self.split,
            "holdout_groups": self.holdout_groups,
            "num_holdout_videos": len(self.holdout_ids),
            "note": self.note,
        }


def run_validation(config, manifest: dict) -> ValidationPlan:
    """`plan_validation` for a resolved run's configuration: ``validation=auto`` with a cosine
    schedule and fewer than `SMALL_DATA_VIDEOS` training videos (and no validation split)
    validates on nothing and says why (the validation accuracy decides nothing under a fixed
    schedule, and a tenth of a few dozen videos is data the model misses more than the user
    misses a number); otherwise as `plan_validation` decides."""
    splits = manifest["splits"]
    videos = len(splits["train"]["videos"])
    has_split = bool(splits.get("validation", {}).get("videos"))
    small = videos < SMALL_DATA_VIDEOS
    if config.validation == "auto" and config.lr_schedule == "cosine" and small and not has_split:
        return ValidationPlan(
            "none",
            note=f"none: all {videos} training videos train (a fixed schedule decides nothing "
            f"by validation, and under {SMALL_DATA_VIDEOS} videos a held-out tenth costs more "
            "than it tells; --validation=holdout holds some out)",
        )
    return plan_validation(manifest, config.validation, config.holdout_fraction, config.seed)


def subject_of(video_id: str) -> str | None:
    """The KTH subject of a sample id (``person01_boxing_d2_seq1`` -> ``person01``)."""
    match = _SUBJECT.match(video_id)
    return match.group(1) if match else None


def plan_validation(manifest: dict, mode: str, fraction: float, seed: int) -> ValidationPlan:
    """Chooses the validation source of a run (module docstring).

    Args:
        manifest: `xwisenet_tf.data.read_manifest` of the prepared dataset.
        mode: ``"auto"``, ``"split"``, ``"holdout"`` or ``"none"``.
        fraction: Share of training subjects/videos held out.
        seed: Seed of the holdout choice.

    Raises:
        TrainingError: ``split`` requested but the dataset has no validation videos.
    """
    splits = manifest["splits"]
    has_split = bool(splits.get("validation", {}).get("videos"))
    if mode == "split" or (mode == "auto" and has_split):
        if not has_split:
            raise TrainingError(
                f"validation=split but dataset {manifest.get('dataset', '?')!r} has no "
                f"validation split (splits: {sorted(splits)}); use validation=holdout or auto"
            )
        n = len(splits["validation"]["videos"])
        return ValidationPlan(
            "split", "validation", note=f"validation split ({n} videos)", num_videos=n
        )
    if mode == "none":
        return ValidationPlan("none", note="no validation: plateau on training accuracy")
    videos = splits["train"]["videos"]
    subjects = {v["id"]: subject_of(v["id"]) for v in videos}
    rng = random.Random(seed)
    if all(subjects.values()):
        groups = sorted(set(subjects.values()))
        count = max(1, round(fraction * len(groups)))
        if len(groups) < 2:
            return _no_holdout(mode, f"only {len(groups)} training subject")
        chosen = sorted(rng.sample(groups, min(count, len(groups) - 1)))
        ids = [v for v, s in subjects.items() if s in chosen]
        what = f"subjects {', '.join(chosen)}"
    else:
        by_class: dict[int, list[str]] = {}
        for v in videos:
            by_class.setdefault(v["label"], []).append(v["id"])
        chosen = []
        for label in sorted(by_class):
            ids_of_class = sorted(by_class[label])
            if len(ids_of_class) >= 2:
                count = max(1, round(fraction * len(ids_of_class)))
                chosen += rng.sample(ids_of_class, min(count, len(ids_of_class) - 1))
        if not chosen:
            return _no_holdout(mode, "no class has two training videos")
        ids = sorted(chosen)
        what = f"{len(ids)} videos"
    note = f"holdout of the training split: {what} ({len(ids)} of {len(videos)} videos)"
    return ValidationPlan("holdout", "train", ids, chosen, note, len(ids))


def _no_holdout(mode: str, reason: str) -> ValidationPlan:
    if mode == "holdout":
        raise TrainingError(f"validation=holdout impossible: {reason}; use validation=none")
    return ValidationPlan("none", note=f"no validation ({reason}): plateau on training accuracy")


def _files(data_dir: str, split: str) -> list[str]:
    entry = data.read_manifest(data_dir)["splits"][split]
    files = []
    for shard in entry["shards"]:
        path = os.path.join(data_dir, shard["file"])
        check_shard(path, shard.get("size"))
        files.append(path)
    return files


def _id_filter(video_ids: Collection[str], keep: bool):
    ids = sorted(set(video_ids))
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant(ids), tf.ones(len(ids), tf.int32)),
        default_value=0,
    )
    context = {"video/id": tf.io.FixedLenFeature([], tf.string)}

    def predicate(serialized):
        parsed, _ = tf.io.parse_single_sequence_example(serialized, context_features=context)
        hit = table.lookup(parsed["video/id"]) > 0
        return hit if keep else tf.logical_not(hit)

    return predicate


def load_videos(
    data_dir: str,
    split: str,
    training: bool,
    batch_size: int,
    video_ids: Collection[str],
    keep: bool = True,
    num_frames: int = 16,
    image_size: int = 112,
    frame_stride: int = 1,
    seed: int | None = None,
    repeat: bool = False,
    crop: str = pipeline.DEFAULT_TRAIN_CROP,
    colour_jitter: float = 0.0,
    augment=None,
    data_service: str | None = None,
    data_service_job: str | None = None,
) -> tf.data.Dataset:
    """`xwisenet_tf.data.load` restricted to (or excluding) some videos of a split.

    Training clips come from ``load(..., with_video_id=True)`` itself (same sampling and
    augmentation), filtered after decoding (the held-out share is decoded and dropped).
    Evaluation clips are built from the pipeline's public functions with the records filtered
    by ``video/id`` before decoding (same clips as ``load(..., training=False)``).

    Args:
        data_dir: Prepared directory.
        split: Split to read.
        training: Random augmented clips (sec. IV-B) or all centre clips (sec. IV-C).
        batch_size: Clips per batch.
        video_ids: The ids to keep (``keep=True``) or to drop (``keep=False``).
        keep: See ``video_ids``.
        num_frames: Frames per clip.
        image_size: Clip side.
        frame_stride: Step between frames.
        seed: Seed of shuffling and augmentation.
        repeat: Repeat forever.
        crop: Training crop (`xwisenet_tf.data.TRAIN_CROPS`); evaluation crops the centre.
        colour_jitter: Strength of the training clips' colour jitter (`data.jitter_colours`).
        augment: `xwisenet_tf.data.clip_choices.ClipAugmentation` of training clips.
        data_service: Training: a tf.data service dispatcher making the clips
            (`xwisenet_tf.data.load`); the filter runs here, on its batches.
        data_service_job: Training: the service job to share (`xwisenet_tf.data.load`).

    Returns:
        A dataset of ``(clips, labels)``.
    """
    autotune = tf.data.AUTOTUNE
    if training:
        wanted = set(video_ids)
        videos = data.read_manifest(data_dir)["splits"][split]["videos"]
        mask = tf.constant([(v["id"] in wanted) == keep for v in videos])
        ds = data.load(
            data_dir,
            split,
            training=True,
            batch_size=batch_size,
            num_frames=num_frames,
            image_size=image_size,
            frame_stride=frame_stride,
            seed=seed,
            with_video_id=True,
            repeat=repeat,
            crop=crop,
            colour_jitter=colour_jitter,
            augment=augment,
            data_service=data_service,
            data_service_job=data_service_job,
        )
        ds = ds.unbatch().filter(lambda clip, label, index: tf.gather(mask, index))
        ds = ds.map(lambda clip, label, index: (clip, label))
        return ds.batch(batch_size).prefetch(autotune)

    files = _files(data_dir, split)
    predicate = _id_filter(video_ids, keep)

    def clips(serialized):
        record = parse_sequence_example(serialized)
        shape = tf.io.extract_jpeg_shape(record["frames"][0])
        window = pipeline.crop_window(shape[0], shape[1], 0, 0)
        starts = pipeline.eval_clip_starts(record["num_frames"], num_frames, frame_stride)
        video = tf.data.Dataset.from_tensors((record["frames"], record["label"], window))
        return tf.data.Dataset.zip(video.repeat(), tf.data.Dataset.from_tensor_slices(starts))

    def decode(video, start):
        jpegs, label, window = video
        indices = pipeline.loop_pad_indices(
            start + tf.range(num_frames) * frame_stride, tf.shape(jpegs)[0]
        )
        clip = pipeline.decode_clip(jpegs, indices, window, image_size, tf.constant(False))
        clip = pipeline.normalize_frames(clip)
        clip.set_shape([num_frames, image_size, image_size, 3])
        return clip, label

    ds = tf.data.TFRecordDataset(files).filter(predicate).flat_map(clips)
    if repeat:
        ds = ds.repeat()
    ds = ds.map(decode, num_parallel_calls=autotune, deterministic=True)
    return ds.batch(batch_size).prefetch(autotune)
