"""What travels with a checkpoint: class names and the input it expects.

Every checkpoint written by `train` (``best.keras``, ``last.keras``) gets a sidecar file named
after it with ``.json`` appended (``best.keras.json``). Exported models should follow the same
rule (``model.tflite`` -> ``model.tflite.json``). Format (``"format": "xwisenet_tf.model/1"``)::

    {
      "format": "xwisenet_tf.model/1",
      "class_names": ["walking", "jogging", ...],       # index = output position
      "input": {"num_frames": 16, "image_size": 112, "frame_stride": 1, "short_side": 128,
                "mean_rgb": [...], "std_rgb": [...]},   # clips are (x - mean) / std, RGB 0-255
      "model": "xwisenet", "model_spec": {...},          # preset and resolved options
      "dataset": "kth", "epoch": 12,                     # epochs completed at save time
      "metrics": {"val_accuracy": 0.91, ...}             # logs of that epoch
    }

`read_metadata` finds the sidecar of a checkpoint, or else the ``config.json`` of the training
run in the same folder.
"""

from __future__ import annotations

import os
from typing import Any

from xwisenet_tf.training.config import CONFIG_FILE, read_json, write_json
from xwisenet_tf.training.errors import TrainingError

FORMAT = "xwisenet_tf.model/1"


def sidecar_path(checkpoint: str | os.PathLike) -> str:
    """``<checkpoint>.json``."""
    return os.fspath(checkpoint) + ".json"


def write_metadata(checkpoint: str | os.PathLike, metadata: dict[str, Any]) -> str:
    """Writes the sidecar of ``checkpoint`` atomically; returns its path."""
    path = sidecar_path(checkpoint)
    write_json(path, {"format": FORMAT, **metadata})
    return path


def read_metadata(checkpoint: str | os.PathLike) -> dict[str, Any]:
    """The metadata of a checkpoint (``.keras``, ``.tflite``...).

    Looks for ``<checkpoint>.json``, then for the ``config.json`` of a training run in the same
    folder (its resolved class names and input).

    Returns:
        A dict in the module docstring's format; ``{}`` when nothing is found.

    Raises:
        TrainingError: a sidecar exists but is unreadable.
    """
    checkpoint = os.fspath(checkpoint)
    path = sidecar_path(checkpoint)
    if os.path.isfile(path):
        data = read_json(path, "checkpoint metadata")
        if not isinstance(data.get("class_names"), list):
            raise TrainingError(f"{path}: has no 'class_names' list; expected {FORMAT} metadata")
        return data
    run_config = os.path.join(os.path.dirname(os.path.abspath(checkpoint)), CONFIG_FILE)
    if os.path.isfile(run_config):
        data = read_json(run_config, "the config.json of a training run")
        resolved = data.get("resolved", {})
        if isinstance(resolved.get("class_names"), list):
            return {
                "format": FORMAT,
                "class_names": resolved["class_names"],
                "input": resolved.get("input", {}),
                "model": data.get("config", {}).get("model"),
                "model_spec": resolved.get("model_spec"),
                "dataset": data.get("config", {}).get("dataset"),
            }
    return {}


def class_names_for(checkpoint: str | os.PathLike, num_classes: int) -> list[str]:
    """Class names of a checkpoint, checked against its number of outputs.

    Falls back to ``class_0 ... class_{n-1}`` when the checkpoint has no metadata.

    Raises:
        TrainingError: the metadata lists another number of classes than the model outputs.
    """
    names = read_metadata(checkpoint).get("class_names")
    if names is None:
        return [f"class_{i}" for i in range(num_classes)]
    if len(names) != num_classes:
        raise TrainingError(
            f"{sidecar_path(checkpoint)}: lists {len(names)} class names but the model in "
            f"{os.fspath(checkpoint)} has {num_classes} outputs"
        )
    return list(names)
