"""Prediction: action labels for video files, with a trained ``.keras`` checkpoint or a
``.tflite`` export (the library behind ``predict.py``).

Public API::

    Predictor(path).predict_video(path) / .score_video(path)   # one video (predictor.py)
    predict(inputs, checkpoint, top_k, ...) -> (results, errors)  # files or folders
    format_prediction(result) -> str                              # what predict.py prints
    find_videos(path) -> list[str]
    find_sources(inputs, annotate=(), cameras=False) -> list[str]  # checked before TF loads
    resolve_model(checkpoint, model_dir) -> str                   # a file or a run directory
    parse_fps(value); FPS_MODEL, FPS_SOURCE                       # the rate videos are read at
    ClipSpan, VideoScores, iter_clip_frames                       # the clip timeline
    split_outputs(outputs) -> (json_paths, video_paths)           # predict.py --output
    annotate_video(video, output, class_names, probabilities, top_k=3, codec=None)
        -> AnnotatedVideo                                         # labels drawn on the video
    ClipProbabilities(scores)     # per-frame probabilities of clip-mode prediction
    Overlay(width, height, class_names).draw(frame, p); VideoWriter(path, w, h, fps)

A video is read as evaluation reads a prepared split (sec. IV-C; `predictor`'s docstring). The
corruption harness (`xwisenet_tf.prediction.corruption`) sends damaged videos through decode,
conversion and prediction.

Names are imported on first use, so ``import xwisenet_tf.prediction`` loads no TensorFlow
(`annotate`, `overlay` and `video_writer` never load it). Prediction sits above `data` and `training` (checkpoint, metadata) and imports
`xwisenet_tf.tflite_runner`; nothing below it imports it.
"""

from __future__ import annotations

from xwisenet_tf.lazy import lazy_attributes

_LAZY = {
    "Predictor": "predictor",
    "predict": "predictor",
    "format_prediction": "predictor",
    "find_videos": "inputs",
    "find_sources": "inputs",
    "resolve_model": "inputs",
    "FPS_MODEL": "clip_timeline",
    "FPS_SOURCE": "clip_timeline",
    "ClipSpan": "clip_timeline",
    "VideoScores": "clip_timeline",
    "iter_clip_frames": "clip_timeline",
    "parse_fps": "clip_timeline",
    "split_outputs": "inputs",
    "annotate_video": "annotate",
    "AnnotatedVideo": "annotate",
    "ClipProbabilities": "annotate",
    "Overlay": "overlay",
    "VideoWriter": "video_writer",
    "VIDEO_OUTPUT_EXTENSIONS": "video_writer",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
