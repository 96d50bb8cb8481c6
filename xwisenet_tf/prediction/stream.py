"""Frame-by-frame prediction with a causal model (``predict.py --stream``): a video file fed at
its real rate, or a camera, with a live label line and, optionally, an annotated video.

A file is read as clip prediction reads it (`Predictor.score_video`: the model's training rate,
the training frames' short side and JPEG round trip), and each frame, centre-cropped and
resized as an evaluation clip's frames are (sec. IV-C), goes to a `StreamingRecognizer`: after
frame t the probabilities are those of the causal model on frames 1..t. A camera's frames go
to it as they come (no JPEG round trip), until the stream ends, ``max_frames`` or Ctrl-C.
With a half-life h (``--stream_half_life``) the probabilities are those of an exponential
average of the per-frame features instead, and follow a change of action within 2 h frames
(`xwisenet_tf.streaming.step_model`). With k frames per step (``--stream_frames_per_step``)
a frame gets what a live viewer would see after it: the probabilities after the last step, up
to k - 1 frames old, and none before the first step (`StreamingRecognizer.push`).
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from xwisenet_tf.data.decode import probe_video
from xwisenet_tf.data.errors import DataError
from xwisenet_tf.prediction.clip_timeline import FPS_MODEL, FPS_SOURCE, parse_fps, timeline_rate
from xwisenet_tf.prediction.inputs import CAMERA_PREFIX, is_camera
from xwisenet_tf.training.errors import TrainingError

PACES = ("real", "fast")


class StreamPredictor:
    """A `StreamingRecognizer` with the frame format its model was trained on.

    Args:
        path: A ``.keras`` checkpoint of a causal model or a ``.tflite`` step export.
        num_threads: TFLite interpreter threads.
        half_life: The average's half-life in frames, 0 for the cumulative mean, `None` for
            the model's own (`StreamingRecognizer.from_file`).
        frames_per_step: The frames one step takes, `None` for the model's own.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        num_threads: int | None = None,
        half_life: float | None = None,
        frames_per_step: int | None = None,
    ):
        from xwisenet_tf.streaming import StreamingRecognizer
        from xwisenet_tf.training.metadata import trained_fps
        from xwisenet_tf.training.model_metadata import read_model_metadata

        self.path = os.fspath(path)
        self.recognizer = StreamingRecognizer.from_file(
            self.path, num_threads, half_life, frames_per_step
        )
        metadata = read_model_metadata(self.path)
        meta = metadata.get("input") or {}
        self.short_side = meta.get("short_side")
        self.jpeg_quality = int(meta.get("jpeg_quality") or 90)
        self.fps = trained_fps(metadata)
        self.image_size = self.recognizer.frame_shape[0]
        # From the metadata, or class_0... (`checkpoint.class_names`).
        self.class_names = list(self.recognizer.class_names)

    def stream_video(
        self,
        path: str | os.PathLike,
        fps: str | float = FPS_MODEL,
        pace: str = "real",
        on_frame: Callable[[int, float, np.ndarray], None] | None = None,
    ) -> dict[str, Any]:
        """Feeds every frame of a video file to the recognizer, from a fresh state.

        Args:
            path: A video file.
            fps: `FPS_MODEL`, `FPS_SOURCE` or a rate (`parse_fps`).
            pace: ``"real"``: one frame every 1/rate seconds, as a camera would deliver them;
                ``"fast"``: as fast as the model runs.
            on_frame: Called after each frame with its index, time (s) and probabilities.

        Returns:
            ``{"video", "fps", "fps_from", "source_fps", "num_frames", "probabilities":
            (num_frames, num_classes) array (a row of NaN for a frame before the first step,
            with more than one frame per step), "step_ms": median time of one step (None if
            none ran), "half_life": the average's half-life in frames, None for the cumulative
            mean, "frames_per_step", "frames_seen": the frames the last probabilities
            cover}``.

        Raises:
            DataError: the file is missing or cannot be decoded.
        """
        from xwisenet_tf.data.frames import eval_clip, stored_frames

        _check_pace(pace)
        path = os.fspath(path)
        info = probe_video(path)
        rate, fps_from = timeline_rate(info, parse_fps(fps), self.fps)
        resample = fps_from != FPS_SOURCE and not (
            info.fps and math.isclose(rate, info.fps, rel_tol=1e-6)
        )
        frames = stored_frames(
            path,
            short_side=self.short_side,
            jpeg_quality=self.jpeg_quality,
            fps=rate if resample else None,
        )
        self.recognizer.reset()
        rows, step_times = [], []
        start = time.perf_counter()
        for index, stored in enumerate(frames):
            if pace == "real":
                time.sleep(max(0.0, start + index / rate - time.perf_counter()))
            frame = eval_clip([stored.jpeg], 1, self.image_size)[0]
            rows.append(self._push(frame, step_times))
            if on_frame is not None:
                on_frame(index, index / rate, rows[-1])
        if not rows:
            raise DataError(f"{path}: no decodable frame; expected a video")
        return {
            "video": path,
            "fps": rate,
            "fps_from": fps_from,
            "source_fps": info.fps,
            **self._result(rows, step_times),
        }

    def _push(self, frame: np.ndarray, step_times: list[float]) -> np.ndarray | None:
        """`StreamingRecognizer.push`, timed when it ran a step."""
        began = time.perf_counter()
        probabilities = self.recognizer.push(frame)
        if not self.recognizer.frames_pending:  # a step ran
            step_times.append(time.perf_counter() - began)
        return probabilities

    def _result(self, rows: list, step_times: list[float]) -> dict[str, Any]:
        """What `stream_video` and `stream_camera` return about the frames and the steps."""
        empty = np.full(len(self.class_names), np.nan)
        return {
            "num_frames": len(rows),
            "probabilities": np.stack([empty if row is None else row for row in rows]),
            "step_ms": (round(float(np.median(step_times)) * 1000.0, 3) if step_times else None),
            "half_life": self.recognizer.half_life,
            "frames_per_step": self.recognizer.frames_per_step,
            "frames_seen": self.recognizer.frames_seen,
        }

    def stream_camera(
        self,
        device: str,
        max_frames: int = 0,
        on_frame: Callable[..., None] | None = None,
    ) -> dict[str, Any]:
        """Feeds a camera's frames to the recognizer until the stream ends, ``max_frames``
        (0: no limit) or Ctrl-C.

        Args:
            device: ``/dev/videoN`` (V4L2) or ``<format>:<device>`` (`is_camera`; ``lavfi:``
                an FFmpeg-generated live source).
            max_frames: Stop after this many frames (0: never).
            on_frame: As in `stream_video`, also given the RGB frame and the camera's rate as
                ``frame=`` and ``rate=``.

        Raises:
            DataError: no camera there, or it cannot be opened (the message says which).
        """
        rows, step_times = [], []
        self.recognizer.reset()
        rate = None
        try:
            for index, (frame, seconds, rate) in enumerate(camera_frames(device)):
                rows.append(self._push(frame, step_times))
                if on_frame is not None:
                    on_frame(index, seconds, rows[-1], frame=frame, rate=rate)
                if max_frames and index + 1 >= max_frames:
                    break
        except KeyboardInterrupt:
            pass  # the usual way to stop a camera stream
        if not rows:
            raise DataError(f"{device}: the camera gave no frame")
        return {
            "video": device,
            "fps": rate,
            "fps_from": "camera",
            "source_fps": rate,
            **self._result(rows, step_times),
        }

    def top(self, probabilities: np.ndarray, k: int) -> list[dict[str, Any]]:
        order = np.argsort(-probabilities, kind="stable")[: max(1, k)]
        return [
            {"label": self.class_names[i], "probability": float(probabilities[i])} for i in order
        ]


def camera_frames(device: str) -> Iterator[tuple[np.ndarray, float, float]]:
    """RGB frames of a camera as ``(frame, seconds since the first, nominal rate)``.

    Raises:
        DataError: no such device, or PyAV cannot open it.
    """
    import av

    if device.startswith(CAMERA_PREFIX):
        input_format, name = "v4l2", device
        if not os.path.exists(device):
            raise DataError(
                f"{device}: no camera here (no such device). Cameras on this machine: "
                f"{', '.join(_video_devices()) or 'none'}; on macOS use --input=avfoundation:0, "
                "on Windows --input='dshow:video=<camera name>'"
            )
    else:
        input_format, name = device.split(":", 1)
    try:
        container = av.open(name, format=input_format)
    except (av.error.FFmpegError, OSError, ValueError) as e:
        raise DataError(f"{device}: cannot open the camera ({e})") from e
    with container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate or stream.guessed_rate or 30)
        first = None
        for frame in container.decode(stream):
            seconds = float(frame.time or 0.0)
            first = seconds if first is None else first
            yield frame.to_ndarray(format="rgb24"), seconds - first, rate


def _video_devices() -> list[str]:
    folder = os.path.dirname(CAMERA_PREFIX)
    if not os.path.isdir(folder):
        return []
    return sorted(os.path.join(folder, n) for n in os.listdir(folder) if n.startswith("video"))


def _check_pace(pace: str) -> None:
    if pace not in PACES:
        raise TrainingError(f"pace must be one of {', '.join(PACES)}; received {pace!r}")


class LiveLine:
    """The live label line of ``--stream``: rewritten in place on a terminal, else printed
    when the top label changes (and for the last frame); nothing for a frame without
    probabilities (before the first step of several frames)."""

    def __init__(self, class_names: Sequence[str], top_k: int = 3, stream=None):
        self.class_names = list(class_names)
        self.top_k = top_k
        self.stream = stream or sys.stdout
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_label = None
        self._pending = None

    def __call__(self, index: int, seconds: float, probabilities: np.ndarray | None, **_):
        if probabilities is None:
            return
        order = np.argsort(-probabilities, kind="stable")[: self.top_k]
        text = f"{seconds:7.2f} s  frame {index:>5}  " + "  ".join(
            f"{self.class_names[i]} {probabilities[i]:.2f}" for i in order
        )
        label = int(order[0])
        if self.tty:
            self.stream.write("\r" + text + "\033[K")
            self.stream.flush()
        elif label != self._last_label:
            self.stream.write(text + "\n")
            self._pending = None
        else:
            self._pending = text
        self._last_label = label

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
        elif self._pending:
            self.stream.write(self._pending + "\n")
        self.stream.flush()


def predict_stream(
    inputs: list[str],
    checkpoint: str,
    top_k: int = 3,
    fps: str | float = FPS_MODEL,
    pace: str = "real",
    max_frames: int = 0,
    annotate: Sequence[str | os.PathLike] = (),
    live=None,
    half_life: float | None = None,
    frames_per_step: int | None = None,
) -> tuple[list[dict], list[str]]:
    """``predict.py --stream``: every video file (or the camera) of ``inputs`` frame by frame,
    over every frame so far or (``half_life``, in frames) an exponential average of them, one
    step per ``frames_per_step`` frames (`StreamPredictor`).

    Returns:
        ``(results, errors)`` as `xwisenet_tf.prediction.predictor.predict`; a result has the
        final ``top_k``, the per-frame ``frames`` (index, time, label, probability) and the
        median ``step_ms``, and ``annotated`` entries when asked.

    Raises:
        TrainingError: bad arguments, a model that cannot stream, an annotated video asked for
            with more than one input.
    """
    from xwisenet_tf.prediction.annotate import annotate_video, check_video_output
    from xwisenet_tf.prediction.inputs import find_sources

    _check_pace(pace)
    if top_k < 1 or max_frames < 0:
        raise TrainingError(f"top_k must be >= 1 and max_frames >= 0; got {top_k}, {max_frames}")
    annotate = [check_video_output(path) for path in annotate]
    sources = find_sources(inputs, annotate, cameras=True)
    predictor = StreamPredictor(checkpoint, half_life=half_life, frames_per_step=frames_per_step)
    results, errors = [], []
    for source in sources:
        line = LiveLine(predictor.class_names, 3, live)
        try:
            if is_camera(source):
                result = _stream_camera(predictor, source, max_frames, annotate, line)
            else:
                result = predictor.stream_video(source, fps, pace, line)
                result["annotated"] = [
                    vars(annotate_video(source, out, predictor.class_names, _at_time(result)))
                    for out in annotate
                ]
        except DataError as e:
            errors.append(" ".join(str(e).split()))
            continue
        finally:
            line.close()
        results.append(_summary(predictor, result, top_k))
    return results, errors


def _stream_camera(predictor, device, max_frames, annotate, line) -> dict:
    from xwisenet_tf.prediction.overlay import Overlay
    from xwisenet_tf.prediction.video_writer import VideoWriter

    writers, overlays = [], []

    def on_frame(index, seconds, probabilities, frame, rate):
        line(index, seconds, probabilities)
        if annotate and not writers:
            height, width = frame.shape[:2]
            overlays.append(Overlay(width, height, predictor.class_names))
            writers.extend(VideoWriter(out, width, height, rate) for out in annotate)
        for writer in writers:
            writer.write(overlays[0].draw(frame, probabilities))

    try:
        result = predictor.stream_camera(device, max_frames, on_frame)
    finally:
        for writer in writers:
            writer.close()
    result["annotated"] = [
        {
            "path": w.path,
            "num_frames": w.num_frames,
            "width": w.width,
            "height": w.height,
            "fps": float(w.rate),
            "codec": w.codec,
            "padded": w.padded,
        }
        for w in writers
    ]
    return result


def _at_time(result: dict) -> Callable[[int, float], np.ndarray]:
    """Probabilities for a source frame at ``time``: those after the last timeline frame at or
    before it (what a live viewer would have seen; ``None`` before the first step)."""
    rows, rate = result["probabilities"], result["fps"]

    def lookup(index: int, seconds: float) -> np.ndarray | None:
        row = rows[min(int(math.floor(seconds * rate + 1e-6)), len(rows) - 1)]
        return None if np.isnan(row).any() else row

    return lookup


def _summary(predictor: StreamPredictor, result: dict, top_k: int) -> dict:
    rows, rate = result.pop("probabilities"), result["fps"]
    known = ~np.isnan(rows).any(axis=1)  # all but the frames before the first step
    result["top_k"] = predictor.top(rows[-1], top_k) if known[-1] else []
    result["frames"] = [
        {
            "index": i,
            "time": round(i / rate, 3) if rate else None,
            "label": predictor.class_names[int(row.argmax())] if ok else None,
            "probability": float(row.max()) if ok else None,
        }
        for i, (row, ok) in enumerate(zip(rows, known, strict=True))
    ]
    if not result.get("annotated"):
        result.pop("annotated", None)
    return result


def format_stream(result: dict) -> str:
    """What ``predict.py --stream`` prints for one input after its live line."""
    top = ", ".join(f"{t['label']} {t['probability']:.2f}" for t in result["top_k"])
    rate = f"{result['fps']:.4g} fps" if result.get("fps") else "camera rate"
    half_life = result.get("half_life")
    horizon = "" if half_life is None else f", half-life {half_life:g} frames"
    k = result.get("frames_per_step") or 1
    if k == 1:
        lines = [
            f"{result['video']}: {top}   (after {result['num_frames']} frames at {rate}, "
            f"one by one{horizon}; {result['step_ms']:.1f} ms per frame)"
        ]
    else:
        cost = (
            "no step ran"
            if result["step_ms"] is None
            else (f"{result['step_ms']:.1f} ms per step, {result['step_ms'] / k:.1f} ms per frame")
        )
        lines = [
            f"{result['video']}: {top or 'no step yet'}   (after {result['frames_seen']} of "
            f"{result['num_frames']} frames at {rate}, {k} per step{horizon}; {cost})"
        ]
    for video in result.get("annotated", []):
        lines.append(
            f"  annotated video: {video['path']} ({video['num_frames']} frames, "
            f"{video['width']}x{video['height']}, {video['fps']:.4g} fps, {video['codec']})"
        )
    return "\n".join(lines)
