"""The recognition protocol of the paper (sec. IV-C) and its report.

Every video of a split is cut into non-overlapping ``num_frames``-frame clips, each centre-
cropped at scale 1 (`xwisenet_tf.data.load` with ``training=False``). The model's softmax
scores of a video's clips are averaged and the highest average is the video's label. The
paper's accuracy is this **video accuracy**; the **clip accuracy** (each clip on its own) is
reported beside it and never in its place.

A video of ``n`` frames gives ``max(1, n // num_frames)`` clips (with ``frame_stride`` 1): a
video shorter than one clip is one loop-padded clip, and the frames after the last full clip
are not evaluated. ``predict.py`` reads a video file through the same frame path and gives the
same scores for these clips (`split_clip_scores`, ``clip_scores=True``); it shows the frames
after the last full clip as one more, loop-padded clip that it leaves out of the video's score.
"""

from __future__ import annotations

import os
from typing import Any

import keras
import numpy as np

from xwisenet_tf import data
from xwisenet_tf.training.checkpoint import (  # noqa: F401 - documented here too
    load_checkpoint,
    resolve_checkpoint,
)
from xwisenet_tf.training.errors import TrainingError
from xwisenet_tf.training.protocol import score_split
from xwisenet_tf.training.report import (  # noqa: F401 - the report's functions, documented here
    PROTOCOL,
    format_report,
    plot_confusion_matrix,
    protocol_description,
    write_report,
)


def model_input(model: keras.Model) -> tuple[int, int]:
    """``(num_frames, image_size)`` of a clip model (square frames)."""
    _, frames, height, width, _ = model.inputs[0].shape
    if height != width:
        raise TrainingError(f"model {model.name} takes {height}x{width} frames; expected square")
    return int(frames), int(height)


def check_classes(model: keras.Model, class_names: list[str], dataset_classes: list[str], where):
    """Checks that a model's outputs match a dataset's classes (count, names and order).

    Raises:
        TrainingError: naming the checkpoint, the dataset and the mismatch.
    """
    outputs = int(model.outputs[0].shape[-1])
    if outputs != len(dataset_classes):
        raise TrainingError(
            f"{where}: the model predicts {outputs} classes but the dataset has "
            f"{len(dataset_classes)} ({', '.join(dataset_classes)}); expected a checkpoint "
            "trained on this dataset"
        )
    if class_names and not all(n.startswith("class_") for n in class_names):
        if list(class_names) != list(dataset_classes):
            raise TrainingError(
                f"{where}: trained on classes {class_names} but the dataset has "
                f"{list(dataset_classes)}; expected the same classes in the same order"
            )


def evaluate(
    model: keras.Model,
    data_dir: str | os.PathLike,
    split: str = "test",
    batch_size: int = 16,
    frame_stride: int = 1,
    class_names: list[str] | None = None,
    progress: bool = False,
    checkpoint: str | None = None,
    clip_scores: bool = False,
    views: str = "none",
) -> dict[str, Any]:
    """Evaluates ``model`` on a split with the recognition protocol (sec. IV-C).

    Args:
        model: A clip classifier with softmax outputs (``(batch, T, S, S, 3)`` inputs).
        data_dir: Prepared dataset directory (`xwisenet_tf.data.ensure_dataset`).
        split: Split to evaluate.
        batch_size: Clips per forward pass.
        frame_stride: Step between frames, as in training.
        class_names: Names the model was trained with, checked against the dataset's.
        progress: Show a progress bar.
        checkpoint: The file the model came from (named in errors and in the report).
        clip_scores: Also give every clip's softmax scores, in clip order, in each
            ``per_video`` entry (``clip_scores``): what ``predict.py`` gives the same video.
        views: Test-time augmentation (`xwisenet_tf.data.clip_choices.TEST_VIEWS`): each
            clip's scores are averaged over these views; "none" (default) is the paper's
            protocol, and the report's ``protocol`` and ``views`` say which was used.

    Returns:
        The report: ``video_accuracy`` (the paper's number), ``clip_accuracy``,
        ``per_class_accuracy`` (video level), ``per_class`` (videos, clips and both accuracies
        per class), ``confusion_matrix`` (videos; rows = true class, columns = predicted),
        ``clip_confusion_matrix``, ``class_names``, ``num_videos``, ``num_clips``, ``params``,
        ``macs``, ``per_video`` and the protocol's description.

    Raises:
        TrainingError / DataError: classes or input do not match, split missing or empty.
    """
    from xwisenet_tf.profiling import count_macs, count_params

    data_dir = os.fspath(data_dir)
    manifest = data.read_manifest(data_dir)
    classes = list(manifest["classes"])
    check_classes(model, class_names or [], classes, checkpoint or f"model {model.name!r}")
    if split not in manifest["splits"]:
        raise TrainingError(
            f"{data_dir}: has no split '{split}'; available: {sorted(manifest['splits'])}"
        )
    videos = manifest["splits"][split]["videos"]
    if not videos:
        raise TrainingError(f"{data_dir}: split '{split}' holds no video")
    num_frames, image_size = model_input(model)
    scores, labels, ids = split_clip_scores(
        model, data_dir, split, batch_size, frame_stride, progress, views
    )
    report = protocol_report(scores, labels, ids, videos, classes)
    if clip_scores:
        for index, entry in enumerate(report["per_video"]):
            entry["clip_scores"] = scores[ids == index].tolist()
    report.update(
        split=split,
        data_dir=os.path.abspath(data_dir),
        dataset=manifest.get("dataset"),
        num_frames=num_frames,
        image_size=image_size,
        frame_stride=frame_stride,
        params=count_params(model),
        macs=count_macs(model),
        protocol=protocol_description(views),
        views=views,
    )
    if checkpoint:
        report["checkpoint"] = os.path.abspath(checkpoint)
    return report


def split_clip_scores(
    model: keras.Model,
    data_dir: str | os.PathLike,
    split: str = "test",
    batch_size: int = 16,
    frame_stride: int = 1,
    progress: bool = False,
    views: str = "none",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The model's scores of every evaluation clip of a split (sec. IV-C), in record order.

    Args:
        model: A clip classifier (``(batch, T, S, S, 3)`` inputs).
        data_dir: Prepared dataset directory.
        split: Split to read.
        batch_size: Clips per forward pass.
        frame_stride: Step between frames, as in training.
        progress: Show a progress bar.
        views: Test-time augmentation (`score_split`).

    Returns:
        `score_split`'s ``(scores, labels, video_index)`` of the model's compiled call;
        ``(0, classes)`` scores for no clip.

    Raises:
        TrainingError: the split yields another number of clips than its manifest implies.
    """
    import tensorflow as tf

    num_frames, image_size = model_input(model)
    spec = tf.TensorSpec([None, *model.inputs[0].shape[1:]], tf.float32)
    forward = tf.function(lambda clips: model(clips, training=False), input_signature=[spec])
    scores, labels, ids = score_split(
        forward, data_dir, split, num_frames, image_size, batch_size, frame_stride, progress, views
    )
    if not len(scores):
        scores = np.zeros((0, model.outputs[0].shape[-1]))
    return scores, labels, ids


def protocol_report(
    scores: np.ndarray,
    labels: np.ndarray,
    video_index: np.ndarray,
    videos: list[dict],
    class_names: list[str],
) -> dict[str, Any]:
    """Video and clip accuracies from clip scores (sec. IV-C), as plain Python values.

    Args:
        scores: ``(clips, classes)`` softmax scores.
        labels: ``(clips,)`` true labels.
        video_index: ``(clips,)`` index of each clip's video in ``videos``.
        videos: The split's manifest entries (``id``, ``label``).
        class_names: Names of the classes.
    """
    num_classes = len(class_names)
    clip_pred = scores.argmax(axis=1)
    sums = np.zeros((len(videos), num_classes))
    counts = np.zeros(len(videos), int)
    np.add.at(sums, video_index, scores)
    np.add.at(counts, video_index, 1)
    if (counts == 0).any():
        missing = [videos[i]["id"] for i in np.flatnonzero(counts == 0)[:5]]
        raise TrainingError(f"no clip was evaluated for videos {missing}")
    mean_scores = sums / counts[:, None]
    video_label = np.array([v["label"] for v in videos])
    video_pred = mean_scores.argmax(axis=1)
    video_cm = _confusion(video_label, video_pred, num_classes)
    clip_cm = _confusion(labels, clip_pred, num_classes)
    per_class = {}
    for c, name in enumerate(class_names):
        n_videos, n_clips = int(video_cm[c].sum()), int(clip_cm[c].sum())
        per_class[name] = {
            "videos": n_videos,
            "video_accuracy": float(video_cm[c, c] / n_videos) if n_videos else None,
            "clips": n_clips,
            "clip_accuracy": float(clip_cm[c, c] / n_clips) if n_clips else None,
        }
    return {
        "video_accuracy": float((video_pred == video_label).mean()),
        "clip_accuracy": float((clip_pred == labels).mean()),
        "num_videos": len(videos),
        "num_clips": len(scores),
        "class_names": list(class_names),
        "per_class_accuracy": {n: per_class[n]["video_accuracy"] for n in class_names},
        "per_class": per_class,
        "confusion_matrix": video_cm.tolist(),
        "clip_confusion_matrix": clip_cm.tolist(),
        "per_video": [
            {
                "id": v["id"],
                "label": class_names[v["label"]],
                "predicted": class_names[int(p)],
                "score": float(mean_scores[i, p]),
                "clips": int(counts[i]),
            }
            for i, (v, p) in enumerate(zip(videos, video_pred, strict=True))
        ],
    }


def _confusion(true: np.ndarray, pred: np.ndarray, num_classes: int) -> np.ndarray:
    matrix = np.zeros((num_classes, num_classes), int)
    np.add.at(matrix, (np.asarray(true, int), np.asarray(pred, int)), 1)
    return matrix


def resolve_data(
    dataset: str | None,
    data_dir: str | None,
    run_config: dict | None,
    dataset_options: dict | None = None,
) -> str:
    """The prepared directory to evaluate on.

    ``data_dir`` holding a ``manifest.json`` is used as is; ``dataset`` is prepared in
    ``data_dir`` (converted on first use); without ``dataset``, the training run's dataset.

    Raises:
        TrainingError: nothing tells which dataset to use.
    """
    from xwisenet_tf.data.cache import prepare_data

    if dataset is None and data_dir and os.path.isfile(os.path.join(data_dir, "manifest.json")):
        return data_dir
    config = (run_config or {}).get("config", {})
    if dataset is None:
        prepared = (run_config or {}).get("resolved", {}).get("prepared_dir")
        if (
            data_dir is None
            and prepared
            and os.path.isfile(os.path.join(prepared, "manifest.json"))
        ):
            return prepared
        if "dataset" not in config:
            raise TrainingError(
                "--dataset is required: the checkpoint's folder has no config.json of a "
                "training run to take it from"
            )
        dataset = config["dataset"]
        if dataset_options is None:
            dataset_options = config.get("dataset_options")
    if data_dir is None:
        data_dir = config.get("data_dir", "data_cache")
    return prepare_data(dataset, data_dir, dataset_options)


def run_evaluation(
    checkpoint: str | None = None,
    model_dir: str | None = None,
    dataset: str | None = None,
    data_dir: str | None = None,
    split: str = "test",
    output: str | None = None,
    batch_size: int = 16,
    dataset_options: dict | None = None,
    progress: bool = True,
    clip_scores: bool = False,
    tta: str = "none",
) -> tuple[dict[str, Any], str, str]:
    """What ``evaluate.py`` does: resolve checkpoint and data, evaluate (sec. IV-C), write.

    Args:
        checkpoint: A ``.keras`` file; default ``model_dir/best.keras``.
        model_dir: A training run's directory.
        dataset: Dataset spec as for training; default the run's.
        data_dir: Cache directory (or a prepared directory); default the run's.
        split: Split to evaluate.
        output: Report path; default ``eval_<split>_<checkpoint name>.json`` beside the
            checkpoint (never the ``eval_test.json`` that training wrote).
        batch_size: Clips per forward pass.
        dataset_options: Conversion options, as for training.
        progress: Show a progress bar.
        clip_scores: Also write every clip's scores per video (`evaluate`).
        tta: Test-time augmentation, the views of `evaluate`; "none" is the paper's protocol.

    Returns:
        ``(report, json_path, png_path)``.
    """
    from xwisenet_tf.training import checkpoint as checkpoints
    from xwisenet_tf.training.config_files import CONFIG_FILE, read_run_config

    if batch_size < 1:
        raise TrainingError(f"batch_size must be a positive integer; received {batch_size}")
    path = resolve_checkpoint(checkpoint, model_dir)
    if os.path.isdir(path):
        path = checkpoints.find_checkpoint(path)
    folder = os.path.dirname(os.path.abspath(path))
    run_config = (
        read_run_config(folder) if os.path.isfile(os.path.join(folder, CONFIG_FILE)) else None
    )
    prepared = resolve_data(dataset, data_dir, run_config, dataset_options)
    loaded = checkpoints.load(path)
    report = evaluate(
        loaded.model,
        prepared,
        split,
        batch_size,
        loaded.frame_stride,
        loaded.metadata.get("class_names"),
        progress,
        path,
        clip_scores=clip_scores,
        views=tta,
    )
    if output is None:
        stem = os.path.splitext(os.path.basename(path))[0]
        suffix = "" if tta == "none" else f"_{tta}"
        output = os.path.join(folder, f"eval_{split}_{stem}{suffix}.json")
    json_path, png_path = write_report(report, output)
    return report, json_path, png_path
