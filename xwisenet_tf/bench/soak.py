"""Resident memory of a long session: one process builds, trains, evaluates and converts tiny
models in turn, as a notebook sweep or the experiment runner does.

    python -m xwisenet_tf.bench.soak [--models 20] [--steps 3] [--compare 5]

Each model is a tiny XwiseNet (SS blocks, width 0.5, one unit per stage) on 8 x 32 x 32 clips:
built, trained for ``--steps`` steps (`train_on_batch`, Adam; the fused BatchNorm's training
path), evaluated (`evaluate`) and converted to TFLite (float), then dropped with
`keras.backend.clear_session` and a garbage collection. After each model the process's resident
set (``VmRSS`` of ``/proc/self/status``) and the number of TensorFlow graphs still alive are
recorded. Memory that stays with every model shows as a steady rise: the run passes when the
resident set after the last model is within ``--tolerance_mb`` (100 MB) of the one after model
``--compare`` (5; the first models also fill TensorFlow's caches and allocator pools, which is
not a leak). The graphs alive tell a leak of traced graphs apart from allocator noise.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from dataclasses import dataclass

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

TINY_XWISENET = {"width": 0.5, "stage_repeats": (1, 1, 1)}


@dataclass(frozen=True)
class SoakResult:
    """The resident set after each model and the verdict.

    Attributes:
        rss_mb: MiB after model 1, 2, ... (index 0 is model 1).
        graphs: the `tf.Graph` objects alive after each model.
        compare: the model whose resident set the last one is held against.
        tolerance_mb: the growth allowed from model ``compare`` to the last.
    """

    rss_mb: tuple[float, ...]
    graphs: tuple[int, ...]
    compare: int
    tolerance_mb: float

    @property
    def growth_mb(self) -> float:
        """Growth from after model ``compare`` to after the last model."""
        return self.rss_mb[-1] - self.rss_mb[self.compare - 1]

    @property
    def passed(self) -> bool:
        return self.growth_mb <= self.tolerance_mb

    def summary(self) -> str:
        verdict = "within" if self.passed else "NOT within"
        return (
            f"RSS after model {self.compare}: {self.rss_mb[self.compare - 1]:.1f} MB, after model "
            f"{len(self.rss_mb)}: {self.rss_mb[-1]:.1f} MB; growth {self.growth_mb:+.1f} MB "
            f"({self.growth_mb / max(1, len(self.rss_mb) - self.compare):+.1f} MB per model), "
            f"{verdict} {self.tolerance_mb:g} MB; graphs alive {self.graphs[self.compare - 1]} "
            f"-> {self.graphs[-1]}"
        )


def resident_mb() -> float:
    """The resident set of this process now (``VmRSS``), MiB."""
    from xwisenet_tf.bench.memory import proc_status_mb

    return proc_status_mb("VmRSS")


def live_graphs() -> int:
    """How many `tf.Graph` objects (traced functions' graphs among them) are alive."""
    import tensorflow as tf

    return sum(isinstance(o, tf.Graph) for o in gc.get_objects())


def one_model(index: int, steps: int, convert: bool = True) -> None:
    """Builds, trains ``steps`` steps, evaluates and (``convert``) converts model ``index``."""
    import numpy as np

    from xwisenet_tf.bench.cases import parse_case
    from xwisenet_tf.bench.measure import (
        Settings,
        build_model,
        convert_tflite,
        random_clips,
        training_call,
    )

    settings = Settings(
        frames=8, size=32, num_classes=6, seed=index, xwisenet_overrides=TINY_XWISENET
    )
    case = parse_case("xwisenet")
    model = build_model(case, settings, inference=False)
    clips = random_clips(settings, 4)
    step = training_call(model, case, clips, settings.num_classes, seed=index)
    for _ in range(steps):
        step()
    labels = np.arange(len(clips)) % settings.num_classes
    model.evaluate(clips, labels, batch_size=len(clips), verbose=0)
    if convert:
        converted = convert_tflite(model, "none", None)
        if "error" in converted:
            raise RuntimeError(f"model {index}: TFLite conversion failed: {converted['error']}")


def soak(
    models: int = 20,
    steps: int = 3,
    compare: int = 5,
    tolerance_mb: float = 100.0,
    convert: bool = True,
    log=None,
) -> SoakResult:
    """Runs `one_model` ``models`` times in this process; the resident set after each.

    Args:
        models: how many models, one after the other.
        steps: training steps of each.
        compare: the model (1-based) the last one is held against.
        tolerance_mb: the growth allowed from model ``compare`` to the last.
        convert: also convert each model to TFLite.
        log: called with a line per model (e.g. `print`), or None.

    Returns:
        A `SoakResult`.
    """
    import keras

    if not 1 <= compare <= models:
        raise ValueError(f"`compare` must be in 1..{models}. Received: compare={compare}")
    rss, graphs = [], []
    for index in range(1, models + 1):
        start = time.perf_counter()
        one_model(index, steps, convert)
        keras.backend.clear_session()
        gc.collect()
        rss.append(round(resident_mb(), 1))
        graphs.append(live_graphs())
        if log:
            seconds = time.perf_counter() - start
            log(f"model {index:2d}: RSS {rss[-1]:7.1f} MB, {graphs[-1]} graphs ({seconds:.1f} s)")
    return SoakResult(tuple(rss), tuple(graphs), compare, tolerance_mb)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m xwisenet_tf.bench.soak", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--models", type=int, default=20, help="models in turn (default 20)")
    parser.add_argument("--steps", type=int, default=3, help="training steps each (default 3)")
    parser.add_argument(
        "--compare", type=int, default=5, help="the model the last is held against (default 5)"
    )
    parser.add_argument("--tolerance_mb", type=float, default=100.0, help="default 100")
    parser.add_argument("--no_convert", action="store_true", help="skip the TFLite conversion")
    args = parser.parse_args(argv)
    result = soak(
        args.models,
        args.steps,
        args.compare,
        args.tolerance_mb,
        convert=not args.no_convert,
        log=lambda line: print(line, flush=True),
    )
    print(result.summary())
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
