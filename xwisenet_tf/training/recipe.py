"""`train`: a training recipe as one library call behind ``train.py``.

The recipe (`xwisenet_tf.training.recipes`) is the default one (AdamW on kernels, warm-up then
cosine decay by optimizer steps, label smoothing, several clips per video per epoch; the last
epoch is the model) or the paper's (sec. IV-B: cross-entropy from scratch; Adam, lr 1e-3, weight
decay 1e-3 as a coupled L2, see `xwisenet_tf.training.optimizer`; lr x0.1 when the validation
accuracy plateaus, validation source: `xwisenet_tf.training.datasets`). Clips: 16 frames from a
random start, multi-scale crops, flips (`xwisenet_tf.data.load`). Around that: data converted on
first use, ``config.json``, resumable backup, best/last ``.keras`` checkpoints with class names,
TensorBoard and CSV logs, a progress bar, single/multi-GPU/multi-machine strategies, and a final
evaluation of the kept model on the test split with the recognition protocol (sec. IV-C).

Layout of ``model_dir`` (chief process)::

    config.json              resolved configuration (TrainConfig + what was resolved)
    best.keras(.json)        best epoch by the monitored accuracy (plateau schedule only)
    last.keras(.json)        last completed epoch
    backup/                  training state for resumption (weights + optimiser, state.json)
    history.csv              one row per epoch (loss, accuracy, val_*, learning_rate, steps)
    logs/train, logs/validation   TensorBoard event files
    eval_test.json, eval_test_confusion.png   final test report
    workers/worker-N/        backup and last.keras of non-chief workers (multi-machine)
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import keras
import tensorflow as tf

from xwisenet_tf import __version__, data
from xwisenet_tf.data.cache import prepare_data
from xwisenet_tf.files import write_json
from xwisenet_tf.training import callbacks as cb
from xwisenet_tf.training.config import (
    CONFIG_FILE,
    TrainConfig,
    config_differences,
    read_run_config,
)
from xwisenet_tf.training.datasets import ValidationPlan, load_videos, plan_validation
from xwisenet_tf.training.errors import TrainingError
from xwisenet_tf.training.optimizer import compile_recipe
from xwisenet_tf.training.recipes import RECIPE_FIELDS
from xwisenet_tf.training.relu_warmup import ReluWarmup, relu_warmup_steps
from xwisenet_tf.training.run_messages import (
    plan_line,
    print_header,
    print_relu_warmup,
    print_selection,
)
from xwisenet_tf.training.strategy import (
    TaskInfo,
    make_strategy,
    patch_model_for_strategy,
    read_tf_config,
    strategy_name,
)


@dataclass
class TrainResult:
    """What `train` did.

    Attributes:
        model_dir: The run's directory (absolute).
        config: The configuration used.
        epochs_completed: Epochs completed in total (resumed ones included).
        initial_epoch: Epochs already completed when this call started (0 for a fresh run).
        optimizer_steps: Optimiser iterations in total.
        history: Rows of ``history.csv`` (all epochs of the run).
        best_checkpoint: ``best.keras`` (``None`` if no epoch ran).
        last_checkpoint: ``last.keras`` (``None`` if no epoch ran).
        test_report: Report of `evaluate` on the test split (``None`` if not run).
        model: The trained Keras model (in its strategy's scope).
    """

    model_dir: str
    config: TrainConfig
    epochs_completed: int
    initial_epoch: int
    optimizer_steps: int
    history: list[dict[str, float]]
    best_checkpoint: str | None
    last_checkpoint: str | None
    test_report: dict[str, Any] | None
    model: keras.Model = field(repr=False)


def train(config: TrainConfig, callbacks: list | None = None) -> TrainResult:
    """Trains a model with a recipe (module docstring); resumes an interrupted run.

    Running the same configuration again in the same ``model_dir`` continues from the last
    completed epoch (same weights, optimiser state, learning-rate schedule and best checkpoint)
    up to ``config.epochs``; a completed run is not trained again.

    Args:
        config: What to train (`TrainConfig`).
        callbacks: Extra Keras callbacks for ``model.fit`` (e.g. a measurement); they run
            before the run's own checkpoint and backup callbacks.

    Returns:
        A `TrainResult`.

    Raises:
        TrainingError: bad configuration, a ``model_dir`` holding another run, or a missing or
            corrupt training state.
        DataError: the dataset cannot be found, converted or read.
    """
    config = config.validate().resolved()
    task = read_tf_config()
    strategy = make_strategy(config.strategy, config.cpu_devices)
    replicas = strategy.num_replicas_in_sync
    if config.batch_size % replicas:
        raise TrainingError(
            f"batch_size {config.batch_size} is global and must be divisible by the "
            f"{replicas} replicas of strategy {strategy_name(strategy)}"
        )
    if task.is_chief:
        print(plan_line(config), flush=True)
    prepared = prepare_data(config.dataset, config.data_dir, config.dataset_options)
    manifest = data.read_manifest(prepared)
    _check_trainable(manifest, prepared)
    class_names = list(manifest["classes"])
    validation = plan_validation(manifest, config.validation, config.holdout_fraction, config.seed)
    model_spec = _model_spec(config)

    model_dir = os.path.abspath(config.model_dir or config.default_model_dir())
    own_dir = model_dir if task.is_chief else os.path.join(model_dir, "workers", task.worker_name)
    backup_dir = os.path.join(own_dir, "backup")
    state = _check_previous_run(own_dir, backup_dir, config)
    initial_epoch = state["epoch"] if state else 0

    train_videos = _train_videos(manifest, validation)
    steps = config.steps_per_epoch or _steps_per_epoch(config, len(train_videos))
    resolved = {
        "prepared_dir": prepared,
        "class_names": class_names,
        "input": _input_meta(config, manifest),
        "model_spec": model_spec,
        "num_train_videos": len(train_videos),
        "steps_per_epoch": steps,
        "validation": validation.to_dict(),
        "strategy": strategy_name(strategy),
        "num_replicas": replicas,
        "num_workers": task.num_workers,
        "mixed_precision_policy": _policy_name(config),
        "versions": {
            "xwisenet_tf": __version__,
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
        },
    }
    keras.utils.set_random_seed(config.seed)
    with _dtype_policy(_policy_name(config)):
        with strategy.scope():
            model = _build_model(config, len(class_names))
            if config.init_checkpoint:  # fine-tuning: every weight but the classifier's
                from xwisenet_tf.training.init_checkpoint import load_init_checkpoint

                load_init_checkpoint(model, config.init_checkpoint)
            compile_recipe(
                model,
                config.epochs * steps,
                config.recipe,
                **{k: getattr(config, k) for k in RECIPE_FIELDS},
            )
            model.optimizer.build(model.trainable_variables)
        patch_model_for_strategy(model, strategy)
        monitor = "val_accuracy" if validation.source != "none" else "accuracy"
        own_callbacks = _callbacks(
            config, model, strategy, own_dir, backup_dir, task, monitor, resolved
        )
        # Restore before writing anything: a bad training state must leave the run untouched.
        backup = own_callbacks[-1]
        backup.set_model(model)
        backup.restore()
        os.makedirs(own_dir, exist_ok=True)
        write_json(
            os.path.join(own_dir, CONFIG_FILE),
            {"config": _config_dict(config, model_dir), "resolved": resolved},
        )

        # A resumed run continues with fresh shuffling/augmentation randomness.
        seed = config.seed + 1000 * initial_epoch
        train_ds = _train_dataset(config, prepared, validation, seed)
        val_ds = _validation_dataset(config, prepared, validation)
        if task.num_workers > 1:
            train_ds, val_ds = (_shard_by_data(d) for d in (train_ds, val_ds))
        verbose = (
            config.verbose if config.verbose is not None else (1 if sys.stdout.isatty() else 2)
        )
        if task.is_chief:
            print_header(
                config, manifest, prepared, model, resolved, validation, model_dir, state, replicas
            )
            print_selection(config, validation, monitor)
            print_relu_warmup(config, model, resolved["steps_per_epoch"])
        start = time.time()
        with warnings.catch_warnings():
            # Keras warns when a finite validation pass ends and that datasets are not
            # shuffled by fit; both are expected here.
            warnings.filterwarnings("ignore", message=".*ran out of data.*")
            warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")
            model.fit(
                train_ds,
                epochs=config.epochs,
                steps_per_epoch=steps,
                validation_data=val_ds,
                validation_steps=config.validation_steps,
                callbacks=[*(callbacks or []), *own_callbacks],
                verbose=verbose if task.is_chief else 0,
                shuffle=False,
            )
    elapsed = time.time() - start
    history = [
        {k: float(v) for k, v in row.items() if v != ""}
        for row in cb.read_history(os.path.join(own_dir, "history.csv"))
    ]
    final_state = cb.read_backup_state(backup_dir)
    epochs_done = final_state["epoch"] if final_state else initial_epoch
    best = os.path.join(own_dir, "best.keras")
    last = os.path.join(own_dir, "last.keras")
    report = None
    if task.is_chief:
        ran = config.epochs - initial_epoch
        print(
            f"Trained {max(ran, 0)} epochs in {elapsed:.0f} s; {epochs_done} of {config.epochs} "
            f"epochs done. Checkpoints in {model_dir}"
        )
        if config.evaluate_test and "test" in manifest["splits"] and os.path.isfile(last):
            report = final_test_evaluation(
                best if os.path.isfile(best) else last, prepared, config, class_names, model_dir
            )
    return TrainResult(
        model_dir=model_dir,
        config=config,
        epochs_completed=epochs_done,
        initial_epoch=initial_epoch,
        optimizer_steps=int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
        history=history,
        best_checkpoint=best if os.path.isfile(best) else None,
        last_checkpoint=last if os.path.isfile(last) else None,
        test_report=report,
        model=model,
    )


def _train_videos(manifest: dict, validation: ValidationPlan) -> list[dict]:
    held_out = set(validation.holdout_ids)
    return [v for v in manifest["splits"]["train"]["videos"] if v["id"] not in held_out]


def _steps_per_epoch(config: TrainConfig, num_videos: int) -> int:
    """``clips_per_video`` clips of every training video, in global batches."""
    return math.ceil(num_videos * config.clips_per_video / config.batch_size)


def train_step_count(config: TrainConfig, prepared: str) -> int:
    """Optimizer steps per epoch of a resolved ``config`` on the prepared dataset."""
    if config.steps_per_epoch:
        return config.steps_per_epoch
    manifest = data.read_manifest(prepared)
    validation = plan_validation(manifest, config.validation, config.holdout_fraction, config.seed)
    return _steps_per_epoch(config, len(_train_videos(manifest, validation)))


def final_test_evaluation(
    checkpoint: str, prepared: str, config: TrainConfig, class_names: list[str], model_dir: str
) -> dict[str, Any]:
    """Evaluates ``checkpoint`` on the test split (sec. IV-C) and writes ``eval_test.json``."""
    from xwisenet_tf.training.evaluation import evaluate, load_checkpoint, write_report

    model = load_checkpoint(checkpoint)
    report = evaluate(
        model,
        prepared,
        "test",
        config.batch_size,
        config.frame_stride,
        class_names,
        progress=False,
        checkpoint=checkpoint,
    )
    path, _ = write_report(report, os.path.join(model_dir, "eval_test.json"))
    print(
        f"Test split (paper protocol, {os.path.basename(checkpoint)}): video accuracy "
        f"{report['video_accuracy']:.2%} ({report['num_videos']} videos), clip accuracy "
        f"{report['clip_accuracy']:.2%} ({report['num_clips']} clips) -> {path}"
    )
    return report


def _check_trainable(manifest: dict, prepared: str) -> None:
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


def _model_spec(config: TrainConfig) -> dict:
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


def _input_meta(config: TrainConfig, manifest: dict) -> dict:
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


def _config_dict(config: TrainConfig, model_dir: str) -> dict:
    values = config.to_dict()
    values["model_dir"] = model_dir
    values["data_dir"] = os.path.abspath(config.data_dir)
    return values


def _check_previous_run(own_dir: str, backup_dir: str, config: TrainConfig) -> dict | None:
    """Refuses a ``model_dir`` of another run or with a lost state; returns the state."""
    config_path = os.path.join(own_dir, CONFIG_FILE)
    if os.path.isfile(config_path):
        saved = read_run_config(own_dir)["config"]
        diffs = config_differences(saved, _config_dict(config, saved.get("model_dir", "")))
        if diffs:
            raise TrainingError(
                f"{own_dir}: holds a run with another configuration ({'; '.join(diffs)}); "
                "rerun with the same flags to resume it, or use another --model_dir"
            )
    state = cb.read_backup_state(backup_dir)
    if state is None:
        leftovers = [
            name
            for name in ("best.keras", "last.keras", "history.csv")
            if os.path.isfile(os.path.join(own_dir, name))
        ]
        if leftovers:
            raise TrainingError(
                f"{backup_dir}: no training state, but {own_dir} holds {', '.join(leftovers)} "
                "of a run that completed epochs; cannot resume it. Restore the backup folder, or "
                "use another --model_dir (nothing was overwritten)"
            )
    return state


def _policy_name(config: TrainConfig) -> str:
    if not config.mixed_precision:
        return "float32"
    return "mixed_float16" if tf.config.list_physical_devices("GPU") else "mixed_bfloat16"


@contextlib.contextmanager
def _dtype_policy(name: str):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _build_model(config: TrainConfig, num_classes: int) -> keras.Model:
    from xwisenet_tf.models import get_model

    shape = (config.num_frames, config.image_size, config.image_size, 3)
    try:
        model = get_model(
            config.model, num_classes, input_shape=shape, **dict(config.model_overrides)
        )
    except ValueError as e:
        raise TrainingError(f"model {config.model!r}: {e}") from e
    if keras.config.dtype_policy().name != "float32":
        # Mixed precision: keep the softmax classifier in float32 (numerically safe loss).
        model.get_layer("predictions").dtype_policy = "float32"
    return model


def _train_dataset(config: TrainConfig, prepared: str, validation: ValidationPlan, seed: int):
    common = dict(
        batch_size=config.batch_size,
        num_frames=config.num_frames,
        image_size=config.image_size,
        frame_stride=config.frame_stride,
        seed=seed,
        repeat=True,
        crop=config.train_crop,
        colour_jitter=config.colour_jitter,
    )
    if validation.holdout_ids:
        return load_videos(
            prepared, "train", True, video_ids=validation.holdout_ids, keep=False, **common
        )
    return data.load(prepared, "train", training=True, **common)


def _validation_dataset(config: TrainConfig, prepared: str, validation: ValidationPlan):
    common = dict(
        batch_size=config.batch_size,
        num_frames=config.num_frames,
        image_size=config.image_size,
        frame_stride=config.frame_stride,
    )
    if validation.source == "split":
        return data.load(prepared, validation.split, training=False, **common)
    if validation.source == "holdout":
        return load_videos(
            prepared, "train", False, video_ids=validation.holdout_ids, keep=True, **common
        )
    return None


def _shard_by_data(dataset):
    if dataset is None:
        return None
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def _callbacks(config, model, strategy, own_dir, backup_dir, task: TaskInfo, monitor, resolved):
    export = _ExportModel(model, config, len(resolved["class_names"]))

    def metadata(epoch: int, logs: dict) -> dict:
        return {
            "class_names": resolved["class_names"],
            "input": resolved["input"],
            "model": config.model,
            "model_spec": resolved["model_spec"],
            "dataset": config.dataset,
            "epoch": epoch,
            "metrics": {k: float(v) for k, v in logs.items()},
        }

    stateful: list[keras.callbacks.Callback] = []
    warmup = relu_warmup_steps(config, resolved["steps_per_epoch"])
    if warmup:
        stateful.append(ReluWarmup(warmup))
    if config.lr_schedule == "plateau":
        stateful.append(
            cb.ResumablePlateau(
                monitor=monitor,
                mode="max",
                factor=config.lr_factor,
                patience=config.lr_patience,
                min_lr=config.min_learning_rate,
                verbose=1 if task.is_chief else 0,
            )
        )
    # A fixed schedule ends at its best point by design: the last epoch is the model, and no
    # handful of validation videos picks another (no best.keras).
    selection = monitor if config.lr_schedule == "plateau" else None
    checkpoints = cb.CheckpointSaver(own_dir, selection, export, metadata)
    stateful.append(checkpoints)
    callbacks: list[keras.callbacks.Callback] = [cb.SyncReplicaStatistics(strategy)]
    if task.is_chief:
        callbacks.append(cb.HistoryCSV(os.path.join(own_dir, "history.csv")))
        callbacks.append(
            keras.callbacks.TensorBoard(
                os.path.join(own_dir, "logs"),
                write_graph=True,
                update_freq="epoch",
                profile_batch=0,
            )
        )
        callbacks.append(cb.GraphWriter(os.path.join(own_dir, "logs", "train")))
        callbacks.append(cb.RemainingTime(config.epochs))
    callbacks += stateful
    callbacks.append(cb.ResumableBackup(backup_dir, stateful=stateful))
    return callbacks


class _ExportModel:
    """The model to checkpoint: uncompiled float32, same weights (see `CheckpointSaver`)."""

    def __init__(self, model: keras.Model, config: TrainConfig, num_classes: int):
        self.model, self.config, self.num_classes = model, config, num_classes
        self._export: keras.Model | None = None

    def __call__(self) -> keras.Model:
        if keras.config.dtype_policy().name == "float32" and self.model.dtype_policy.name == (
            "float32"
        ):
            if self._export is None:
                self._export = keras.Model(
                    self.model.inputs, self.model.outputs, name=self.model.name
                )
            return self._export
        if self._export is None:
            with _dtype_policy("float32"):
                self._export = _build_model(self.config, self.num_classes)
        self._export.set_weights(self.model.get_weights())
        return self._export
