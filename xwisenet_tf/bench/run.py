"""The side-by-side benchmark: every case measured in one process, interleaved.

`run_benchmark(cases, settings)` returns one JSON-ready dict; `xwisenet_tf.bench.report`
turns it into the Markdown tables and `xwisenet_tf.bench.report_plot` into the trade-off plot.
Here: the run's order, its Keras inference timings and each case's parameters and MACs; the
training steps are `run_training`'s, TFLite `run_tflite`'s, the oneDNN on/off pass
`run_onednn`'s, the rows, ratios and targets `ratios`'.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from xwisenet_tf.bench import timing
from xwisenet_tf.bench.cases import (
    INFER,
    MEMORY,
    REFERENCE,
    SUBJECT,
    TFLITE,
    THROUGHPUT,
    TRAIN,
    Case,
)
from xwisenet_tf.bench.machine import describe, load_average
from xwisenet_tf.bench.measure import (
    PEAK_KEY,
    Settings,
    build_model,
    dense_peak_input,
    dense_peak_macs,
    dense_peak_model,
    inference_call,
    inference_models,
    random_clips,
    release_memory,
)
from xwisenet_tf.bench.ratios import check_targets, fill_peak, fill_rows, key_ratios
from xwisenet_tf.bench.run_onednn import onednn_pass
from xwisenet_tf.bench.run_tflite import time_tflite
from xwisenet_tf.bench.run_training import time_training


def run_benchmark(
    cases: list[Case],
    settings: Settings,
    reference: str = REFERENCE,
    subject: str = SUBJECT,
    log: Callable[[str], None] = print,
) -> dict:
    """Measures every case; returns {"machine", "settings", "cases", "peak", "onednn",
    "ratios", "targets"}.

    "peak": the dense peak (`Settings.peak`), a large 1x1 convolution timed in the same rounds
    as the Keras batch-1 and the TFLite cases; every case's ``peak_share`` is its GMAC/s over
    the peak's in the same runtime. "onednn": Keras latency and training of `onednn_cases`
    again in two subprocesses, oneDNN on and off (`Settings.onednn`).
    """

    start = time.time()
    machine = describe()
    threads = settings.tflite_threads or os.cpu_count() or 1
    rows = {c.key: _complexity(c, settings) for c in cases}
    for c in cases:
        log(
            f"{c.key}: {rows[c.key]['params'] / 1e6:.2f} M params, {rows[c.key]['macs'] / 1e9:.2f} G MACs"
        )

    def with_kind(kind):
        return [c for c in cases if c.does(kind)]

    models = inference_models(with_kind(INFER), settings)
    timed = {}
    peak = {"op": _peak_op(settings), "macs": dense_peak_macs(settings)} if settings.peak else {}
    if models:
        clip = random_clips(settings, 1)
        log(f"Keras batch-1 latency: {settings.rounds} rounds x {settings.calls} calls")
        calls = {
            c.key: inference_call(models[c.key], clip, c.jit_compile, c.frozen)
            for c in with_kind(INFER)
        }
        if peak:
            calls[PEAK_KEY] = inference_call(dense_peak_model(settings), dense_peak_input(settings))
        timed["keras_b1"] = timing.interleave(
            calls, settings.rounds, settings.calls, settings.warmup, log
        )
        _check_variants(with_kind(INFER), calls, rows, log)
        del calls
    if settings.throughput_rounds and with_kind(THROUGHPUT):
        batch = random_clips(settings, settings.throughput_batch, 1)
        log(
            f"Keras batch-{settings.throughput_batch} throughput: {settings.throughput_rounds} rounds"
        )
        calls = {
            c.key: inference_call(models[c.key], batch, c.jit_compile, c.frozen)
            for c in with_kind(THROUGHPUT)
        }
        timed["keras_b8"] = timing.interleave(calls, settings.throughput_rounds, 1, 2, log)
        del calls
    if settings.tflite and with_kind(TFLITE):
        timed.update(time_tflite(with_kind(TFLITE), models, settings, threads, rows, peak, log))
    del models
    release_memory()
    if settings.train_rounds and with_kind(TRAIN):
        timed.update(time_training(with_kind(TRAIN), settings, reference, log))
    if settings.memory:
        from xwisenet_tf.bench.memory import peak_memory

        for c in [c for c in cases if c.does(MEMORY)]:
            log(f"Peak memory (subprocess): {c.key}")
            rows[c.key]["memory"] = peak_memory(c.key, settings)

    fill_peak(peak, timed)
    fill_rows(rows, cases, timed, settings, reference, peak)
    onednn = None
    if settings.onednn:
        onednn = onednn_pass(cases, settings, reference, subject, machine, log)
    result = {
        "schema": 1,
        "machine": {**machine, "load_average_end": load_average(), "tflite_threads": threads},
        "settings": {**settings.as_dict(), "reference": reference, "subject": subject},
        "duration_s": round(time.time() - start, 1),
        "cases": [rows[c.key] for c in cases],
    }
    if peak:
        result["peak"] = peak
    if onednn:
        result["onednn"] = onednn
    result["ratios"] = key_ratios(result, reference, subject)
    result["ratios_of_medians"] = key_ratios(result, reference, subject, "of_medians")
    result["targets"] = check_targets(result, subject)
    return result


def _check_variants(cases, calls, rows, log) -> None:
    """Outputs of every inference variant against its base on the same clip and weights."""
    import numpy as np

    for c in cases:
        if c.variant and c.base in calls:
            got, expected = calls[c.key](), calls[c.base]()
            check = {
                "max_abs_diff": float(np.abs(got - expected).max()),
                "same_top1": bool((got.argmax(-1) == expected.argmax(-1)).all()),
            }
            rows[c.key]["output_check"] = check
            log(
                f"  {c.key} vs {c.base}: max |diff| {check['max_abs_diff']:.2e}, "
                f"same top-1: {check['same_top1']}"
            )


def _complexity(case: Case, settings: Settings) -> dict:
    import keras

    from xwisenet_tf.profiling import count_macs, count_params

    model = build_model(case, settings, inference=False)
    row = {
        "key": case.key,
        "model": case.model,
        "conv_type": case.conv_type or _conv_type(case),
        "variant": case.variant,
        "base": case.base,
        "params": count_params(model),
        "macs": count_macs(model),
    }
    del model
    keras.backend.clear_session()
    return row


def _conv_type(case: Case) -> str:
    from xwisenet_tf.models import resolve_spec

    return resolve_spec(case.model).conv_type


def _peak_op(settings: Settings) -> str:
    c, n = settings.peak_channels, settings.peak_size
    return f"1x1 convolution {c} -> {c} channels on 1x{n}x{n} (TFLite CONV_2D)"
