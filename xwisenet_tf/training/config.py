"""The resolved configuration of a training run, written to ``model_dir/config.json``.

`TrainConfig` holds what the user chose (flags of ``train.py`` or arguments of `train`);
``train`` adds what it resolved (prepared data directory, class names, model spec, steps,
validation source, strategy) under ``"resolved"``. A rerun in the same ``model_dir`` must use the
same configuration (only `RESUMABLE_FIELDS` may change), so that a resumed run continues the run
it resumes and nothing already written is mixed with another experiment.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from typing import Any

from xwisenet_tf.data.synthetic_defaults import QUICK_START_MINUTES as QUICK_START_MINUTES
from xwisenet_tf.training.errors import TrainingError
from xwisenet_tf.training.recipes import LR_SCHEDULES, RECIPES

CONFIG_FILE = "config.json"
STRATEGIES = ("auto", "default", "mirrored", "multi_worker")
VALIDATIONS = ("auto", "split", "holdout", "none")
WEIGHT_DECAY_MODES = ("l2", "decoupled", "decoupled_kernels")
# The keys of `xwisenet_tf.data.pipeline.TRAIN_CROPS` (named here so that flags are checked
# before TensorFlow loads; a test keeps the two equal).
TRAIN_CROPS = ("corner_multiscale", "corner_large", "centre_multiscale", "centre", "corner")
MAX_COLOUR_JITTER = 2.0  # `xwisenet_tf.data.pipeline.MAX_COLOUR_JITTER` (a test keeps them equal)
# Defaults of fields left at None that depend on the dataset kind: the paper's clip size and a
# long run for real data; for the embedded synthetic task (96x72 videos), a clip size and length
# that train the paper's XwiseNet in about QUICK_START_MINUTES minutes on 2 CPU cores:
# 48-pixel clips take 0.6x the step time of 64-pixel ones, so the same minutes give 1200
# optimizer steps instead of 720, which the network needs more than the detail
# (docs/training.md).
DATASET_DEFAULTS = {
    "synthetic": {"image_size": 48, "epochs": 10},
    None: {"image_size": 112, "epochs": 50},
}
MODEL_OVERRIDE_FLAGS = (
    "conv_type",
    "block",
    "block_position",
    "block_stages",
    "context_pooling",
    "width",
    "stage_repeats",
    "temporal_strides",
    "dropout",
)
# Fields a rerun may change without invalidating the saved training state.
RESUMABLE_FIELDS = frozenset(
    {"epochs", "strategy", "cpu_devices", "model_dir", "evaluate_test", "verbose"}
)
# What a config.json written before a field existed was trained with: the paper's recipe.
_LEGACY_VALUES = {"recipe": "paper", **RECIPES["paper"]}


@dataclass
class TrainConfig:
    """What to train and how; every field is a flag of ``train.py``.

    Fields left at ``None`` take their value from the recipe (`xwisenet_tf.training.recipes`:
    ``"default"`` or the paper's, sec. IV-B) or from the dataset kind (`DATASET_DEFAULTS`);
    `resolved` returns the config with every value filled in.

    Attributes:
        dataset: ``"kth"`` (downloaded), ``"kth:PATH"``, ``"folder:PATH"``, ``"csv:PATH"`` or
            ``"synthetic"`` (see `xwisenet_tf.data.ensure_dataset`).
        data_dir: Cache of downloads and prepared TFRecords (converted on first use).
        model_dir: Checkpoints, logs and ``config.json``; default ``runs/<model>-<dataset>``.
        model: A preset of `xwisenet_tf.models.list_models`.
        model_overrides: Options of the preset (``conv_type``, ``block``, ``width``...).
        num_frames: Frames per clip (paper: 16).
        image_size: Clip height and width (paper: 112; default 112, 48 for ``synthetic``).
        frame_stride: Step between sampled frames.
        train_crop: Spatial crop of the training clips: ``"corner_multiscale"`` (the paper's:
            centre or a corner, scale 1 to 1/2), ``"corner_large"`` (the same positions, scale
            1 to 2^-1/2), ``"corner"`` (the same positions at scale 1: shifts, no zoom),
            ``"centre_multiscale"`` or ``"centre"`` (scale 1), for data whose actor a corner crop
            would cut out.
        batch_size: Global batch size, split across replicas.
        epochs: Total epochs of the run (a resumed run continues up to this number; default 50,
            10 for ``synthetic``).
        steps_per_epoch: Batches per epoch; default ``clips_per_video`` clips of every
            training video.
        validation_steps: Batches per validation; default all validation clips.
        recipe: ``"default"`` or ``"paper"`` (`xwisenet_tf.training.recipes`): the values of
            the recipe fields below that are left at ``None``.
        learning_rate: Initial (paper) or peak (cosine schedule) Adam learning rate.
        weight_decay: Weight decay coefficient.
        weight_decay_mode: ``"l2"``: coupled L2 as PyTorch's ``Adam(weight_decay=)`` on every
            weight (the paper's); ``"decoupled"``: AdamW on every weight, as Keras'
            ``Adam(weight_decay=)``; ``"decoupled_kernels"``: AdamW on convolution and dense
            kernels only (not BatchNorm/LayerNorm parameters or biases).
        lr_schedule: ``"plateau"`` (lr x ``lr_factor`` when the monitored accuracy stops
            improving; best epoch kept as ``best.keras``) or ``"cosine"`` (linear warm-up, then
            cosine decay to zero over the run's optimizer steps; the last epoch is the model).
        warmup_fraction: Share of the run's steps spent warming up (cosine schedule).
        label_smoothing: Label smoothing of the cross-entropy.
        clips_per_video: Random clips drawn from every training video per epoch (sets the
            default ``steps_per_epoch``).
        colour_jitter: Strength of the training clips' colour jitter
            (`xwisenet_tf.data.jitter_colours`: brightness, contrast, saturation, hue; 0: none,
            the paper's; at most 2).
        relu_warmup: Share of the run's steps over which the inner ReLUs of the X-Convs warm
            up from linear to ReLU (`xwisenet_tf.training.ReluWarmup`; 0: none, the paper's).
        lr_factor: Learning-rate factor when validation accuracy plateaus (paper: 0.1).
        lr_patience: Epochs without improvement before the factor is applied (plateau).
        min_learning_rate: Lower bound of the learning rate.
        validation: Where the plateau criterion comes from: ``"split"`` (the dataset's
            validation split), ``"holdout"`` (subjects/videos held out of the training split),
            ``"none"`` (training accuracy), ``"auto"`` (split if the dataset has one, else
            holdout). The test split is never used during training.
        holdout_fraction: Share of training subjects (KTH) or videos held out.
        seed: Seed of weights, holdout choice, shuffling and augmentation.
        strategy: ``"auto"``, ``"default"``, ``"mirrored"`` or ``"multi_worker"``.
        cpu_devices: Split the CPU into this many logical devices (to test mirroring).
        mixed_precision: Train with a mixed float16 (GPU) or bfloat16 (CPU) policy.
        dataset_options: Extra options of the dataset conversion (e.g. synthetic
            ``videos_per_class``).
        evaluate_test: After training, evaluate the best checkpoint on the test split with the
            recognition protocol (sec. IV-C) and write ``eval_test.json``.
        verbose: Keras verbosity: ``None`` (progress bar on a terminal, one line per epoch
            otherwise), 0, 1 or 2.
        init_checkpoint: A ``.keras`` model (e.g. from ``python -m xwisenet_tf.weights
            import``) whose weights start the run, all but the classifier's (fine-tuning,
            `xwisenet_tf.weights.load_init_checkpoint`); ``None`` trains from scratch.
    """

    dataset: str = "kth"
    data_dir: str = "data_cache"
    model_dir: str | None = None
    model: str = "xwisenet"
    model_overrides: dict[str, Any] = field(default_factory=dict)
    num_frames: int = 16
    image_size: int | None = None
    frame_stride: int = 1
    train_crop: str | None = None
    batch_size: int = 16
    epochs: int | None = None
    steps_per_epoch: int | None = None
    validation_steps: int | None = None
    recipe: str = "default"
    learning_rate: float | None = None
    weight_decay: float | None = None
    weight_decay_mode: str | None = None
    lr_schedule: str | None = None
    warmup_fraction: float | None = None
    label_smoothing: float | None = None
    clips_per_video: int | None = None
    colour_jitter: float | None = None
    relu_warmup: float | None = None
    lr_factor: float = 0.1
    lr_patience: int = 5
    min_learning_rate: float = 1e-6
    validation: str = "auto"
    holdout_fraction: float = 0.1
    seed: int = 0
    strategy: str = "auto"
    cpu_devices: int | None = None
    mixed_precision: bool = False
    dataset_options: dict[str, Any] = field(default_factory=dict)
    evaluate_test: bool = True
    verbose: int | None = None
    init_checkpoint: str | None = None

    def validate(self) -> TrainConfig:
        """Checks values that need no data or TensorFlow; returns ``self``.

        Raises:
            TrainingError: naming the field, the value and what was expected.
        """
        from xwisenet_tf.models import list_models

        if self.model not in list_models():
            raise TrainingError(f"unknown model {self.model!r}; expected one of {list_models()}")
        _check_choice("recipe", self.recipe, tuple(RECIPES))
        for name in ("num_frames", "image_size", "frame_stride", "batch_size", "seed"):
            value = getattr(self, name)
            if name == "image_size" and value is None:
                continue
            if not isinstance(value, int) or value < (0 if name == "seed" else 1):
                raise TrainingError(f"{name} must be a positive integer; received {value!r}")
        if self.epochs is not None and (not isinstance(self.epochs, int) or self.epochs < 0):
            raise TrainingError(f"epochs must be an integer >= 0; received {self.epochs!r}")
        for name in ("steps_per_epoch", "validation_steps", "cpu_devices", "clips_per_video"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise TrainingError(f"{name} must be a positive integer; received {value!r}")
        for name in ("learning_rate", "lr_factor"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise TrainingError(f"{name} must be > 0; received {value!r}")
        if not 0 < self.lr_factor < 1:
            raise TrainingError(f"lr_factor must be in (0, 1); received {self.lr_factor!r}")
        if self.weight_decay is not None and self.weight_decay < 0:
            raise TrainingError(f"weight_decay must be >= 0; received {self.weight_decay!r}")
        for name in ("warmup_fraction", "label_smoothing", "relu_warmup"):
            value = getattr(self, name)
            if value is not None and not 0 <= value < 1:
                raise TrainingError(f"{name} must be in [0, 1); received {value!r}")
        if self.colour_jitter is not None and not 0 <= self.colour_jitter <= MAX_COLOUR_JITTER:
            raise TrainingError(
                f"colour_jitter must be in [0, {MAX_COLOUR_JITTER}]; received {self.colour_jitter!r}"
            )
        if self.lr_schedule is not None:
            _check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        if not 0 < self.holdout_fraction < 1:
            raise TrainingError(
                f"holdout_fraction must be in (0, 1); received {self.holdout_fraction!r}"
            )
        _check_choice("strategy", self.strategy, STRATEGIES)
        _check_choice("validation", self.validation, VALIDATIONS)
        if self.weight_decay_mode is not None:
            _check_choice("weight_decay_mode", self.weight_decay_mode, WEIGHT_DECAY_MODES)
        if self.train_crop is not None:
            _check_choice("train_crop", self.train_crop, TRAIN_CROPS)
        kind = self.dataset.partition(":")[0]
        if kind not in ("kth", "folder", "csv", "synthetic") or (
            kind in ("folder", "csv") and not self.dataset.partition(":")[2]
        ):
            raise TrainingError(
                f"unknown dataset {self.dataset!r}; expected kth, kth:PATH, folder:PATH, "
                "csv:PATH or synthetic"
            )
        if self.lr_patience < 0:
            raise TrainingError(f"lr_patience must be >= 0; received {self.lr_patience!r}")
        return self

    def resolved(self) -> TrainConfig:
        """A copy with every ``None`` recipe field from `recipe` and every ``None`` dataset
        default (``image_size``, ``epochs``) from `DATASET_DEFAULTS`."""
        values = {k: v for k, v in RECIPES[self.recipe].items() if getattr(self, k) is None}
        kind = self.dataset.partition(":")[0]
        defaults = DATASET_DEFAULTS.get(kind, DATASET_DEFAULTS[None])
        values.update({k: v for k, v in defaults.items() if getattr(self, k) is None})
        return dataclasses.replace(self, **values)

    def default_model_dir(self) -> str:
        """``runs/<model>-<dataset name>`` (e.g. ``runs/xwisenet-kth``)."""
        kind, _, path = self.dataset.partition(":")
        name = kind
        if path:
            name += "-" + os.path.splitext(os.path.basename(os.path.normpath(path)))[0]
        return os.path.join("runs", f"{self.model}-{name}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of every field."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """The config of `to_dict` (unknown keys are an error: another version wrote them)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise TrainingError(f"unknown configuration fields {unknown}; expected {sorted(names)}")
        return cls(**data)


def _check_choice(name: str, value, choices) -> None:
    if value not in choices:
        raise TrainingError(f"unknown {name} {value!r}; expected one of {list(choices)}")


def read_json(path: str | os.PathLike, what: str) -> dict:
    """Reads a JSON object, with errors naming the file.

    Raises:
        TrainingError: missing, unreadable or not a JSON object.
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError as e:
        raise TrainingError(f"{path}: not found; expected {what}") from e
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise TrainingError(f"{path}: unreadable {what} ({e})") from e
    if not isinstance(data, dict):
        raise TrainingError(f"{path}: expected {what} (a JSON object)")
    return data


def read_run_config(model_dir: str | os.PathLike) -> dict:
    """``model_dir/config.json`` as written by `train`: ``{"config": ..., "resolved": ...}``."""
    path = os.path.join(os.fspath(model_dir), CONFIG_FILE)
    data = read_json(path, "the config.json of a training run")
    if "config" not in data:
        raise TrainingError(f"{path}: has no 'config' entry; expected a file written by train.py")
    return data


def config_differences(saved: dict, current: dict) -> list[str]:
    """Fields (outside `RESUMABLE_FIELDS`) whose values differ, as ``name: saved -> current``.

    Both are resolved configurations (`TrainConfig.resolved`). A field missing from ``saved``
    (written before the field existed) counts as what such a run used: the paper's recipe, or
    the field's default.
    """
    defaults = {**TrainConfig().to_dict(), **_LEGACY_VALUES}
    saved = {**{k: v for k, v in defaults.items() if k not in saved}, **saved}
    keys = sorted((set(saved) | set(current)) - RESUMABLE_FIELDS)
    return [
        f"{k}: {saved.get(k)!r} -> {current.get(k)!r}"
        for k in keys
        if saved.get(k) != current.get(k)
    ]
