"""Prediction: action labels for video files, with a trained ``.keras`` checkpoint or a
``.tflite`` export (the library behind ``predict.py``).

Public API::

    Predictor(path).predict_video(path) / .score_video(path)   # one video (predictor.py)
    predict(inputs, checkpoint, top_k, ...) -> (results, errors)  # files or folders
    format_prediction(result) -> str                              # what predict.py prints
    find_videos(path) -> list[str]
    parse_fps(value); FPS_MODEL, FPS_SOURCE                       # the rate videos are read at
    ClipSpan, VideoScores, iter_clip_frames                       # the clip timeline

A video is read as evaluation reads a prepared split (sec. IV-C; `predictor`'s docstring). The
corruption harness (`xwisenet_tf.prediction.corruption`) sends damaged videos through decode,
conversion and prediction.

Names are imported on first use, so ``import xwisenet_tf.prediction`` loads no TensorFlow.
Prediction sits above `data`, `models` and `training` (checkpoint, metadata) and imports
`xwisenet_tf.tflite_runner`; nothing below it imports it.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "Predictor": "predictor",
    "predict": "predictor",
    "format_prediction": "predictor",
    "find_videos": "predictor",
    "FPS_MODEL": "clip_timeline",
    "FPS_SOURCE": "clip_timeline",
    "ClipSpan": "clip_timeline",
    "VideoScores": "clip_timeline",
    "iter_clip_frames": "clip_timeline",
    "parse_fps": "clip_timeline",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(f"xwisenet_tf.prediction.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'xwisenet_tf.prediction' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
