"""Action labels for video files: top-k over the whole video and a per-clip timeline.

A video is read the way evaluation reads it (sec. IV-C): frames resized to the training data's
short side, cut into non-overlapping clips of ``num_frames`` frames (a video shorter than one
clip is loop-padded), each centre-cropped at scale 1, resized and normalised; the clips' softmax
scores are averaged into the video's scores. Works with a ``.keras`` checkpoint or a ``.tflite``
export; the class names and the clip format come from the model's metadata sidecar
(`xwisenet_tf.training.metadata`).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from xwisenet_tf.data.decode import VIDEO_EXTENSIONS, iter_frames, probe_video
from xwisenet_tf.data.errors import DataError
from xwisenet_tf.data.pipeline import MEAN_RGB, STD_RGB
from xwisenet_tf.training.errors import TrainingError
from xwisenet_tf.training.metadata import read_metadata


def model_metadata(path: str) -> dict:
    """Metadata of a model file: TFLite-embedded (export package) or sidecar/run config."""
    try:
        from xwisenet_tf.export.metadata import read_model_metadata
    except ImportError:  # the export package is optional here
        return read_metadata(path)
    return read_model_metadata(path)


class Predictor:
    """A loaded model with what it needs to read videos.

    Args:
        path: A ``.keras`` checkpoint or a ``.tflite`` model.
        num_threads: TFLite interpreter threads.

    Raises:
        TrainingError: missing or unreadable model, unknown extension, bad metadata.
    """

    def __init__(self, path: str | os.PathLike, num_threads: int | None = None):
        self.path = os.fspath(path)
        self._forward = None
        if not os.path.isfile(self.path):
            raise TrainingError(f"{self.path}: model not found; expected a .keras or .tflite file")
        extension = os.path.splitext(self.path)[1].lower()
        if extension == ".keras":
            from xwisenet_tf.training.evaluation import load_checkpoint

            self._model = load_checkpoint(self.path)
            shape = tuple(self._model.inputs[0].shape)
            num_classes = int(self._model.outputs[0].shape[-1])
            self._run = self._run_keras
        elif extension == ".tflite":
            from ai_edge_litert.interpreter import Interpreter

            try:
                self._interpreter = Interpreter(model_path=self.path, num_threads=num_threads)
                self._interpreter.allocate_tensors()
            except (ValueError, RuntimeError) as e:
                raise TrainingError(f"{self.path}: not a readable TFLite model ({e})") from e
            self._input = self._interpreter.get_input_details()[0]
            self._output = self._interpreter.get_output_details()[0]
            shape = tuple(int(d) for d in self._input["shape"])
            num_classes = int(self._output["shape"][-1])
            self._run = self._run_tflite
        else:
            raise TrainingError(
                f"{self.path}: unknown model format {extension!r}; expected .keras or .tflite"
            )
        if len(shape) != 5 or shape[2] != shape[3] or shape[4] != 3:
            raise TrainingError(
                f"{self.path}: takes inputs of shape {shape}; expected video clips "
                "(batch, frames, size, size, 3)"
            )
        self.num_frames, self.image_size = int(shape[1]), int(shape[2])
        metadata = model_metadata(self.path)
        names = metadata.get("class_names")
        if names is None:
            names = [f"class_{i}" for i in range(num_classes)]
        elif len(names) != num_classes:
            raise TrainingError(
                f"{self.path}: its metadata lists {len(names)} class names but the model has "
                f"{num_classes} outputs"
            )
        self.class_names = list(names)
        meta = metadata.get("input") or {}
        self.frame_stride = int(meta.get("frame_stride") or 1)
        self.short_side = meta.get("short_side")
        self.mean = np.asarray(meta.get("mean_rgb", MEAN_RGB), np.float32)
        self.std = np.asarray(meta.get("std_rgb", STD_RGB), np.float32)
        # Exports with in-model preprocessing take 0-255 frames (uint8) and normalise them.
        self.raw_frames = meta.get("normalization") == "in_model"

    def _scores(self, clips: np.ndarray) -> np.ndarray:
        """Class scores of clips of resized 0-255 frames ``(n, T, S, S, 3)``."""
        if self.raw_frames:
            clips = np.clip(np.round(clips), 0, 255)
        else:
            clips = (clips - self.mean) / self.std
        return self._run(clips.astype(np.float32))

    def _run_keras(self, clips: np.ndarray) -> np.ndarray:
        if self._forward is None:
            import tensorflow as tf

            model = self._model
            spec = tf.TensorSpec([None, *model.inputs[0].shape[1:]], model.inputs[0].dtype)
            self._forward = tf.function(lambda x: model(x, training=False), input_signature=[spec])
        clips = clips.astype(self._model.inputs[0].dtype)
        return np.asarray(self._forward(clips), np.float64)

    def _run_tflite(self, clips: np.ndarray) -> np.ndarray:
        scores = []
        in_scale, in_zero = self._input.get("quantization", (0.0, 0))
        out_scale, out_zero = self._output.get("quantization", (0.0, 0))
        for clip in clips:
            item = clip[None]
            if np.issubdtype(self._input["dtype"], np.integer):
                info = np.iinfo(self._input["dtype"])
                if in_scale and not self.raw_frames:
                    item = np.round(item / in_scale + in_zero)
                item = np.clip(np.round(item), info.min, info.max)
            self._interpreter.set_tensor(self._input["index"], item.astype(self._input["dtype"]))
            self._interpreter.invoke()
            out = self._interpreter.get_tensor(self._output["index"])[0].astype(np.float64)
            if np.issubdtype(self._output["dtype"], np.integer) and out_scale:
                out = (out - out_zero) * out_scale
            scores.append(out)
        return np.stack(scores)

    def _prepare(self, frame: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        height, width = frame.shape[:2]
        side = min(height, width)
        y, x = (height - side) // 2, (width - side) // 2
        crop = frame[y : y + side, x : x + side]
        resized = tf.image.resize(crop, [self.image_size, self.image_size], method="bilinear")
        return resized.numpy()

    def predict_video(self, path: str | os.PathLike, top_k: int = 5, batch_size: int = 8) -> dict:
        """Scores of one video (module docstring).

        Returns:
            ``{"video", "num_frames", "fps", "top_k": [{"label", "probability"}...],
            "clips": [{"index", "start_frame", "end_frame", "start_time", "end_time",
            "label", "probability", "top_k"}...]}``; frames are 0-based and inclusive, times in
            seconds.

        Raises:
            DataError: the file is missing or cannot be decoded (named in the message).
        """
        path = os.fspath(path)
        info = probe_video(path)
        fps = info.fps or 25.0
        span = self.num_frames * self.frame_stride
        clips, ranges, scores = [], [], []
        buffer: list[np.ndarray] = []
        count = 0
        for index, frame in iter_frames(path, short_side=self.short_side):
            count = index + 1
            buffer.append(self._prepare(frame))
            if len(buffer) == span:
                clips.append(np.stack(buffer[:: self.frame_stride]))
                ranges.append((index + 1 - span, index))
                buffer = []
                if len(clips) == batch_size:
                    scores.append(self._scores(np.stack(clips)))
                    clips = []
        if count == 0:
            raise DataError(f"{path}: no decodable frame; expected a video")
        if not ranges:  # shorter than one clip: loop-pad, as the evaluation pipeline does
            wanted = np.arange(self.num_frames) * self.frame_stride
            valid = max(1, int((wanted < count).sum()))
            indices = wanted[np.arange(self.num_frames) % valid]
            clips.append(np.stack([buffer[i] for i in indices]))
            ranges.append((0, count - 1))
        if clips:
            scores.append(self._scores(np.stack(clips)))
        clip_scores = np.concatenate(scores)
        video_scores = clip_scores.mean(axis=0)
        return {
            "video": path,
            "num_frames": count,
            "fps": fps,
            "top_k": self._top(video_scores, top_k),
            "clips": [
                {
                    "index": i,
                    "start_frame": start,
                    "end_frame": end,
                    "start_time": round(start / fps, 3),
                    "end_time": round((end + 1) / fps, 3),
                    "label": self.class_names[int(s.argmax())],
                    "probability": float(s.max()),
                    "top_k": self._top(s, top_k),
                }
                for i, ((start, end), s) in enumerate(zip(ranges, clip_scores, strict=True))
            ],
        }

    def _top(self, scores: np.ndarray, k: int) -> list[dict[str, Any]]:
        order = np.argsort(-scores, kind="stable")[: max(1, k)]
        return [{"label": self.class_names[i], "probability": float(scores[i])} for i in order]


def find_videos(path: str | os.PathLike) -> list[str]:
    """``path`` itself, or the video files below a folder (sorted, recursive).

    Raises:
        TrainingError: the path does not exist, or a folder holds no video file.
    """
    path = os.fspath(path)
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise TrainingError(f"{path}: no such file or folder; expected a video or a folder")
    found = sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(path)
        for name in names
        if os.path.splitext(name)[1].lower() in VIDEO_EXTENSIONS
    )
    if not found:
        raise TrainingError(
            f"{path}: holds no video file (extensions {', '.join(sorted(VIDEO_EXTENSIONS))})"
        )
    return found


def predict(
    inputs: list[str],
    checkpoint: str,
    top_k: int = 5,
    batch_size: int = 8,
) -> tuple[list[dict], list[str]]:
    """Predicts every video of ``inputs`` (files or folders) with ``checkpoint``.

    A video that cannot be decoded does not stop the others.

    Returns:
        ``(results, errors)``: one `Predictor.predict_video` dict per readable video and one
        message per video that failed.
    """
    if top_k < 1 or batch_size < 1:
        raise TrainingError(f"top_k and batch_size must be >= 1; received {top_k}, {batch_size}")
    videos = [v for path in inputs for v in find_videos(path)]
    predictor = Predictor(checkpoint)
    results, errors = [], []
    for video in videos:
        try:
            results.append(predictor.predict_video(video, top_k, batch_size))
        except DataError as e:
            errors.append(" ".join(str(e).split()))
    return results, errors


def format_prediction(result: dict) -> str:
    """What ``predict.py`` prints for one video."""
    top = ", ".join(f"{t['label']} {t['probability']:.2f}" for t in result["top_k"])
    lines = [
        f"{result['video']}: {top}   ({len(result['clips'])} clips, {result['num_frames']} "
        f"frames at {result['fps']:.4g} fps)"
    ]
    for clip in result["clips"]:
        lines.append(
            f"  clip {clip['index']:>3}  {clip['start_time']:7.2f}-{clip['end_time']:7.2f} s  "
            f"frames {clip['start_frame']}-{clip['end_frame']}  {clip['label']} "
            f"{clip['probability']:.2f}"
        )
    return "\n".join(lines)
