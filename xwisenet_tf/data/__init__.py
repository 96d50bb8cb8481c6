"""Video data path: video files -> sharded TFRecords -> ``tf.data`` clip pipeline.

Paper sec. IV-B (training clips and augmentation) and IV-C (recognition clips).

Public API::

    prepare_dataset(dataset, source, output, **options) -> dict   # convert (CLI: prepare)
    ensure_dataset(dataset_spec, data_dir, **options) -> str       # convert once, cached
    prepare_data(dataset_spec, data_dir, options) -> str           # the same, under a lock
    read_manifest(data_dir) -> dict
    load(data_dir, split, training, batch_size, ...) -> tf.data.Dataset
    count_eval_clips(data_dir, split, num_frames=16, frame_stride=1) -> int
    normalize_frames(frames) -> tf.Tensor; MEAN_RGB; STD_RGB
    DataError

TensorFlow is imported only when a TensorFlow-dependent name is first used, so decoding and
synthetic-video generation stay light.
"""

from __future__ import annotations

from xwisenet_tf.data.errors import DataError
from xwisenet_tf.data.manifest import read_manifest
from xwisenet_tf.lazy import lazy_attributes

_LAZY = {
    "load": "pipeline",
    "count_eval_clips": "pipeline",
    "normalize_frames": "pipeline",
    "MEAN_RGB": "pipeline",
    "STD_RGB": "pipeline",
    "SCALES": "pipeline",
    "POSITIONS": "pipeline",
    "TRAIN_CROPS": "pipeline",
    "jitter_colours": "pipeline",
    "prepare_dataset": "convert",
    "ensure_dataset": "convert",
    "DATASETS": "dataset_kinds",
    "prepare_data": "cache",
}

__all__ = ["DataError", "read_manifest", *_LAZY]


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
