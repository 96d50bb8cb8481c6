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

from xwisenet_tf.training.errors import TrainingError

CONFIG_FILE = "config.json"
STRATEGIES = ("auto", "default", "mirrored", "multi_worker")
VALIDATIONS = ("auto", "split", "holdout", "none")
WEIGHT_DECAY_MODES = ("l2", "decoupled")
# The keys of `xwisenet_tf.data.pipeline.TRAIN_CROPS` (named here so that flags are checked
# before TensorFlow loads; a test keeps the two equal).
TRAIN_CROPS = ("corner_multiscale", "centre_multiscale", "centre")
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


@dataclass
class TrainConfig:
    """What to train and how (paper sec. IV-B); every field is a flag of ``train.py``.

    Attributes:
        dataset: ``"kth"`` (downloaded), ``"kth:PATH"``, ``"folder:PATH"``, ``"csv:PATH"`` or
            ``"synthetic"`` (see `xwisenet_tf.data.ensure_dataset`).
        data_dir: Cache of downloads and prepared TFRecords (converted on first use).
        model_dir: Checkpoints, logs and ``config.json``; default ``runs/<model>-<dataset>``.
        model: A preset of `xwisenet_tf.models.list_models`.
        model_overrides: Options of the preset (``conv_type``, ``block``, ``width``...).
        num_frames: Frames per clip (paper: 16).
        image_size: Clip height and width (paper: 112).
        frame_stride: Step between sampled frames.
        train_crop: Spatial crop of the training clips: ``"corner_multiscale"`` (the paper's:
            centre or a corner, scale 1 to 1/2), ``"centre_multiscale"`` or ``"centre"`` (scale
            1), for data whose actor a corner crop would cut out.
        batch_size: Global batch size, split across replicas.
        epochs: Total epochs of the run (a resumed run continues up to this number).
        steps_per_epoch: Batches per epoch; default one pass over the training videos.
        validation_steps: Batches per validation; default all validation clips.
        learning_rate: Initial Adam learning rate (paper: 1e-3).
        weight_decay: Weight decay (paper: 1e-3).
        weight_decay_mode: ``"l2"``: coupled L2 as PyTorch's ``Adam(weight_decay=)`` (default,
            what the authors' PyTorch code most likely did); ``"decoupled"``: AdamW-style, as
            Keras' ``Adam(weight_decay=)``.
        lr_factor: Learning-rate factor when validation accuracy plateaus (paper: 0.1).
        lr_patience: Epochs without improvement before the factor is applied.
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
    """

    dataset: str = "kth"
    data_dir: str = "data_cache"
    model_dir: str | None = None
    model: str = "xwisenet"
    model_overrides: dict[str, Any] = field(default_factory=dict)
    num_frames: int = 16
    image_size: int = 112
    frame_stride: int = 1
    train_crop: str = "corner_multiscale"
    batch_size: int = 16
    epochs: int = 50
    steps_per_epoch: int | None = None
    validation_steps: int | None = None
    learning_rate: float = 1e-3
    weight_decay: float = 1e-3
    weight_decay_mode: str = "l2"
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

    def validate(self) -> TrainConfig:
        """Checks values that need no data or TensorFlow; returns ``self``.

        Raises:
            TrainingError: naming the field, the value and what was expected.
        """
        from xwisenet_tf.models import list_models

        if self.model not in list_models():
            raise TrainingError(f"unknown model {self.model!r}; expected one of {list_models()}")
        for name in ("num_frames", "image_size", "frame_stride", "batch_size", "seed"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < (0 if name == "seed" else 1):
                raise TrainingError(f"{name} must be a positive integer; received {value!r}")
        if not isinstance(self.epochs, int) or self.epochs < 0:
            raise TrainingError(f"epochs must be an integer >= 0; received {self.epochs!r}")
        for name in ("steps_per_epoch", "validation_steps", "cpu_devices"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise TrainingError(f"{name} must be a positive integer; received {value!r}")
        for name in ("learning_rate", "lr_factor"):
            value = getattr(self, name)
            if not value > 0:
                raise TrainingError(f"{name} must be > 0; received {value!r}")
        if not 0 < self.lr_factor < 1:
            raise TrainingError(f"lr_factor must be in (0, 1); received {self.lr_factor!r}")
        if self.weight_decay < 0:
            raise TrainingError(f"weight_decay must be >= 0; received {self.weight_decay!r}")
        if not 0 < self.holdout_fraction < 1:
            raise TrainingError(
                f"holdout_fraction must be in (0, 1); received {self.holdout_fraction!r}"
            )
        _check_choice("strategy", self.strategy, STRATEGIES)
        _check_choice("validation", self.validation, VALIDATIONS)
        _check_choice("weight_decay_mode", self.weight_decay_mode, WEIGHT_DECAY_MODES)
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


def write_json(path: str | os.PathLike, data: dict) -> None:
    """Writes JSON atomically (temporary file, then rename)."""
    path = os.fspath(path)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


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

    A field missing from ``saved`` (written before the field existed) counts as its default.
    """
    defaults = TrainConfig().to_dict()
    saved = {**{k: v for k, v in defaults.items() if k not in saved}, **saved}
    keys = sorted((set(saved) | set(current)) - RESUMABLE_FIELDS)
    return [
        f"{k}: {saved.get(k)!r} -> {current.get(k)!r}"
        for k in keys
        if saved.get(k) != current.get(k)
    ]
