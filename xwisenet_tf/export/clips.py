"""Clips for int8 calibration and export verification, from the evaluation pipeline.

Both come from `xwisenet_tf.data.load(..., training=False)` (sec. IV-C: non-overlapping clips,
centre crop at scale 1, normalised), i.e. exactly what the model sees at test time. The data is
a prepared directory; without one, the export falls back to the synthetic dataset (generated
once into a cache) and says so.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from xwisenet_tf.export.errors import ExportError

# At most this many consecutive evaluation clips are skipped between two picked clips: spreads
# the picks over videos (and classes) without decoding a whole large split.
MAX_STRIDE = 8


def check_data_dir(data_dir: str | os.PathLike, flag: str = "--calibration_data") -> str:
    """Checks that ``data_dir`` is a prepared dataset directory; returns it as a string.

    Raises:
        ExportError: missing directory, no ``manifest.json`` (not converted, or conversion not
            finished), unreadable manifest, or no video in any split.
    """
    from xwisenet_tf.data import DataError, read_manifest

    data_dir = os.fspath(data_dir)
    if not os.path.isdir(data_dir):
        raise ExportError(f"{flag} {data_dir}: directory not found")
    if not os.path.isfile(os.path.join(data_dir, "manifest.json")):
        raise ExportError(
            f"{flag} {data_dir}: holds no prepared dataset (no manifest.json); expected a "
            "directory written by `python -m xwisenet_tf.data.prepare` (TFRecords + manifest)"
        )
    try:
        manifest = read_manifest(data_dir)
    except DataError as e:
        raise ExportError(f"{flag} {e}") from e
    if not any(entry.get("videos") for entry in manifest["splits"].values()):
        raise ExportError(f"{flag} {data_dir}: the prepared dataset holds no video")
    return data_dir


def synthetic_data_dir(cache_dir: str | os.PathLike, reason: str) -> str:
    """The synthetic dataset in ``cache_dir`` (generated on first use), with a printed warning."""
    from xwisenet_tf.data import ensure_dataset

    print(
        f"WARNING: {reason}; using the synthetic dataset in {os.fspath(cache_dir)} instead. "
        "Pass --calibration_data with your prepared dataset for a meaningful calibration "
        "and verification.",
        file=sys.stderr,
        flush=True,
    )
    return ensure_dataset("synthetic", cache_dir, progress=False)


def pick_split(data_dir: str, preferred: tuple[str, ...]) -> str:
    """The first split of ``preferred`` that holds videos, else any split that does."""
    from xwisenet_tf.data import read_manifest

    splits = read_manifest(data_dir)["splits"]
    usable = [name for name, entry in splits.items() if entry.get("videos")]
    for name in preferred:
        if name in usable:
            return name
    if not usable:
        raise ExportError(f"{data_dir}: the prepared dataset holds no video")
    return usable[0]


def evaluation_clips(
    data_dir: str,
    split: str,
    num_clips: int,
    num_frames: int,
    image_size: int,
    frame_stride: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``num_clips`` evaluation clips of a split, spread over its videos.

    Takes every k-th clip of the evaluation pipeline, ``k = min(total // num_clips, 8)``.

    Returns:
        ``(clips, labels)``: float32 ``(n, num_frames, image_size, image_size, 3)`` normalised
        clips and int32 labels, ``n = min(num_clips, clips in the split)``.

    Raises:
        ExportError: ``num_clips < 1``, or the split cannot be read.
    """
    from xwisenet_tf.data import DataError, count_eval_clips
    from xwisenet_tf.training.protocol import recognition_clips

    if not isinstance(num_clips, int) or num_clips < 1:
        raise ExportError(f"the number of clips must be a positive integer; received {num_clips!r}")
    try:
        total = count_eval_clips(data_dir, split, num_frames, frame_stride)
        stride = max(1, min(total // num_clips, MAX_STRIDE))
        dataset = recognition_clips(
            data_dir, split, num_frames, image_size, 1, frame_stride
        ).unbatch()
        dataset = dataset.shard(stride, 0).take(num_clips)
        clips, labels = [], []
        for clip, label in dataset.as_numpy_iterator():
            clips.append(clip)
            labels.append(label)
    except DataError as e:
        raise ExportError(str(e)) from e
    if not clips:
        raise ExportError(f"{data_dir}: split '{split}' gave no evaluation clip")
    return np.stack(clips).astype(np.float32), np.asarray(labels, np.int32)
