"""Callbacks of the training recipe: resumable backup, LR plateau, checkpoints, CSV history.

Resumption (`ResumableBackup`, a Keras `BackupAndRestore`): at the end of every epoch the model
weights *and optimiser state* go to ``backup/epoch-NNNN.weights.h5``, then ``backup/state.json``
is replaced atomically; that rename is the commit point, so a run killed at any moment (even
while saving) resumes from the last committed epoch with the same optimiser step count. The
state also holds what other callbacks need to continue as if never interrupted: the plateau
counter and best value of the learning-rate schedule and the best value of the ``best.keras``
checkpoint. A state that names missing or unreadable weights is an error, never a silent restart
from scratch.
"""

from __future__ import annotations

import csv
import glob
import math
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import keras

from xwisenet_tf.files import write_json
from xwisenet_tf.training.config_files import read_json
from xwisenet_tf.training.errors import TrainingError

STATE_FILE = "state.json"


class ResumablePlateau(keras.callbacks.ReduceLROnPlateau):
    """`ReduceLROnPlateau` whose counters survive a restart (paper sec. IV-B: lr x0.1 when the
    validation accuracy plateaus)."""

    state_key = "plateau"

    def get_state(self) -> dict[str, Any]:
        return {
            "wait": int(self.wait),
            "best": _finite(self.best),
            "cooldown_counter": int(self.cooldown_counter),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        self.wait = state["wait"]
        self.cooldown_counter = state["cooldown_counter"]
        if state["best"] is not None:
            self.best = state["best"]


class CheckpointSaver(keras.callbacks.Callback):
    """Writes ``last.keras`` every epoch and ``best.keras`` when ``monitor`` improves.

    Files are written under a temporary name and renamed, each with its metadata sidecar
    (``<file>.json``, see `xwisenet_tf.training.metadata`). The saved models are the inference
    models (uncompiled, float32): they load with plain ``keras.models.load_model`` once
    ``xwisenet_tf`` is imported, without the training optimiser.

    Args:
        directory: Where the checkpoints go.
        monitor: Log key deciding "best" (higher is better), e.g. ``"val_accuracy"``;
            ``None`` writes only ``last.keras``.
        export_model: Returns the model to save (uncompiled, float32, same weights).
        metadata: Returns the sidecar content for ``(epoch, logs)``.
    """

    state_key = "checkpoint"

    def __init__(
        self,
        directory: str,
        monitor: str | None,
        export_model: Callable[[], keras.Model],
        metadata: Callable[[int, dict], dict],
    ):
        super().__init__()
        self.directory = directory
        self.monitor = monitor
        self.export_model = export_model
        self.metadata = metadata
        self.best: float | None = None
        self.best_epoch: int | None = None

    def get_state(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch}

    def set_state(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch = state["best"], state["best_epoch"]

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        os.makedirs(self.directory, exist_ok=True)
        model = self.export_model()
        meta = self.metadata(epoch + 1, logs)
        save_checkpoint(model, os.path.join(self.directory, "last.keras"), meta)
        value = logs.get(self.monitor) if self.monitor else None
        if value is not None and (self.best is None or value > self.best):
            self.best, self.best_epoch = float(value), epoch + 1
            save_checkpoint(model, os.path.join(self.directory, "best.keras"), meta)


class EmaSwap(keras.callbacks.Callback):
    """Exchanges the trainable weights with the optimizer's moving averages (``use_ema``) at
    every epoch's end: one `EmaSwap` before `CheckpointSaver` and one after it make every saved
    model hold the averages while training goes on with the weights themselves (the two
    exchanges cancel exactly). A no-op when the optimizer keeps no averages.
    """

    def on_epoch_end(self, epoch, logs=None):
        optimizer = self.model.optimizer
        averages = getattr(optimizer, "_model_variables_moving_average", None)
        if not getattr(optimizer, "use_ema", False) or not averages:
            return
        for variable, average in zip(optimizer._trainable_variables, averages, strict=True):
            value = keras.ops.convert_to_numpy(variable)
            variable.assign(average)
            average.assign(value)


def save_checkpoint(model: keras.Model, path: str, metadata: dict) -> None:
    """Saves ``model`` to ``path`` (``.keras``) and its sidecar, each atomically."""
    from xwisenet_tf.training.metadata import write_metadata

    tmp = f"{path[: -len('.keras')]}.tmp{os.getpid()}.keras"
    model.save(tmp)
    os.replace(tmp, path)
    write_metadata(path, metadata)


class HistoryCSV(keras.callbacks.Callback):
    """One CSV row per completed epoch (1-based ``epoch``), with learning rate, optimiser steps
    and seconds. A resumed run first drops rows of epochs it redoes, so every epoch appears
    once."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path
        self._trimmed = False
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.time()
        if not self._trimmed:
            self._trimmed = True
            rows = read_history(self.path)
            kept = [r for r in rows if int(r["epoch"]) <= epoch]
            if len(kept) != len(rows):
                _write_rows(self.path, kept)

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1}
        row["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        row["optimizer_steps"] = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        row["seconds"] = round(time.time() - self._start, 2)
        for key, value in sorted((logs or {}).items()):
            if key != "learning_rate":
                row[key] = float(value)
        _write_rows(self.path, [*read_history(self.path), row])


class SyncReplicaStatistics(keras.callbacks.Callback):
    """Averages non-trainable variables (BatchNorm moving statistics) over all replicas.

    Keras 3 BatchNormalization (``synchronized=False``) updates its moving mean and variance in
    each replica from the replica's own sub-batch, and creates them without an aggregation, so
    under `tf.distribute` the copies drift apart (trainable weights stay identical: their
    gradients are all-reduced). Before every validation and at the end of every epoch, this
    replaces every copy by the mean over replicas and workers (one all-reduce), so that
    validation, checkpoints and the backup see one model, identical on every replica.

    Args:
        strategy: The strategy the model was built in; a single-replica strategy is a no-op.
    """

    def __init__(self, strategy):
        super().__init__()
        self.strategy = strategy
        self._sync = None

    def sync(self) -> None:
        import tensorflow as tf

        if self.strategy.num_replicas_in_sync < 2:
            return
        if self._sync is None:
            variables = [v.value for v in self.model.non_trainable_variables]
            variables = [v for v in variables if v.dtype.is_floating]
            strategy = self.strategy

            def flat():
                return tf.concat([tf.reshape(tf.cast(v, tf.float32), [-1]) for v in variables], 0)

            @tf.function
            def sync():
                mean = strategy.reduce(tf.distribute.ReduceOp.MEAN, strategy.run(flat), axis=None)
                offset = 0
                for v in variables:
                    size = int(v.shape.num_elements())
                    v.assign(tf.cast(tf.reshape(mean[offset : offset + size], v.shape), v.dtype))
                    offset += size

            self._sync = sync if variables else (lambda: None)
        self._sync()

    def on_test_begin(self, logs=None):
        self.sync()

    def on_epoch_end(self, epoch, logs=None):
        self.sync()


class RemainingTime(keras.callbacks.Callback):
    """One line with the time the run still needs, measured on the second epoch of this call
    (the first also traces the graphs), validation included."""

    def __init__(self, epochs: int):
        super().__init__()
        self.epochs = epochs
        self._start = 0.0
        self._seen = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        self._seen += 1
        left = self.epochs - (epoch + 1)
        if self._seen == 2 and left > 0:
            took = time.time() - self._start
            print(
                f"Epoch {epoch + 1} took {took:.0f} s; about {left * took / 60:.0f} min for "
                f"the remaining {left} epochs",
                flush=True,
            )


class GraphWriter(keras.callbacks.Callback):
    """Writes the model's forward graph to TensorBoard once per log directory.

    Keras 3's ``TensorBoard(write_graph=True)`` writes only the Keras model summary: its
    train function is no longer a single ``tf.function`` it can export. This traces the
    inference graph of one clip and writes it with ``tf.summary.graph``.
    """

    def __init__(self, log_dir: str):
        super().__init__()
        self.log_dir = log_dir

    def on_train_begin(self, logs=None):
        import tensorflow as tf

        marker = os.path.join(self.log_dir, ".graph_written")
        if os.path.exists(marker):
            return
        model = self.model
        spec = tf.TensorSpec([1, *model.inputs[0].shape[1:]], model.inputs[0].dtype)
        graph = (
            tf.function(lambda clips: model(clips, training=False))
            .get_concrete_function(spec)
            .graph
        )
        writer = tf.summary.create_file_writer(self.log_dir)
        with writer.as_default():
            tf.summary.graph(graph)
        writer.close()
        with open(marker, "w", encoding="utf-8") as f:
            f.write("1\n")


def read_history(path: str) -> list[dict[str, str]]:
    """Rows of a history CSV (empty when absent)."""
    if not os.path.isfile(path):
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _write_rows(path: str, rows: Sequence[dict]) -> None:
    fields: list[str] = []
    for row in rows:
        fields += [k for k in row if k not in fields]
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def read_backup_state(backup_dir: str) -> dict | None:
    """The committed training state in ``backup_dir``, checked; ``None`` when there is none.

    Raises:
        TrainingError: the state is unreadable or names weights that are missing.
    """
    path = os.path.join(backup_dir, STATE_FILE)
    if not os.path.exists(path):
        return None
    state = read_json(path, "the training state of an interrupted run")
    for key in ("epoch", "weights", "optimizer_iterations"):
        if key not in state:
            raise TrainingError(f"{path}: has no '{key}'; the training state is corrupt")
    weights = os.path.join(backup_dir, state["weights"])
    if not os.path.isfile(weights):
        raise TrainingError(
            f"{weights}: missing; {path} says the run completed {state['epoch']} epochs with "
            "these weights. Restore the file, or start again in a new --model_dir"
        )
    return state


class ResumableBackup(keras.callbacks.BackupAndRestore):
    """`keras.callbacks.BackupAndRestore` with atomic commits and callback state (module
    docstring).

    Put it *last* in the callback list: at the end of an epoch it must see the state the other
    callbacks reached, and at the start it restores their state after their own
    ``on_train_begin`` reset it.

    Args:
        backup_dir: Folder of this process's training state.
        stateful: Callbacks with ``state_key``, ``get_state()`` and ``set_state(state)``.
    """

    def __init__(self, backup_dir: str, stateful: Sequence[keras.callbacks.Callback] = ()):
        super().__init__(backup_dir, save_freq="epoch", delete_checkpoint=False)
        self.stateful = list(stateful)
        self.restored_state: dict | None = None

    def restore(self) -> dict | None:
        """Loads the committed weights and optimiser state into the model, now.

        Call it before ``fit`` (after ``compile``) so that a bad state fails before anything is
        written; ``on_train_begin`` then only re-applies the epoch and the callbacks' state.

        Returns:
            The state, or ``None`` when there is nothing to resume.

        Raises:
            TrainingError: the state or its weights are missing, corrupt, or of another model.
        """
        state = read_backup_state(self.backup_dir)
        if state is None:
            return None
        weights = os.path.join(self.backup_dir, state["weights"])
        optimizer = self.model.optimizer
        if optimizer is not None and not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        try:
            self.model.load_weights(weights)
        except Exception as e:  # noqa: BLE001 - h5py/Keras raise many types for a bad file
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            raise TrainingError(
                f"{weights}: cannot restore the training state ({type(e).__name__}: {first}); "
                "the file is corrupt or was written by another model. Restore it, or start "
                "again in a new --model_dir"
            ) from e
        steps = int(keras.ops.convert_to_numpy(optimizer.iterations))
        if steps != state["optimizer_iterations"]:
            raise TrainingError(
                f"{weights}: holds optimizer step {steps} but {STATE_FILE} says "
                f"{state['optimizer_iterations']}; the training state is inconsistent"
            )
        self.restored_state = state
        return state

    def on_train_begin(self, logs=None):
        if self.restored_state is None:
            self.restore()
        self._load_model()

    def _load_model(self):
        state = self.restored_state
        if state is None:
            return
        for callback in self.stateful:
            if callback.state_key in state.get("callbacks", {}):
                callback.set_state(state["callbacks"][callback.state_key])
        self.model._initial_epoch = state["epoch"]  # noqa: SLF001 - BackupAndRestore's contract

    def _save_model(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        name = f"epoch-{self._current_epoch:04d}.weights.h5"
        tmp = os.path.join(self.backup_dir, f"tmp{os.getpid()}.weights.h5")
        self.model.save_weights(tmp, overwrite=True)
        os.replace(tmp, os.path.join(self.backup_dir, name))
        state = {
            "epoch": self._current_epoch,
            "batch": 0,
            "weights": name,
            "optimizer_iterations": int(
                keras.ops.convert_to_numpy(self.model.optimizer.iterations)
            ),
            "callbacks": {c.state_key: c.get_state() for c in self.stateful},
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        write_json(os.path.join(self.backup_dir, STATE_FILE), state)
        for old in glob.glob(os.path.join(self.backup_dir, "*.weights.h5")):
            if os.path.basename(old) != name:
                os.remove(old)


def _finite(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None
