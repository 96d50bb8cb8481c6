"""What travels with a checkpoint: class names and the input it expects.

Every checkpoint written by `train` (``best.keras``, ``last.keras``) gets a sidecar file named
after it with ``.json`` appended (``best.keras.json``). Exported models should follow the same
rule (``model.tflite`` -> ``model.tflite.json``). Format (``"format": "xwisenet_tf.model/1"``)::

    {
      "format": "xwisenet_tf.model/1",
      "class_names": ["walking", "jogging", ...],       # index = output position
      "input": {"num_frames": 16, "image_size": 112, "frame_stride": 1, "short_side": 128,
                "jpeg_quality": 90, "fps": 25.0, "fps_note": "...",
                "mean_rgb": [...], "std_rgb": [...]},   # clips are (x - mean) / std, RGB 0-255
      "model": "xwisenet", "model_spec": {...},          # preset and resolved options
      "dataset": "kth", "epoch": 12,                     # epochs completed at save time
      "metrics": {"val_accuracy": 0.91, ...}             # logs of that epoch
    }

``short_side``, ``jpeg_quality`` and ``fps`` describe the frames the model was trained on (the
conversion settings of its prepared data, `frame_format`): prediction reads a video file the
same way (`xwisenet_tf.data.frames`). ``fps`` is the frame rate of the training clips, so a
clip spans the same time at prediction; ``null`` (or absent, in checkpoints written before it
existed) when unknown. When a run's metadata does not give them, `write_metadata` takes them
from the manifest of the prepared data named in the ``config.json`` beside the checkpoint.

`read_metadata` finds the sidecar of a checkpoint, or else the ``config.json`` of the training
run in the same folder.
"""

from __future__ import annotations

import math
import os
import statistics
from typing import Any

from xwisenet_tf.files import write_json
from xwisenet_tf.training.config_files import CONFIG_FILE, read_json
from xwisenet_tf.training.errors import TrainingError

FORMAT = "xwisenet_tf.model/1"


def sidecar_path(checkpoint: str | os.PathLike) -> str:
    """``<checkpoint>.json``."""
    return os.fspath(checkpoint) + ".json"


def frame_format(manifest: dict) -> dict[str, Any]:
    """The frames a model trained on a prepared dataset saw: its conversion settings.

    The frame rate is ``settings.fps`` when the data was prepared with ``--fps`` (every video
    resampled to it); else the rate every training video kept, when they share one; else the
    median of the training videos' rates, with a note saying so (their clips spanned different
    times). Manifests written before rates were recorded give ``fps: None``.

    Args:
        manifest: A prepared directory's ``manifest.json`` (`xwisenet_tf.data.read_manifest`).

    Returns:
        ``{"short_side", "jpeg_quality", "fps", "fps_note"}``; ``fps`` a float or ``None``.
    """
    from xwisenet_tf.data.convert import DEFAULT_JPEG_QUALITY

    settings = manifest.get("settings") or {}
    result = {
        "short_side": settings.get("short_side"),
        "jpeg_quality": settings.get("jpeg_quality", DEFAULT_JPEG_QUALITY),
    }
    if settings.get("fps"):
        fps = float(settings["fps"])
        note = f"every video was resampled to {fps:g} fps at conversion (prepare --fps)"
        return {**result, "fps": fps, "fps_note": note}
    splits = manifest.get("splits") or {}
    chosen = ["train"] if "train" in splits else sorted(splits)
    rates = [
        float(video["fps"])
        for split in chosen
        for video in splits[split].get("videos", [])
        if isinstance(video.get("fps"), int | float) and video["fps"] > 0
    ]
    if not rates:
        note = "unknown: the data was prepared before frame rates were recorded"
        return {**result, "fps": None, "fps_note": note}
    if max(rates) - min(rates) <= 1e-6 * max(rates):
        fps = rates[0]
        note = f"the rate of all {len(rates)} training videos"
        return {**result, "fps": fps, "fps_note": note}
    fps = float(statistics.median(rates))
    note = (
        f"the median of the {len(rates)} training videos' rates, which differ "
        f"({min(rates):g} to {max(rates):g} fps) because the data was prepared without --fps; "
        "prepare with --fps to train every clip at one rate"
    )
    return {**result, "fps": fps, "fps_note": note}


def trained_fps(metadata: dict[str, Any]) -> float | None:
    """The frame rate of the clips a model was trained on (``input.fps``), or ``None``.

    ``None`` for metadata written before the rate was recorded, or when it was unknown.
    """
    value = (metadata.get("input") or {}).get("fps")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if math.isfinite(value) and value > 0:
            return float(value)
    return None


def _run_frame_format(folder: str) -> dict[str, Any]:
    """`frame_format` of the prepared data of the training run in ``folder`` (``{}`` if none).

    Best effort: a run without a ``config.json``, or whose prepared data is gone, gives ``{}``.
    """
    from xwisenet_tf.data import DataError, read_manifest

    config = os.path.join(folder, CONFIG_FILE)
    if not os.path.isfile(config):
        return {}
    try:
        prepared = read_json(config, "the config.json of a training run")
        prepared = (prepared.get("resolved") or {}).get("prepared_dir")
        if not prepared or not os.path.isfile(os.path.join(prepared, "manifest.json")):
            return {}
        return frame_format(read_manifest(prepared))
    except (TrainingError, DataError, OSError):
        return {}


def _with_frame_format(metadata: dict[str, Any], folder: str) -> dict[str, Any]:
    """``metadata`` with the frame settings its ``input`` lacks filled in from the run."""
    source_input = metadata.get("input")
    if not isinstance(source_input, dict) or "fps" in source_input:
        return metadata
    found = _run_frame_format(folder)
    if not found:
        return metadata
    merged = {**source_input, **{k: v for k, v in found.items() if k not in source_input}}
    return {**metadata, "input": merged}


def write_metadata(checkpoint: str | os.PathLike, metadata: dict[str, Any]) -> str:
    """Writes the sidecar of ``checkpoint`` atomically; returns its path.

    When ``metadata["input"]`` has no ``fps``, the frame settings of the training run whose
    ``config.json`` sits beside the checkpoint are added (`frame_format` of its prepared data).
    """
    path = sidecar_path(checkpoint)
    folder = os.path.dirname(os.path.abspath(os.fspath(checkpoint)))
    write_json(path, {"format": FORMAT, **_with_frame_format(metadata, folder)})
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
            metadata = {
                "format": FORMAT,
                "class_names": resolved["class_names"],
                "input": resolved.get("input", {}),
                "model": data.get("config", {}).get("model"),
                "model_spec": resolved.get("model_spec"),
                "dataset": data.get("config", {}).get("dataset"),
            }
            return _with_frame_format(metadata, os.path.dirname(run_config))
    return {}
