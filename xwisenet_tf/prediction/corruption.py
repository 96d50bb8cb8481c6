"""Corruption harness: damaged copies of real videos through decode, convert and predict.

Each source video gives damaged copies (`make_cases`): truncated at random offsets, random
bytes flipped, a random range zeroed, the same bytes under another container extension. Every
copy goes through the data path a user's file takes: `probe_video` and `read_video` (decode),
`stored_frames` (conversion: resize and JPEG, as ``prepare`` stores frames) and, given a model,
`Predictor.score_video` (predict). The outcome of a case is one of:

- ``ok``: a valid result (frames ``uint8 (T, H, W, 3)`` with T >= 1; finite probabilities);
- ``data_error``: a `DataError` (or the predictor's `TrainingError`) whose message names the file;
- ``unexpected``: any other exception: a defect, as is every outcome below;
- ``crash``: the worker process died (a segfault or abort inside FFmpeg, say);
- ``timeout``: the case took longer than the timeout (a hang);
- ``memory``: the worker exceeded its memory limit.

Cases run one at a time in a worker process (``spawn``) that is killed and restarted after a
timeout or a crash, so one bad file never stops the run. The worker's address space is capped
(`RLIMIT_AS`) and its peak resident memory reported.

Command line (prints the summary; exit status 1 when any case ended in a defect)::

    python -m xwisenet_tf.prediction.corruption VIDEO [VIDEO ...] [--cases=8] [--budget=60]
        [--timeout=10] [--model=model.tflite] [--seed=0]
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence

import numpy as np

KINDS = ("truncate", "flip", "zero", "extension")
OK, DATA_ERROR = "ok", "data_error"
DEFECTS = ("unexpected", "crash", "timeout", "memory")
# Extensions a damaged copy is renamed to (the container FFmpeg probes is in the bytes).
SWAP_EXTENSIONS = (".avi", ".mp4", ".mkv", ".webm", ".mov")
DEFAULT_MEMORY_LIMIT_MB = 4096


@dataclasses.dataclass(frozen=True)
class Case:
    """One damaged copy of a source video.

    Attributes:
        source: The undamaged video.
        kind: One of `KINDS`.
        detail: What was done, e.g. ``"truncate at 1234 of 5000 bytes"``.
        data: The damaged bytes.
        extension: The extension the copy is written with.
    """

    source: str
    kind: str
    detail: str
    data: bytes
    extension: str


@dataclasses.dataclass
class Outcome:
    """What happened to one case (`outcome` in ``ok``, ``data_error`` or one of `DEFECTS`)."""

    case: Case
    outcome: str
    message: str = ""
    seconds: float = 0.0
    peak_rss_mb: float = 0.0


def make_cases(path: str | os.PathLike, rng: np.random.Generator, per_kind: int = 2) -> list[Case]:
    """`per_kind` damaged copies of the video at `path` for each of `KINDS`.

    Offsets are drawn from `rng`, so a seed gives the same cases.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        data = f.read()
    size = len(data)
    extension = os.path.splitext(path)[1].lower()
    cases = []
    for _ in range(per_kind):
        cut = int(rng.integers(1, size))
        cases.append(
            Case(path, "truncate", f"truncate at {cut} of {size} bytes", data[:cut], extension)
        )
    for _ in range(per_kind):
        damaged = bytearray(data)
        count = int(rng.integers(1, 33))
        # Half of the flips in the first 4 KiB, where the headers and index usually are.
        where = rng.integers(0, size, count)
        where[: count // 2] = rng.integers(0, min(size, 4096), count // 2)
        for offset in where:
            damaged[offset] ^= int(rng.integers(1, 256))
        cases.append(Case(path, "flip", f"{count} random bytes flipped", bytes(damaged), extension))
    for _ in range(per_kind):
        start = int(rng.integers(0, size))
        length = int(rng.integers(1, max(2, size // 4)))
        damaged = bytearray(data)
        damaged[start : start + length] = bytes(len(damaged[start : start + length]))
        detail = f"bytes {start}-{min(size, start + length)} of {size} zeroed"
        cases.append(Case(path, "zero", detail, bytes(damaged), extension))
    others = [e for e in SWAP_EXTENSIONS if e != extension]
    for i in range(per_kind):
        other = others[int(rng.integers(0, len(others)))] if i else others[0]
        cases.append(Case(path, "extension", f"renamed {extension} -> {other}", data, other))
    return cases


def _valid_frames(frames) -> str | None:
    if not isinstance(frames, np.ndarray) or frames.dtype != np.uint8:
        return f"frames are {type(frames).__name__} {getattr(frames, 'dtype', '')}, not uint8"
    if frames.ndim != 4 or frames.shape[0] < 1 or frames.shape[-1] != 3 or 0 in frames.shape:
        return f"frames have shape {frames.shape}, expected (T >= 1, H, W, 3)"
    return None


def check_file(path: str, predictor=None) -> tuple[str, str]:
    """Decodes, converts and (with a predictor) predicts one file.

    Returns:
        ``(outcome, message)``: ``ok``, ``data_error`` or ``unexpected`` (see the module).
    """
    from xwisenet_tf.data.decode import probe_video, read_video
    from xwisenet_tf.data.errors import DataError
    from xwisenet_tf.data.frames import stored_frames
    from xwisenet_tf.training.errors import TrainingError

    try:
        probe_video(path)
        frames = read_video(path, short_side=32)
        invalid = _valid_frames(frames)
        if invalid:
            return "unexpected", f"decode: {invalid}"
        stored = list(stored_frames(path, short_side=32, jpeg_quality=75))
        if not stored or any(not f.jpeg or min(f.height, f.width) < 1 for f in stored):
            return "unexpected", "convert: no frame or an empty JPEG without an error"
        if predictor is not None:
            scores = np.asarray(predictor.score_video(path).video_scores, np.float64)
            if not np.all(np.isfinite(scores)) or abs(scores.sum() - 1) > 1e-3:
                return "unexpected", f"predict: scores {scores} are not probabilities"
        return OK, f"{len(frames)} frames"
    except (DataError, TrainingError) as e:
        if path not in str(e):
            return "unexpected", f"{type(e).__name__} does not name the file: {e}"
        return DATA_ERROR, str(e).replace(path, "<file>")
    except MemoryError as e:
        return "memory", f"MemoryError: {e}"
    except Exception as e:  # noqa: BLE001 - every other exception is the defect being looked for
        return "unexpected", f"{type(e).__name__}: {e}"


def _worker(connection, model: str | None, memory_limit_mb: int, check: str | None) -> None:
    import importlib
    import resource

    check_fn = check_file
    if check:  # "module:function", for the harness's own tests
        module, name = check.split(":")
        check_fn = getattr(importlib.import_module(module), name)

    if memory_limit_mb:
        limit = memory_limit_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    predictor = None
    if model:
        from xwisenet_tf.prediction.predictor import Predictor

        predictor = Predictor(model)
    connection.send("ready")
    while True:
        path = connection.recv()
        if path is None:
            return
        outcome, message = check_fn(path, predictor)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        connection.send((outcome, message, peak))


class _Worker:
    def __init__(self, model, memory_limit_mb, start_timeout, check=None):
        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        self.process = context.Process(
            target=_worker, args=(child, model, memory_limit_mb, check), daemon=True
        )
        self.process.start()
        child.close()
        if not self.connection.poll(start_timeout) or self.connection.recv() != "ready":
            self.stop()
            raise RuntimeError(f"the corruption worker did not start in {start_timeout} s")

    def run(self, path: str, timeout: float) -> tuple[str, str, float]:
        try:
            self.connection.send(path)
            if not self.connection.poll(timeout):
                return "timeout", f"no result after {timeout} s", 0.0
            return self.connection.recv()
        except (EOFError, OSError):
            self.process.join(10)
            return "crash", f"worker died (exit code {self.process.exitcode})", 0.0

    def stop(self):
        if self.process.is_alive():
            self.process.kill()
        self.process.join()


def run_harness(
    cases: Iterable[Case],
    model: str | None = None,
    timeout: float = 10.0,
    budget: float | None = 60.0,
    memory_limit_mb: int = DEFAULT_MEMORY_LIMIT_MB,
    start_timeout: float = 120.0,
    _check: str | None = None,
) -> list[Outcome]:
    """Runs every case (until `budget` seconds have passed) in a worker process.

    Args:
        cases: From `make_cases`.
        model: A ``.keras`` or ``.tflite`` model with its metadata, for the predict step.
        timeout: Seconds a case may take before it counts as a hang.
        budget: Stop starting cases after this many seconds (``None``: run them all).
        memory_limit_mb: The worker's address-space cap (0: none).
        start_timeout: Seconds the worker may take to start (imports, loading the model).

    Returns:
        One `Outcome` per case run, in order.
    """
    began = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="xwisenet_corruption_")
    worker = None
    outcomes = []
    try:
        for number, case in enumerate(cases):
            if budget is not None and time.monotonic() - began > budget:
                break
            path = os.path.join(workdir, f"case{number:04d}{case.extension}")
            with open(path, "wb") as f:
                f.write(case.data)
            if worker is None:
                worker = _Worker(model, memory_limit_mb, start_timeout, _check)
            tic = time.monotonic()
            outcome, message, peak = worker.run(path, timeout)
            if outcome in ("timeout", "crash"):
                worker.stop()
                worker = None
            outcomes.append(Outcome(case, outcome, message, time.monotonic() - tic, peak))
            os.remove(path)
    finally:
        if worker is not None:
            try:
                worker.connection.send(None)
            except OSError:
                pass
            worker.process.join(5)
            worker.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return outcomes


def summarize(outcomes: Sequence[Outcome]) -> str:
    """The harness summary: cases tried, outcomes by corruption kind, errors by kind, defects."""
    lines = [f"corruption harness: {len(outcomes)} cases"]
    sources = sorted({o.case.source for o in outcomes})
    lines.append(f"  sources: {', '.join(os.path.basename(s) for s in sources)}")
    by_kind = collections.defaultdict(collections.Counter)
    for o in outcomes:
        by_kind[o.case.kind][o.outcome] += 1
    for kind in KINDS:
        if by_kind[kind]:
            counts = ", ".join(f"{k} {n}" for k, n in sorted(by_kind[kind].items()))
            lines.append(f"  {kind:<10} {counts}")
    errors = collections.Counter(
        _error_kind(o.message) for o in outcomes if o.outcome == DATA_ERROR
    )
    if errors:
        lines.append("  data errors by kind:")
        lines += [f"    {n:3d}  {kind}" for kind, n in errors.most_common()]
    defects = [o for o in outcomes if o.outcome in DEFECTS]
    slowest = max((o.seconds for o in outcomes), default=0.0)
    peak = max((o.peak_rss_mb for o in outcomes), default=0.0)
    lines.append(f"  slowest case {slowest:.2f} s, worker peak memory {peak:.0f} MB")
    if defects:
        lines.append(f"  DEFECTS: {len(defects)}")
        for o in defects:
            lines.append(f"    {o.outcome}: {o.case.source} ({o.case.detail}): {o.message}")
    else:
        lines.append("  no crash, hang, memory blow-up or unexpected exception")
    return "\n".join(lines)


def _error_kind(message: str) -> str:
    """A DataError message without its file and numbers: ``"<file>: truncated: ..."``."""
    text = message.replace("<file>: ", "")
    for marker in (" (", ":", ";"):
        text = text.split(marker)[0]
    return " ".join(
        "N" if word.strip(".,").replace(".", "").isdigit() else word for word in text.split()
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("videos", nargs="+", help="undamaged video files")
    parser.add_argument("--cases", type=int, default=2, help="damaged copies per kind and video")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds for the whole run")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per case")
    parser.add_argument("--model", default=None, help=".keras or .tflite model for predict")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    cases = [c for video in args.videos for c in make_cases(video, rng, args.cases)]
    outcomes = run_harness(cases, args.model, args.timeout, args.budget)
    print(summarize(outcomes))
    return 1 if any(o.outcome in DEFECTS for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
