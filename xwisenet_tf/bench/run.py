"""The side-by-side benchmark: every case measured in one process, interleaved.

`run_benchmark(cases, settings)` returns one JSON-ready dict; `xwisenet_tf.bench.report`
turns it into the Markdown table and the trade-off plot.
"""

from __future__ import annotations

import gc
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
    Settings,
    build_model,
    convert_tflite,
    inference_call,
    inference_models,
    random_clips,
    tflite_call,
    training_call,
)

# The targets (item 2), checked for the subject against the reference in the same run.
TARGETS = (
    # name, case ratio key, comparison, threshold, what it means
    ("latency", "keras_b1_vs_reference", "<=", 0.2, "Keras batch-1 latency / resnet3d-18's"),
    ("int8", "int8_vs_fp32", "<=", 0.6, "TFLite int8 latency / TFLite fp32 latency"),
    ("training", "train_clips_vs_reference", ">=", 4.0, "training clips/s / resnet3d-18's"),
)


def run_benchmark(
    cases: list[Case],
    settings: Settings,
    reference: str = REFERENCE,
    subject: str = SUBJECT,
    log: Callable[[str], None] = print,
) -> dict:
    """Measures every case; returns {"machine", "settings", "cases", "ratios", "targets"}."""
    import keras

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
    if models:
        clip = random_clips(settings, 1)
        log(f"Keras batch-1 latency: {settings.rounds} rounds x {settings.calls} calls")
        calls = {
            c.key: inference_call(models[c.key], clip, c.jit_compile) for c in with_kind(INFER)
        }
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
            c.key: inference_call(models[c.key], batch, c.jit_compile)
            for c in with_kind(THROUGHPUT)
        }
        timed["keras_b8"] = timing.interleave(calls, settings.throughput_rounds, 1, 2, log)
        del calls
    if settings.tflite and with_kind(TFLITE):
        timed.update(_tflite(with_kind(TFLITE), models, settings, threads, rows, log))
    del models
    keras.backend.clear_session()
    gc.collect()
    if settings.train_rounds and with_kind(TRAIN):
        log(f"Training batch {settings.train_batch}: {settings.train_rounds} rounds")
        clips = random_clips(settings, settings.train_batch, 2)
        calls = {}
        for c in with_kind(TRAIN):
            model = build_model(c, settings, inference=False)
            calls[c.key] = training_call(model, c, clips, settings.num_classes, settings.seed)
        timed["train"] = timing.interleave(
            calls, settings.train_rounds, 1, settings.train_warmup, log
        )
        del calls
        keras.backend.clear_session()
        gc.collect()
    if settings.memory:
        from xwisenet_tf.bench.memory import peak_memory

        for c in [c for c in cases if c.does(MEMORY)]:
            log(f"Peak memory (subprocess): {c.key}")
            rows[c.key]["memory"] = peak_memory(c.key, settings)

    _fill_rows(rows, cases, timed, settings, reference)
    result = {
        "schema": 1,
        "machine": {**machine, "load_average_end": load_average(), "tflite_threads": threads},
        "settings": {**settings.as_dict(), "reference": reference, "subject": subject},
        "duration_s": round(time.time() - start, 1),
        "cases": [rows[c.key] for c in cases],
    }
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


def _tflite(cases, models, settings, threads, rows, log) -> dict:
    clip = random_clips(settings, 1)
    calibration = random_clips(settings, settings.calibration_clips, 3)
    calls = {}
    quantizations = ["none", "int8"] if settings.int8 else ["none"]
    for c in cases:
        for q in quantizations:
            log(f"TFLite conversion: {c.key} ({q})")
            converted = convert_tflite(models[c.key], q, calibration if q == "int8" else None)
            label = "tflite_fp32" if q == "none" else "tflite_int8"
            content = converted.pop("content", None)
            rows[c.key][label] = converted
            if content is not None:
                try:
                    calls[(c.key, label)], rows[c.key][label]["delegate"] = tflite_call(
                        content, clip, threads
                    )
                except Exception as e:  # noqa: BLE001 - e.g. XNNPACK refuses a graph
                    rows[c.key][label]["error"] = f"{type(e).__name__}: {str(e)[:300]}"
    if not calls:
        return {}
    log(f"TFLite latency ({threads} threads): {settings.rounds} rounds x {settings.calls} calls")
    named = {f"{k} {label}": fn for (k, label), fn in calls.items()}
    timed = timing.interleave(named, settings.rounds, settings.calls, settings.warmup, log)
    out: dict[str, dict] = {"tflite_fp32": {}, "tflite_int8": {}}
    for k, label in calls:
        out[label][k] = timed[f"{k} {label}"]
    return out


def _fill_rows(rows, cases, timed, settings, reference) -> None:
    batch_of = {"keras_b1": 1, "keras_b8": settings.throughput_batch}
    for c in cases:
        row = rows[c.key]
        macs = row["macs"]
        gmacs = {}
        ratios = {}
        for kind in ("keras_b1", "keras_b8", "tflite_fp32", "tflite_int8"):
            if c.key not in timed.get(kind, {}):
                continue
            stats = timing.summarize(timed[kind][c.key])
            batch = batch_of.get(kind, 1)
            stats["clips_per_s"] = round(batch * 1e3 / stats["median_ms"], 2)
            row[kind] = {**row.get(kind, {}), **stats}
            gmacs[kind] = round(batch * macs / stats["median_ms"] / 1e6, 1)
            if reference in timed[kind] and c.key != reference:
                ratios[f"{kind}_vs_reference"] = timing.compare(timed[kind], c.key, reference)
            if c.variant and c.base in timed[kind]:
                ratios[f"{kind}_vs_base"] = timing.compare(timed[kind], c.key, c.base)
        if c.key in timed.get("train", {}):
            stats = timing.summarize(timed["train"][c.key], scale=1.0, unit="s")
            stats["clips_per_s"] = round(settings.train_batch / stats["median_s"], 2)
            row["train"] = stats
            # A training step costs about 3 forward passes (forward, input and weight gradients).
            gmacs["train_approx"] = round(3 * macs * stats["clips_per_s"] / 1e9, 1)
            if reference in timed["train"] and c.key != reference:
                # clips/s ratio = reference step time / this step time
                ratios["train_clips_vs_reference"] = timing.compare(
                    timed["train"], reference, c.key
                )
            if c.variant and c.base in timed["train"]:
                ratios["train_time_vs_base"] = timing.compare(timed["train"], c.key, c.base)
        if c.key in timed.get("tflite_int8", {}) and c.key in timed.get("tflite_fp32", {}):
            pair = {"int8": timed["tflite_int8"][c.key], "fp32": timed["tflite_fp32"][c.key]}
            ratios["int8_vs_fp32"] = timing.compare(pair, "int8", "fp32")
        row["gmacs_per_s"] = gmacs
        row["ratios"] = ratios


def key_ratios(result: dict, reference: str, subject: str, statistic: str = "median") -> dict:
    """The headline within-run ratios, each the median of per-round ratios.

    The subject (and the rest of its family) against the reference, int8 against fp32, and
    every variant against its base (time ratios: > 1 means the default configuration is faster).
    `statistic`: "median" (of per-round ratios) or "of_medians" (ratio of overall medians).
    """
    b8 = result["settings"]["throughput_batch"]
    names = {
        "keras_b1_vs_reference": f"{{}} / {reference} Keras batch-1 latency",
        "keras_b8_vs_reference": f"{{}} / {reference} Keras batch-{b8} time",
        "train_clips_vs_reference": f"{{}} / {reference} training clips/s",
        "tflite_fp32_vs_reference": f"{{}} / {reference} TFLite fp32 latency",
        "tflite_int8_vs_reference": f"{{}} / {reference} TFLite int8 latency",
        "int8_vs_fp32": "{} TFLite int8 / fp32 latency",
    }
    variant_names = {
        "keras_b1_vs_base": "{} / {} Keras batch-1 latency",
        "keras_b8_vs_base": f"{{}} / {{}} Keras batch-{b8} time",
        "train_time_vs_base": "{} / {} training step time",
    }
    out = {}
    family = subject.split("-")[0]
    for row in result["cases"]:
        ratios = row.get("ratios", {})
        if row["variant"]:
            for key, name in variant_names.items():
                if statistic in ratios.get(key, {}):
                    out[name.format(row["key"], row["base"])] = ratios[key][statistic]
        elif row["model"].startswith(family):
            for key, name in names.items():
                if statistic in ratios.get(key, {}):
                    out[name.format(row["key"])] = ratios[key][statistic]
    return out


def check_targets(result: dict, subject: str) -> list[dict]:
    """The issue's item-2 targets for every XwiseNet-family case (the subject first)."""
    out = []
    family = [r for r in result["cases"] if r["model"].startswith(subject) and not r["variant"]]
    family.sort(key=lambda r: r["key"] != subject)
    for name, ratio_key, op, threshold, meaning in TARGETS:
        for row in family:
            value = row.get("ratios", {}).get(ratio_key, {}).get("median")
            met = (
                None
                if value is None
                else (value <= threshold if op == "<=" else value >= threshold)
            )
            out.append(
                {
                    "target": name,
                    "case": row["key"],
                    "meaning": meaning,
                    "value": value,
                    "op": op,
                    "threshold": threshold,
                    "met": met,
                }
            )
    return out
