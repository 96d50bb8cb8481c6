"""A long live stream: memory and per-frame latency of `StreamingRecognizer` over an hour of
frames, as ``predict.py --stream --pace=fast`` feeds them.

    python -m xwisenet_tf.bench.stream_soak [--frames 90000] [--half_life 16] [--backend keras]
        [--window 1000] [--output stream_soak.json]

A tiny causal XwiseNet (``xwisenet-stream``, width 0.5, one unit per stage, 8 x 32 x 32, random
weights: time and memory do not depend on them) runs frame by frame, with an exponential
average of half-life ``--half_life`` frames (0: the cumulative mean), in Keras (`from_model`)
or as a float TFLite step export (`from_file`, ``--backend tflite``). The frames are generated
(`xwisenet_tf.data.synthetic.render_video`, 72 x 96: the six synthetic actions in turn, 50 frames
each, repeated) and pushed as fast as the model takes them, each cropped and resized by the
recognizer as a camera frame is. Recorded: the time of every `push`, and the resident set
(``VmRSS``) after every ``--window`` frames. The stream passes when the median step of the last
``--window`` frames is within ``--latency_tolerance`` (10%) of the first ``--window``'s and the
resident set after the last frame is within ``--tolerance_mb`` (50 MB) of the one after the
first ``--window`` frames: the state is a fixed set of tensors, so nothing should grow with
the stream.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass

import numpy as np

from xwisenet_tf.bench.soak import TINY_XWISENET, resident_mb

CLIP = (8, 32, 32)  # the tiny model's training clip: frames, height, width
FRAMES_PER_ACTION = 50
BACKENDS = ("keras", "tflite")


@dataclass(frozen=True)
class StreamSoakResult:
    """What a long stream did to memory and latency.

    Attributes:
        frames: frames pushed.
        window: frames per latency window and between resident-set samples.
        half_life: the average's half-life in frames (`None`: cumulative).
        backend: ``"keras"`` or ``"tflite"``.
        rss_mb: resident set (MiB) after every ``window`` frames, then after the last frame.
        first_ms, last_ms: median `push` time (ms) of the first and of the last ``window``
            frames.
        seconds: wall time of the stream.
        latency_tolerance: allowed relative change from ``first_ms`` to ``last_ms``.
        tolerance_mb: allowed growth of the resident set after the first window.
    """

    frames: int
    window: int
    half_life: float | None
    backend: str
    rss_mb: tuple[float, ...]
    first_ms: float
    last_ms: float
    seconds: float
    latency_tolerance: float = 0.10
    tolerance_mb: float = 50.0

    @property
    def growth_mb(self) -> float:
        """Resident set after the last frame minus after the first window."""
        return self.rss_mb[-1] - self.rss_mb[0]

    @property
    def latency_change(self) -> float:
        """``last_ms / first_ms - 1``."""
        return self.last_ms / self.first_ms - 1.0

    @property
    def passed(self) -> bool:
        return (
            abs(self.latency_change) <= self.latency_tolerance
            and self.growth_mb <= self.tolerance_mb
        )

    def summary(self) -> str:
        horizon = "cumulative" if self.half_life is None else f"half-life {self.half_life:g}"
        verdict = "passed" if self.passed else "NOT passed"
        return (
            f"{self.frames} frames ({self.backend}, {horizon}) in {self.seconds:.0f} s: RSS after "
            f"{self.window} frames {self.rss_mb[0]:.1f} MB, after the last {self.rss_mb[-1]:.1f} "
            f"MB ({self.growth_mb:+.1f} MB, within {self.tolerance_mb:g}); median push of the "
            f"first / last {self.window} frames {self.first_ms:.3f} / {self.last_ms:.3f} ms "
            f"({self.latency_change:+.1%}, within {self.latency_tolerance:.0%}): {verdict}"
        )


def generated_frames(seed: int = 0) -> np.ndarray:
    """The loop of generated frames: every synthetic action for `FRAMES_PER_ACTION` frames,
    ``(6 * 50, 72, 96, 3)`` uint8."""
    from xwisenet_tf.data.synthetic import CLASSES, render_video

    rng = np.random.default_rng(seed)
    return np.concatenate([render_video(a, rng, FRAMES_PER_ACTION) for a in CLASSES])


def recognizer(half_life: float | None, backend: str = "keras", workdir: str | None = None):
    """The tiny causal model's `StreamingRecognizer`, in Keras or from a float TFLite step
    export written into ``workdir`` (with the metadata ``export.py --stream`` records)."""
    import keras

    from xwisenet_tf.data.synthetic import CLASSES
    from xwisenet_tf.models import get_model
    from xwisenet_tf.streaming import StreamingRecognizer, build_step_model

    if backend not in BACKENDS:
        raise ValueError(f"`backend` must be one of {list(BACKENDS)}. Received: {backend!r}")
    keras.utils.set_random_seed(0)
    model = get_model("xwisenet-stream", len(CLASSES), (*CLIP, 3), **TINY_XWISENET)
    if backend == "keras":
        return StreamingRecognizer.from_model(model, list(CLASSES), half_life=half_life)
    from xwisenet_tf.export.stream import convert_step_model
    from xwisenet_tf.training.model_metadata import add_tflite_metadata

    step = build_step_model(model, half_life)
    metadata = {"class_names": list(CLASSES), "export": {"half_life": step.half_life}}
    path = os.path.join(workdir, "tiny_stream_float32.tflite")
    with open(path, "wb") as f:
        f.write(add_tflite_metadata(convert_step_model(step), metadata))
    return StreamingRecognizer.from_file(path, num_threads=1)


def stream_soak(
    frames: int = 90_000,
    half_life: float | None = 16.0,
    backend: str = "keras",
    window: int = 1000,
    latency_tolerance: float = 0.10,
    tolerance_mb: float = 50.0,
    log=None,
) -> StreamSoakResult:
    """Pushes ``frames`` generated frames through one recognizer, from one `reset`.

    Args:
        frames: frames to push (90,000: an hour at 25 fps).
        half_life: the average's half-life in frames (`None` or 0: cumulative).
        backend: ``"keras"`` or ``"tflite"``.
        window: frames of each latency window and between resident-set samples.
        latency_tolerance: allowed relative change of the median push, first to last window.
        tolerance_mb: allowed growth of the resident set after the first window.
        log: called with a line per ``10 * window`` frames (e.g. `print`), or None.

    Returns:
        A `StreamSoakResult`.
    """
    if not 1 <= window <= frames // 2:
        raise ValueError(
            f"`window` must be in 1..frames // 2 = {frames // 2}. Received: window={window}"
        )
    loop = generated_frames()
    with tempfile.TemporaryDirectory(prefix="xwisenet_stream_soak_") as workdir:
        live = recognizer(half_life, backend, workdir)
        times = np.empty(frames, np.float64)
        rss = []
        start = time.perf_counter()
        for index in range(frames):
            frame = loop[index % len(loop)]
            began = time.perf_counter()
            live.push(frame)
            times[index] = time.perf_counter() - began
            if (index + 1) % window == 0:
                rss.append(round(resident_mb(), 1))
                if log and (index + 1) % (10 * window) == 0:
                    recent = np.median(times[index + 1 - window : index + 1]) * 1000
                    log(f"frame {index + 1:6d}: RSS {rss[-1]:7.1f} MB, push {recent:.3f} ms")
        seconds = time.perf_counter() - start
        if frames % window:
            rss.append(round(resident_mb(), 1))
        if live.frames_seen != frames:
            raise RuntimeError(f"the recognizer counted {live.frames_seen} of {frames} frames")
    return StreamSoakResult(
        frames=frames,
        window=window,
        half_life=live.half_life,
        backend=backend,
        rss_mb=tuple(rss),
        first_ms=round(float(np.median(times[:window])) * 1000, 4),
        last_ms=round(float(np.median(times[-window:])) * 1000, 4),
        seconds=round(seconds, 1),
        latency_tolerance=latency_tolerance,
        tolerance_mb=tolerance_mb,
    )


def main(argv=None) -> int:
    from xwisenet_tf.bench import machine

    parser = argparse.ArgumentParser(
        prog="python -m xwisenet_tf.bench.stream_soak", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--frames", type=int, default=90_000, help="default 90000 (an hour)")
    parser.add_argument(
        "--half_life", type=float, default=16.0, help="frames; 0: cumulative (default 16)"
    )
    parser.add_argument("--backend", choices=BACKENDS, default="keras")
    parser.add_argument("--window", type=int, default=1000, help="default 1000")
    parser.add_argument("--latency_tolerance", type=float, default=0.10, help="default 0.10")
    parser.add_argument("--tolerance_mb", type=float, default=50.0, help="default 50")
    parser.add_argument("--output", default=None, help="also write the result as JSON here")
    args = parser.parse_args(argv)
    result = stream_soak(
        args.frames,
        args.half_life,
        args.backend,
        args.window,
        args.latency_tolerance,
        args.tolerance_mb,
        log=lambda line: print(line, flush=True),
    )
    print(result.summary())
    if args.output:
        record = {**asdict(result), "passed": result.passed, "machine": machine.describe()}
        with open(args.output, "w", encoding="utf-8") as f:
            json.dump(record, f, indent=2)
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
