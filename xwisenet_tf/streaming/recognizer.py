"""`StreamingRecognizer`: push one video frame, get the action probabilities so far.

Runs the step model of a causal XwiseNet (`build_step_model`) with Keras or, from a
``.tflite`` step export (``export.py --stream``), with LiteRT, keeping the state between
calls; a step model of k frames per step gets them from a buffer of the frames pushed. A frame
of any size is cropped to its centre square and resized to the model's frame size, as
evaluation crops a clip (sec. IV-C, scale 1), then normalised as in training.
"""

from __future__ import annotations

import math
import os

import numpy as np

from xwisenet_tf.layer_options import check_frames_per_step
from xwisenet_tf.streaming.step_model import FRAME, FRAMES_SEEN, PROBABILITIES

# No normalisation: for a step runner built directly (`from_model` and `from_file` use the
# model's, the clip pipeline's `MEAN_RGB` / `STD_RGB` by default).
_DEFAULT_MEAN = (0.0, 0.0, 0.0)
_DEFAULT_STD = (1.0, 1.0, 1.0)


class StreamingRecognizer:
    """Frame-by-frame action recognition with a causal model.

    After `push` of frame t, `probabilities` are the causal clip model's on frames 1..t (the
    running mean of per-frame features, `layers.RunningMean`), or with a half-life h those of
    an exponential moving average of the features, which follows a change of action within
    `FOLLOW_HALF_LIVES` * h frames (`xwisenet_tf.streaming.step_model`). `reset` starts a new
    stream.

    With k = `frames_per_step` > 1 the step model takes k frames at once: `push` keeps the
    frames until it has k, runs one step on them, and returns the newest probabilities there
    are, as a live display wants them at once: those after the last frame of the last step
    (`frames_seen` frames; up to k - 1 frames older than the frame just pushed, which waits
    in the buffer, `frames_pending`), and `None` before the first step (the first k - 1
    frames of a stream). No frame's probabilities are ever computed from a later frame.

    Build it with `from_model` (a causal Keras model), `from_file` (a ``.keras`` checkpoint of
    a causal model, or a ``.tflite`` step export) or directly from a step runner.

    Args:
        step: a callable ``(inputs: dict) -> dict`` running one step (frame and states in,
            probabilities and new states out).
        state_shapes: per-sample shape of every state, by name.
        frame_shape: ``(height, width, 3)`` the step takes.
        class_names: names of the outputs (``class_<i>`` when None).
        mean_rgb, std_rgb: normalisation applied to 0-255 frames.
        half_life: the half-life (frames) the step runs with, `None` for the cumulative mean
            (a description: the step itself decides).
        frames_per_step: k, the frames one call of ``step`` takes: its ``frame`` input is
            ``(1, H, W, 3)`` for k = 1, ``(1, k, H, W, 3)`` above.
    """

    def __init__(
        self,
        step,
        state_shapes: dict[str, tuple[int, ...]],
        frame_shape: tuple[int, int, int],
        class_names: list[str] | None = None,
        mean_rgb=_DEFAULT_MEAN,
        std_rgb=_DEFAULT_STD,
        half_life: float | None = None,
        frames_per_step: int = 1,
    ):
        self._step = step
        self.half_life = half_life
        self.frames_per_step = check_frames_per_step(frames_per_step)
        self.state_shapes = dict(state_shapes)
        self.frame_shape = tuple(int(d) for d in frame_shape)
        self.class_names = list(class_names) if class_names is not None else None
        self.mean = np.asarray(mean_rgb, np.float32)
        self.std = np.asarray(std_rgb, np.float32)
        self.probabilities: np.ndarray | None = None
        self.reset()

    @classmethod
    def from_model(
        cls,
        model,
        class_names=None,
        mean_rgb=None,
        std_rgb=None,
        half_life=None,
        frames_per_step: int = 1,
    ):
        """A recognizer running the step model of the causal Keras clip `model`, over every
        frame (`half_life` None or 0) or an exponential average of half-life `half_life`
        frames, `frames_per_step` frames per step (`build_step_model`)."""
        from xwisenet_tf.data.pipeline import MEAN_RGB, STD_RGB
        from xwisenet_tf.streaming.step_model import build_step_model

        step = build_step_model(model, half_life, frames_per_step)
        run = step.compiled()
        return cls(
            run,
            step.state_shapes,
            step.frame_shape,
            class_names,
            MEAN_RGB if mean_rgb is None else mean_rgb,
            STD_RGB if std_rgb is None else std_rgb,
            step.half_life,
            step.frames_per_step,
        )

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike,
        num_threads: int | None = None,
        half_life: float | None = None,
        frames_per_step: int | None = None,
    ):
        """A recognizer from a ``.keras`` causal checkpoint or a ``.tflite`` step export; class
        names and normalisation come from the model's metadata.

        Args:
            path: The model file.
            num_threads: TFLite interpreter threads.
            half_life: The average's half-life in frames, 0 for the cumulative mean; `None`:
                the model's own (a ``.tflite`` step export's, recorded in its metadata by
                ``export.py --stream_half_life``; cumulative for a ``.keras``).
            frames_per_step: The frames one step takes; `None`: the model's own (a
                ``.tflite`` step export's, ``export.py --stream_frames_per_step``, the shape
                of its ``frame`` input; 1 for a ``.keras``).

        Raises:
            TrainingError: no such file, a model that cannot stream, or a ``.tflite`` export
                asked for another half-life or number of frames per step than its own
                (constants of its graph).
        """
        from xwisenet_tf.data.pipeline import MEAN_RGB, STD_RGB
        from xwisenet_tf.layer_options import check_half_life
        from xwisenet_tf.training import checkpoint
        from xwisenet_tf.training.errors import TrainingError
        from xwisenet_tf.training.model_metadata import read_model_metadata

        path = os.fspath(path)
        if not os.path.isfile(path):
            raise TrainingError(f"{path}: model not found; expected a .keras or .tflite file")
        try:
            wanted = check_half_life(half_life)
            if frames_per_step is not None:
                check_frames_per_step(frames_per_step)
        except ValueError as e:
            raise TrainingError(str(e)) from e
        metadata = read_model_metadata(path)
        meta = metadata.get("input") or {}
        mean = meta.get("mean_rgb", MEAN_RGB)
        std = meta.get("std_rgb", STD_RGB)
        extension = os.path.splitext(path)[1].lower()
        if extension == ".keras":
            from xwisenet_tf.streaming.step_model import NotCausalError

            model = checkpoint.load_checkpoint(path)
            names = checkpoint.class_names(metadata, int(model.outputs[0].shape[-1]), path)
            try:
                return cls.from_model(model, names, mean, std, wanted, frames_per_step or 1)
            except NotCausalError as e:
                raise TrainingError(f"{path}: cannot stream: {e}") from e
        if extension == ".tflite":
            recognizer = cls._from_tflite(path, num_threads, metadata, mean, std)
            if half_life is not None:
                _check_exported_half_life(path, recognizer.half_life, wanted)
            if frames_per_step is not None and frames_per_step != recognizer.frames_per_step:
                raise TrainingError(
                    f"{path}: this step export takes {recognizer.frames_per_step} frame(s) per "
                    f"step, a constant of its graph; asked for {frames_per_step}. Export it "
                    "again with `python export.py --stream "
                    f"--stream_frames_per_step={frames_per_step}`, or leave it unset"
                )
            return recognizer
        raise TrainingError(
            f"{path}: unknown model format {extension!r}; expected .keras or .tflite"
        )

    @classmethod
    def _from_tflite(cls, path, num_threads, metadata, mean, std):
        from xwisenet_tf.tflite_runner import TFLiteRunner
        from xwisenet_tf.training import checkpoint
        from xwisenet_tf.training.errors import TrainingError

        try:
            runner = TFLiteRunner(path=path, num_threads=num_threads, fallback=True)
            signature = runner.interpreter.get_signature_runner()
        except (ValueError, RuntimeError) as e:
            raise TrainingError(f"{path}: not a readable TFLite model ({e})") from e
        inputs = signature.get_input_details()
        outputs = signature.get_output_details()
        if FRAME not in inputs or PROBABILITIES not in outputs:
            raise TrainingError(
                f"{path}: not a streaming step model (inputs {sorted(inputs)}); export one "
                "with `python export.py --stream` from a causal model"
            )
        shapes = {
            name: tuple(int(d) for d in detail["shape"][1:])
            for name, detail in inputs.items()
            if name != FRAME
        }
        num_classes = int(outputs[PROBABILITIES]["shape"][-1])
        names = checkpoint.class_names(metadata, num_classes, path)
        # (1, H, W, 3), or (1, k, H, W, 3) for k frames per step (`build_step_model`).
        frame_input = tuple(int(d) for d in inputs[FRAME]["shape"][1:])
        frames_per_step = frame_input[0] if len(frame_input) == 4 else 1
        half_life = (metadata.get("export") or {}).get("half_life")
        return cls(
            lambda x: runner.run_signature(**x),
            shapes,
            frame_input[-3:],
            names,
            mean,
            std,
            half_life,
            frames_per_step,
        )

    @property
    def frames_seen(self) -> int:
        """Frames the `probabilities` cover: those of every step run since the last `reset`."""
        return int(round(float(self._state[FRAMES_SEEN].reshape(-1)[0])))

    @property
    def frames_pending(self) -> int:
        """Frames pushed since the last step, waiting for the next (always 0 for k = 1)."""
        return len(self._pending)

    def reset(self) -> None:
        """Forgets every frame: the next `push` starts a new stream."""
        self._state = {
            name: np.zeros((1, *shape), np.float32) for name, shape in self.state_shapes.items()
        }
        self._pending: list[np.ndarray] = []
        self.probabilities = None

    def push(self, frame: np.ndarray) -> np.ndarray | None:
        """Adds one RGB frame ``(H, W, 3)`` on the 0-255 scale (uint8 or float, any size);
        returns the class probabilities over the frames pushed since the last `reset`.

        With k = `frames_per_step` > 1 a step runs on every k-th frame; the other pushes
        return the probabilities of the last step (over its `frames_seen` frames), or `None`
        before the first.
        """
        frame = self._fit(np.asarray(frame))
        normalised = ((frame - self.mean) / self.std).astype(np.float32)
        if self.frames_per_step == 1:
            frames = normalised[None]
        else:
            self._pending.append(normalised)
            if len(self._pending) < self.frames_per_step:
                return self.probabilities
            frames, self._pending = np.stack(self._pending)[None], []
        outputs = self._step({FRAME: frames, **self._state})
        self._state = {name: np.asarray(outputs[name]) for name in self.state_shapes}
        self.probabilities = np.asarray(outputs[PROBABILITIES], np.float64)[0]
        return self.probabilities

    def top_k(self, k: int = 3) -> list[tuple[str, float]]:
        """The k most probable classes after the last `push`, as ``(name, probability)``."""
        if self.probabilities is None:
            return []
        order = np.argsort(-self.probabilities)[:k]
        names = self.class_names or [f"class_{i}" for i in range(len(self.probabilities))]
        return [(names[i], float(self.probabilities[i])) for i in order]

    def _fit(self, frame: np.ndarray) -> np.ndarray:
        """The centre square of `frame`, resized to the model's frame size (bilinear, as the
        clip pipeline resizes), as float32 0-255."""
        if frame.ndim != 3 or frame.shape[-1] != 3:
            raise ValueError(f"a frame is (height, width, 3) RGB; received shape {frame.shape}")
        height, width = self.frame_shape[:2]
        if frame.shape[:2] == (height, width):
            return frame.astype(np.float32)
        import tensorflow as tf

        side = min(frame.shape[:2])
        top, left = (frame.shape[0] - side) // 2, (frame.shape[1] - side) // 2
        square = frame[top : top + side, left : left + side].astype(np.float32)
        return tf.image.resize(square, (height, width), method="bilinear").numpy()


def _check_exported_half_life(path: str, exported: float | None, wanted: float | None) -> None:
    """Raises TrainingError if the half-life ``wanted`` (`None`: cumulative) is not the one a
    step export was made with."""
    from xwisenet_tf.training.errors import TrainingError

    if (wanted is None) == (exported is None) and (
        wanted is None or math.isclose(wanted, exported, rel_tol=1e-6)
    ):
        return

    def describe(h):
        return "the cumulative mean" if h is None else f"a half-life of {h:g} frames"

    raise TrainingError(
        f"{path}: this step export averages with {describe(exported)}, a constant of its graph; "
        f"asked for {describe(wanted)}. Export it again with `python export.py --stream "
        f"--stream_half_life={wanted or 0:g}`, or leave the half-life unset"
    )
