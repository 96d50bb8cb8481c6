"""What a training run resolves before it builds anything, written to ``config.json``.

The checks of the prepared data (a training split, two classes or more), the preset's spec in
JSON form, the clip format (sec. IV-B: 16 frames, 112x112, mean and std of the normalisation)
with the stored frames' format, the optimizer steps of an epoch, and the ``"resolved"`` entry of
``config.json`` that gathers them with the strategy, the dtype policy and the versions.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import keras
import tensorflow as tf

from xwisenet_tf import __version__, data
from xwisenet_tf.training.config import TrainConfig
from xwisenet_tf.training.datasets import ValidationPlan, run_validation
from xwisenet_tf.training.errors import TrainingError
from xwisenet_tf.training.model_build import policy_name
from xwisenet_tf.training.strategy import strategy_name


def check_trainable(manifest: dict, prepared: str) -> None:
    """Refuses a dataset without training videos or with fewer than two classes."""
    splits = manifest["splits"]
    if not splits.get("train", {}).get("videos"):
        raise TrainingError(
            f"{prepared}: the dataset has no training videos (splits: "
            f"{ {s: len(e.get('videos', [])) for s, e in splits.items()} }); expected a "
            "train split with videos"
        )
    if len(manifest["classes"]) < 2:
        raise TrainingError(
            f"{prepared}: the dataset has {len(manifest['classes'])} class; expected at least 2"
        )


def model_spec(config: TrainConfig) -> dict:
    """The spec of ``config.model`` with its overrides, in JSON form."""
    from xwisenet_tf.models.presets import resolve_spec

    try:
        spec = resolve_spec(config.model, **dict(config.model_overrides))
    except ValueError as e:
        raise TrainingError(f"model {config.model!r}: {e}") from e
    return json_safe(dataclasses.asdict(spec))


def json_safe(value):
    """Tuples -> lists, recursively (JSON form of a spec)."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def input_meta(config: TrainConfig, manifest: dict) -> dict:
    """The clip format and the stored frames' format (rate, JPEG quality: `frame_format`)."""
    from xwisenet_tf.data.pipeline import MEAN_RGB, STD_RGB
    from xwisenet_tf.training.metadata import frame_format

    return {
        "num_frames": config.num_frames,
        "image_size": config.image_size,
        "frame_stride": config.frame_stride,
        **frame_format(manifest),
        "mean_rgb": list(MEAN_RGB),
        "std_rgb": list(STD_RGB),
    }


def training_videos(manifest: dict, validation: ValidationPlan) -> list[dict]:
    """The training split's videos, less those held out for validation."""
    held_out = set(validation.holdout_ids)
    return [v for v in manifest["splits"]["train"]["videos"] if v["id"] not in held_out]


def steps_per_epoch(config: TrainConfig, manifest: dict, validation: ValidationPlan) -> int:
    """``config.steps_per_epoch``, or ``clips_per_video`` clips of every training video in
    global batches."""
    if config.steps_per_epoch:
        return config.steps_per_epoch
    num_videos = len(training_videos(manifest, validation))
    return math.ceil(num_videos * config.clips_per_video / config.batch_size)


def train_step_count(config: TrainConfig, prepared: str) -> int:
    """Optimizer steps per epoch of a resolved ``config`` on the prepared dataset."""
    if config.steps_per_epoch:
        return config.steps_per_epoch
    manifest = data.read_manifest(prepared)
    validation = run_validation(config, manifest)
    return steps_per_epoch(config, manifest, validation)


def resolved_entry(
    config: TrainConfig,
    prepared: str,
    manifest: dict,
    validation: ValidationPlan,
    spec: dict,
    strategy: tf.distribute.Strategy,
    num_workers: int,
) -> dict[str, Any]:
    """The ``"resolved"`` entry of ``config.json``: what the configuration became on this
    data (`model_spec` ``spec``, validation source) and these devices (``strategy``, workers)."""
    return {
        "prepared_dir": prepared,
        "class_names": list(manifest["classes"]),
        "input": input_meta(config, manifest),
        "model_spec": spec,
        "num_train_videos": len(training_videos(manifest, validation)),
        "steps_per_epoch": steps_per_epoch(config, manifest, validation),
        "validation": validation.to_dict(),
        "strategy": strategy_name(strategy),
        "num_replicas": strategy.num_replicas_in_sync,
        "num_workers": num_workers,
        "mixed_precision_policy": policy_name(config),
        "versions": {
            "xwisenet_tf": __version__,
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
        },
    }
