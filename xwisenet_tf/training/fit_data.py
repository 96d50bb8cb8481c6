"""The two datasets ``model.fit`` reads in `xwisenet_tf.training.train`.

Training clips (sec. IV-B): endless, shuffled, augmented with the run's crop, colour jitter and
`xwisenet_tf.data.clip_augment` settings (mixup/CutMix last, on whole batches), from the
training split less any held-out videos. Validation clips (sec. IV-C protocol: every
non-overlapping clip, centre crop) from the source `plan_validation` chose, or none.
"""

from __future__ import annotations

import hashlib
import os

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
    config: TrainConfig,
    prepared: str,
    validation: ValidationPlan,
    seed: int,
    service_job: str | None = None,
) -> tf.data.Dataset:
    """Endless batches of augmented training clips; ``seed`` drives shuffling and augmentation.

    With ``config.data_service`` a tf.data service makes the batches (`xwisenet_tf.data.load`'s
    ``data_service``; trainers of one multi-machine run share the job ``service_job``);
    mixup/CutMix and the holdout filter run here, on the trainer."""
    common = dict(
        _clip_format(config),
        seed=seed,
        repeat=True,
        crop=config.train_crop,
        colour_jitter=config.colour_jitter,
        augment=config.augmentation(),
        data_service=config.data_service,
        data_service_job=service_job,
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


def shard_by_data(dataset: tf.data.Dataset | None, shard: bool = True) -> tf.data.Dataset | None:
    """``dataset`` sharded by element across workers (multi-machine training); with
    ``shard=False`` not sharded at all (a tf.data service job the workers share already gives
    each of them other batches: sharding would drop most)."""
    if dataset is None:
        return None
    options = tf.data.Options()
    policy = tf.data.experimental.AutoShardPolicy
    options.experimental_distribute.auto_shard_policy = policy.DATA if shard else policy.OFF
    return dataset.with_options(options)


def service_job_name(model_dir: str, seed: int) -> str:
    """The tf.data service job the workers of one multi-machine run share: the same on every
    worker (same ``model_dir`` and seed), another for another run or resumption."""
    digest = hashlib.sha256(os.path.abspath(model_dir).encode()).hexdigest()[:12]
    return f"xwisenet-train-{digest}-{seed}"
