"""A training run's ``model_dir``: where each process writes, what ``config.json`` records, and
whether a directory may be trained in (a fresh one, or the same run to resume).

The layout is `xwisenet_tf.training.recipe`'s; non-chief workers of a multi-machine run write
under ``workers/worker-N/``.
"""

from __future__ import annotations

import os

from xwisenet_tf.training import callbacks as cb
from xwisenet_tf.training.config import TrainConfig, config_differences
from xwisenet_tf.training.config_files import CONFIG_FILE, read_run_config
from xwisenet_tf.training.errors import TrainingError
from xwisenet_tf.training.strategy import TaskInfo


def run_directories(config: TrainConfig, task: TaskInfo) -> tuple[str, str, str]:
    """``(model_dir, own_dir, backup_dir)``: the run's directory (absolute), this process's
    directory in it, and the resumable training state of this process."""
    model_dir = os.path.abspath(config.model_dir or config.default_model_dir())
    own_dir = model_dir if task.is_chief else os.path.join(model_dir, "workers", task.worker_name)
    return model_dir, own_dir, os.path.join(own_dir, "backup")


def config_dict(config: TrainConfig, model_dir: str) -> dict:
    """The ``"config"`` entry of ``config.json``: ``config`` with absolute directories."""
    values = config.to_dict()
    values["model_dir"] = model_dir
    values["data_dir"] = os.path.abspath(config.data_dir)
    return values


def check_previous_run(own_dir: str, backup_dir: str, config: TrainConfig) -> dict | None:
    """Refuses a ``model_dir`` of another run or with a lost state; returns the state."""
    config_path = os.path.join(own_dir, CONFIG_FILE)
    if os.path.isfile(config_path):
        saved = read_run_config(own_dir)["config"]
        diffs = config_differences(saved, config_dict(config, saved.get("model_dir", "")))
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
