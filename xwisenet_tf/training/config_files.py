"""A training run's JSON files (``model_dir/config.json`` and the reports beside it), read with
errors that name the file."""

from __future__ import annotations

import json
import os

from xwisenet_tf.training.errors import TrainingError

CONFIG_FILE = "config.json"


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
