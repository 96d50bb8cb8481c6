"""The two datasets ``model.fit`` reads in `xwisenet_tf.training.train`.

Training clips (sec. IV-B): endless, shuffled, augmented with the run's crop, colour jitter and
`xwisenet_tf.data.clip_augment` settings (mixup/CutMix last, on whole batches), from the
training split less any held-out videos. Validation clips (sec. IV-C protocol: every
non-overlapping clip, centre crop) from the source `plan_validation` chose, or none.
"""

from __future__ import annotations

import tensorflow as tf

from xwisenet_tf import data
from xwisenet_tf.data.clip_augment import mix_batches
from xwisenet_tf.training.config import TrainConfig
from xwisenet_tf.training.datasets import ValidationPlan, load_videos


def _clip_format(config: TrainConfig) -> dict:
    return dict(
        batch_size=config.batch_size,
        num_frames=config.num_frames,
        image_size=config.image_size,
        frame_stride=config.frame_stride,
    )


def train_dataset(
    config: TrainConfig, prepared: str, validation: ValidationPlan, seed: int
) -> tf.data.Dataset:
    """Endless batches of augmented training clips; ``seed`` drives shuffling and augmentation."""
    common = dict(
        _clip_format(config),
        seed=seed,
        repeat=True,
        crop=config.train_crop,
        colour_jitter=config.colour_jitter,
        augment=config.augmentation(),
    )
    if validation.holdout_ids:
        clips = load_videos(
            prepared, "train", True, video_ids=validation.holdout_ids, keep=False, **common
        )
    else:
        clips = data.load(prepared, "train", training=True, **common)
    num_classes = len(data.read_manifest(prepared)["classes"])
    return mix_batches(clips, num_classes, config.mixup, config.cutmix, seed)


def validation_dataset(
    config: TrainConfig, prepared: str, validation: ValidationPlan
) -> tf.data.Dataset | None:
    """One pass over the validation clips, or ``None`` without validation."""
    common = _clip_format(config)
    if validation.source == "split":
        return data.load(prepared, validation.split, training=False, **common)
    if validation.source == "holdout":
        return load_videos(
            prepared, "train", False, video_ids=validation.holdout_ids, keep=True, **common
        )
    return None


def shard_by_data(dataset: tf.data.Dataset | None) -> tf.data.Dataset | None:
    """``dataset`` sharded by element across workers (multi-machine training)."""
    if dataset is None:
        return None
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)
