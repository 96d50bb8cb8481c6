"""Verification of an exported model against the Keras model: outputs, latency, accuracy."""

from __future__ import annotations

import time
from collections.abc import Callable

import keras
import numpy as np


def compare_outputs(expected: np.ndarray, got: np.ndarray) -> dict:
    """Agreement of two ``(clips, classes)`` score arrays.

    Returns:
        ``num_clips``, ``top1_agreement`` (share of clips with the same arg-max),
        ``max_abs_diff`` and ``mean_abs_diff`` of the scores, and
        ``disagreement_margins``: for the clips whose arg-max differs (at most 20, smallest
        first), the reference's margin between its two best scores; a near-zero margin is a
        near-tie that any rounding can flip.
    """
    expected = np.asarray(expected, np.float64)
    got = np.asarray(got, np.float64)
    if expected.shape != got.shape:
        raise ValueError(f"output shapes differ: {expected.shape} vs {got.shape}")
    diff = np.abs(expected - got)
    differ = expected.argmax(-1) != got.argmax(-1)
    top2 = np.sort(expected, axis=-1)[:, -2:]
    margins = np.sort(top2[differ, 1] - top2[differ, 0])[:20]
    return {
        "num_clips": int(expected.shape[0]),
        "top1_agreement": float(np.mean(~differ)),
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "disagreement_margins": [round(float(m), 6) for m in margins],
    }


def keras_function(model: keras.Model) -> Callable[[np.ndarray], np.ndarray]:
    """A compiled (``tf.function``) inference call of `model`: batch in, numpy scores out."""
    import tensorflow as tf

    fn = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    return lambda x: np.asarray(fn(tf.convert_to_tensor(x)))


def keras_predict(model: keras.Model, inputs: np.ndarray, batch_size: int = 8) -> np.ndarray:
    """Scores of `model` for every item of `inputs`."""
    fn = keras_function(model)
    return np.concatenate(
        [fn(inputs[i : i + batch_size]) for i in range(0, len(inputs), batch_size)]
    )


def median_latency_ms(call: Callable[[], object], runs: int, warmup: int) -> dict:
    """Runs ``call`` ``warmup`` times, then times ``runs`` calls.

    Returns:
        ``median_ms``, ``min_ms``, ``max_ms`` over the timed runs.
    """
    for _ in range(warmup):
        call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000.0)
    return {
        "median_ms": round(float(np.median(times)), 3),
        "min_ms": round(float(np.min(times)), 3),
        "max_ms": round(float(np.max(times)), 3),
    }


def interleaved_latency(
    call: Callable[[], object],
    baseline: Callable[[], object],
    rounds: int = 5,
    calls_per_round: int = 3,
    warmup: int = 2,
) -> dict:
    """Times ``call`` against ``baseline`` in alternating rounds (a machine whose speed drifts
    between rounds slows both alike): ``calls_per_round`` calls of each per round.

    Returns:
        ``median_ms`` and ``baseline_median_ms`` (medians of the per-round medians), ``ratio``
        (median of the per-round ratios ``call / baseline``), ``rounds``, ``calls_per_round``.
    """
    for _ in range(warmup):
        call()
        baseline()
    mine, theirs = [], []
    for _ in range(rounds):
        mine.append(median_latency_ms(call, calls_per_round, 0)["median_ms"])
        theirs.append(median_latency_ms(baseline, calls_per_round, 0)["median_ms"])
    ratios = [m / max(t, 1e-9) for m, t in zip(mine, theirs, strict=True)]
    return {
        "median_ms": round(float(np.median(mine)), 3),
        "baseline_median_ms": round(float(np.median(theirs)), 3),
        "ratio": round(float(np.median(ratios)), 3),
        "rounds": rounds,
        "calls_per_round": calls_per_round,
    }


def measure_latency(
    content: bytes,
    keras_model: keras.Model,
    clip: np.ndarray,
    runs: int = 20,
    warmup: int = 3,
    num_threads: int | None = None,
) -> dict:
    """Median batch-1 latency of a TFLite model (``ai-edge-litert``) and of the Keras model,
    measured one after the other in this process on the same clip.

    The TFLite time is ``invoke()`` only (input already set); the Keras time is one call of the
    compiled model on a batch-1 tensor (TensorFlow's default thread pools).
    """
    from ai_edge_litert import __version__ as litert_version

    from xwisenet_tf.tflite_runner import TFLiteRunner

    runner = TFLiteRunner(content, num_threads=num_threads)
    runner.set_input(clip)
    tflite = median_latency_ms(runner.invoke, runs, warmup)
    batch = np.asarray(clip)[None]
    fn = keras_function(keras_model)
    ref = median_latency_ms(lambda: fn(batch), runs, warmup)
    return {
        "runtime": f"ai-edge-litert {litert_version}",
        "num_threads": num_threads,
        "runs": runs,
        "warmup": warmup,
        "tflite_median_ms": tflite["median_ms"],
        "tflite_min_ms": tflite["min_ms"],
        "keras_median_ms": ref["median_ms"],
        "keras_min_ms": ref["min_ms"],
        "speedup_vs_keras": round(ref["median_ms"] / max(tflite["median_ms"], 1e-9), 2),
    }


def video_accuracy(
    predict: Callable[[np.ndarray], np.ndarray],
    data_dir: str,
    split: str,
    num_frames: int,
    image_size: int,
    frame_stride: int = 1,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
    batch_size: int = 8,
) -> dict:
    """Clip and video accuracy of any predictor with the recognition protocol (sec. IV-C).

    Every non-overlapping clip of every video of ``split`` (centre crop), softmax scores
    averaged per video; the video accuracy is the paper's number.

    Args:
        predict: Batch of clips -> scores ``(batch, classes)``.
        transform: Applied to each batch of normalised clips first (e.g. `to_uint8_frames`).

    Returns:
        ``video_accuracy``, ``clip_accuracy``, ``num_videos``, ``num_clips``, ``split``.
    """
    from xwisenet_tf.data import read_manifest
    from xwisenet_tf.training.evaluation import protocol_report
    from xwisenet_tf.training.protocol import score_split

    scores, labels, videos = score_split(
        (lambda clips: predict(transform(clips))) if transform else predict,
        data_dir,
        split,
        num_frames,
        image_size,
        batch_size,
        frame_stride,
    )
    manifest = read_manifest(data_dir)
    report = protocol_report(
        scores,
        labels,
        videos,
        manifest["splits"][split]["videos"],
        list(manifest["classes"]),
    )
    keys = ("num_videos", "num_clips", "video_accuracy", "clip_accuracy")
    return {"split": split, **{k: report[k] for k in keys}}
