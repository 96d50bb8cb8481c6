"""The callbacks ``model.fit`` runs in `xwisenet_tf.training.train`, in order.

Replica statistics first; on the chief, the CSV history, TensorBoard, the graph and the time
left; then the stateful ones a resumed run restores: the ReLU warm-up, the paper's lr x0.1 on a
validation plateau (sec. IV-B, plateau schedule only), the best/last checkpoints with their
metadata; last, the resumable backup of all of them.
"""

from __future__ import annotations

import os

import keras
import tensorflow as tf

from xwisenet_tf.training import callbacks as cb
from xwisenet_tf.training.config import TrainConfig
from xwisenet_tf.training.model_build import ExportModel
from xwisenet_tf.training.relu_warmup import ReluWarmup, relu_warmup_steps
from xwisenet_tf.training.strategy import TaskInfo


def fit_callbacks(
    config: TrainConfig,
    model: keras.Model,
    strategy: tf.distribute.Strategy,
    own_dir: str,
    backup_dir: str,
    task: TaskInfo,
    monitor: str,
    resolved: dict,
) -> list[keras.callbacks.Callback]:
    """The run's callbacks; the last one is the `ResumableBackup` (``restore()`` it first).

    Args:
        config: The resolved configuration.
        model: The compiled model.
        strategy: Its distribution strategy.
        own_dir: This process's directory of the run.
        backup_dir: Its training state.
        task: This process's place in a multi-machine run.
        monitor: The metric a plateau and the best checkpoint follow.
        resolved: The ``"resolved"`` entry of ``config.json``.
    """
    export = ExportModel(model, config, len(resolved["class_names"]))

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
    for callback in stateful:  # with an EMA, the checkpoints hold the weights' moving averages
        swap = config.ema and callback is checkpoints
        callbacks += [cb.EmaSwap(), callback, cb.EmaSwap()] if swap else [callback]
    callbacks.append(cb.ResumableBackup(backup_dir, stateful=stateful))
    return callbacks
