"""``manifest.json``: what a prepared TFRecord directory holds.

Layout::

    {
      "format_version": 1,
      "dataset": "kth", "source": "/path/given",
      "classes": ["walking", ...],              # label index = position
      "splits": {
        "train": {
          "num_videos": 24, "num_frames": 2210,
          "per_class": {"walking": 4, ...},      # every class, zeros included
          "shards": [{"file": "train-00000-of-00001.tfrecord", "size": 123, "records": 24}],
          "videos": [{"id": "person01_boxing_d2_seq1", "label": 3, "num_frames": 106,
                      "frame_start": 0, "fps": 25.0,
                      "source": "/path/person01_boxing_d2_uncomp.mp4"}, ...]
        }, ...
      },
      "failed":   [{"path": ..., "error": ...}],   # files or samples that could not be converted
      "missing":  [{"name": ..., "reason": ...}],  # listed by the dataset but not found
      "warnings": [...],
      "settings": {"short_side": 128, "jpeg_quality": 90, "fps": null, ...},
      "info": {...}                                # dataset-specific (split scheme, fractions)
    }

A "video" in ``videos`` is one sample (one record): a whole file for folder/CSV datasets, one
``00sequences.txt`` sub-sequence for KTH. ``videos`` is in record order; the pipeline's
``video_ids`` are indices into it. A video's ``frame_start`` and ``num_frames`` count frames of
its constant-rate timeline at ``fps`` frames per second: the source's nominal rate when
``settings.fps`` is ``null`` (the default), else ``settings.fps`` for every video. Manifests
written before the timeline existed have no ``fps`` entries.
"""

from __future__ import annotations

import json
import os

from xwisenet_tf.data.errors import DataError

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


def read_manifest(data_dir: str | os.PathLike) -> dict:
    """Reads and checks the ``manifest.json`` of a prepared directory.

    Args:
        data_dir: Directory written by `prepare_dataset` / ``python -m xwisenet_tf.data.prepare``.

    Returns:
        The manifest dict (layout in this module's docstring); it has at least ``classes``
        (list of names) and ``splits``.

    Raises:
        DataError: the directory or manifest is missing (e.g. an interrupted conversion) or
            malformed.
    """
    data_dir = os.fspath(data_dir)
    path = os.path.join(data_dir, MANIFEST)
    if not os.path.isdir(data_dir):
        raise DataError(
            f"{data_dir}: prepared data directory not found; run "
            "`python -m xwisenet_tf.data.prepare` to create it"
        )
    if not os.path.isfile(path):
        raise DataError(
            f"{path}: not found; the conversion into {data_dir} did not finish. Rerun "
            "`python -m xwisenet_tf.data.prepare` with the same arguments to complete it"
        )
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise DataError(f"{path}: unreadable manifest ({e})") from e
    if not isinstance(manifest, dict):
        raise DataError(f"{path}: expected a JSON object")
    for key in ("classes", "splits"):
        if key not in manifest:
            raise DataError(f"{path}: has no '{key}' entry; expected a manifest written by prepare")
    if manifest.get("format_version", FORMAT_VERSION) > FORMAT_VERSION:
        raise DataError(
            f"{path}: format_version {manifest['format_version']} is newer than this "
            f"xwisenet_tf reads ({FORMAT_VERSION}); upgrade xwisenet_tf"
        )
    return manifest
