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
    QUICK_CASES,
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
    context_block_fallback,
    context_block_names,
    convert_tflite,
    delegation,
    dense_peak_input,
    dense_peak_macs,
    dense_peak_model,
    inference_call,
    inference_models,
    random_clips,
    tflite_call,
    training_call,
)
from xwisenet_tf.export.delegation import describe_delegation

TFLITE_LABELS = {"none": "tflite_fp32", "int8": "tflite_int8", "dynamic": "tflite_dynamic"}

# The targets checked in the same run: the speed issue's item 2 (the XwiseNet family against the
# reference) and issue 15's int8 ones (the subject's int8 at most half its fp32, and int8 no
# slower than fp32 for every case).
TARGETS = (
    # name, case ratio key, comparison, threshold, what it means, cases
    (
        "latency",
        "keras_b1_vs_reference",
        "<=",
        0.2,
        "Keras batch-1 latency / {reference}'s",
        "family",
    ),
    ("int8", "int8_vs_fp32", "<=", 0.6, "TFLite int8 latency / TFLite fp32 latency", "family"),
    (
        "training",
        "train_clips_vs_reference",
        ">=",
        4.0,
        "training clips/s / {reference}'s",
        "family",
    ),
    ("int8 half", "int8_vs_fp32", "<=", 0.5, "TFLite int8 latency / fp32 (issue 15)", "subject"),
    ("int8 no slower", "int8_vs_fp32", "<=", 1.0, "TFLite int8 latency / fp32 (issue 15)", "all"),
)


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
        timed.update(_tflite(with_kind(TFLITE), models, settings, threads, rows, peak, log))
    del models
    release_memory()
    if settings.train_rounds and with_kind(TRAIN):
        timed.update(_train(with_kind(TRAIN), settings, reference, log))
    if settings.memory:
        from xwisenet_tf.bench.memory import peak_memory

        for c in [c for c in cases if c.does(MEMORY)]:
            log(f"Peak memory (subprocess): {c.key}")
            rows[c.key]["memory"] = peak_memory(c.key, settings)

    _fill_peak(peak, timed)
    _fill_rows(rows, cases, timed, settings, reference, peak)
    onednn = None
    if settings.onednn:
        onednn = _onednn(cases, settings, reference, subject, machine, log)
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


def release_memory() -> None:
    """Frees Keras state and returns freed heap memory to the system (glibc `malloc_trim`):
    TensorFlow's freed activation buffers otherwise stay in the process, and a run that keeps
    every training model alive at once grew past 17 GB."""
    import ctypes

    import keras

    keras.backend.clear_session()
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def train_groups(cases: list[Case], reference: str, size: int) -> list[list[Case]]:
    """Cases trained together: the reference with up to `size` base cases and their variants.

    Interleaving needs the models of a group alive together; all of them at once would not fit
    in memory. The reference is in every group, so every ratio to it is taken within a round.
    """
    ref = [c for c in cases if c.key == reference]
    bases = list(dict.fromkeys(c.base for c in cases if c.key != reference))
    groups = []
    for i in range(0, len(bases), max(size, 1)):
        chunk = bases[i : i + max(size, 1)]
        groups.append(ref + [c for c in cases if c.base in chunk and c.key != reference])
    return groups or [ref]


def _train(cases: list[Case], settings: Settings, reference: str, log) -> dict:
    """Training steps, interleaved within groups; pooled times and within-group ratios."""
    clips = random_clips(settings, settings.train_batch, 2)
    pooled: dict[str, dict] = {}
    ratios: dict[str, dict] = {}
    groups = train_groups(cases, reference, settings.train_group)
    for i, group in enumerate(groups, 1):
        log(
            f"Training batch {settings.train_batch}, group {i}/{len(groups)} "
            f"({', '.join(c.key for c in group)}): {settings.train_rounds} rounds"
        )
        calls = {}
        for c in group:
            model = build_model(c, settings, inference=False)
            calls[c.key] = training_call(model, c, clips, settings.num_classes, settings.seed)
        timed = timing.interleave(calls, settings.train_rounds, 1, settings.train_warmup, log)
        del calls, model
        release_memory()
        for c in group:
            entry = pooled.setdefault(
                c.key, {"first_call_s": timed[c.key]["first_call_s"], "rounds": []}
            )
            entry["rounds"].extend(timed[c.key]["rounds"])
            if c.key != reference and reference in timed:
                # clips/s ratio = reference step time / this step time
                ratios.setdefault(c.key, {})["train_clips_vs_reference"] = timing.compare(
                    timed, reference, c.key
                )
            if c.variant and c.base in timed:
                ratios.setdefault(c.key, {})["train_time_vs_base"] = timing.compare(
                    timed, c.key, c.base
                )
    return {"train": pooled, "train_ratios": ratios}


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


def _tflite(cases, models, settings, threads, rows, peak, log) -> dict:
    """Converts every case (fp32, int8) and records XNNPACK's partitions and fallback ops, frees
    the Keras models, then times the interpreters (and the dense peak, `peak`) interleaved."""
    clip = random_clips(settings, 1)
    calibration = random_clips(settings, settings.calibration_clips, 3)
    contents = {}
    quantizations = ["none"] + ["int8"] * settings.int8 + ["dynamic"] * settings.tflite_dynamic
    for c in cases:
        blocks = context_block_names(models[c.key])
        for q in quantizations:
            log(f"TFLite conversion: {c.key} ({q})")
            converted = convert_tflite(models[c.key], q, calibration if q == "int8" else None)
            label = TFLITE_LABELS[q]
            content = converted.pop("content", None)
            rows[c.key][label] = converted
            if content is not None:
                contents[(c.key, label)] = content
                report = delegation(content, threads)
                converted["xnnpack"] = report
                if blocks:  # None: XNNPACK refused the graph, nothing to attribute
                    converted["context_block_fallback"] = (
                        None if "error" in report else context_block_fallback(report, blocks)
                    )
                log(f"  XNNPACK: {describe_delegation(report)}")
    models.clear()
    release_memory()
    inputs = {}
    if peak:
        peak_model = dense_peak_model(settings)
        peak_calibration = dense_peak_input(settings, 2, 3)
        for q in quantizations[: 1 + settings.int8]:
            label = TFLITE_LABELS[q]
            log(f"TFLite conversion: {PEAK_KEY} ({q})")
            # int8 input and output: the peak times the convolution, not (de)quantisation.
            converted = convert_tflite(
                peak_model, q, peak_calibration if q == "int8" else None, int8_io=q == "int8"
            )
            content = converted.pop("content", None)
            peak[label] = converted
            if content is not None:
                contents[(PEAK_KEY, label)] = content
                converted["xnnpack"] = delegation(content, threads)
        inputs[PEAK_KEY] = dense_peak_input(settings)
        del peak_model
    calls = {}
    for (key, label), content in contents.items():
        entry = peak[label] if key == PEAK_KEY else rows[key][label]
        try:
            calls[(key, label)], entry["delegate"] = tflite_call(
                content, inputs.get(key, clip), threads
            )
        except Exception as e:  # noqa: BLE001 - e.g. the interpreter cannot allocate
            entry["error"] = f"{type(e).__name__}: {str(e)[:300]}"
    del contents
    if not calls:
        return {}
    log(f"TFLite latency ({threads} threads): {settings.rounds} rounds x {settings.calls} calls")
    named = {f"{k} {label}": fn for (k, label), fn in calls.items()}
    timed = timing.interleave(named, settings.rounds, settings.calls, settings.warmup, log)
    out: dict[str, dict] = {label: {} for label in TFLITE_LABELS.values()}
    for k, label in calls:
        out[label][k] = timed[f"{k} {label}"]
    return out


def _peak_op(settings: Settings) -> str:
    c, n = settings.peak_channels, settings.peak_size
    return f"1x1 convolution {c} -> {c} channels on 1x{n}x{n} (TFLite CONV_2D)"


def _peak_rate(peak: dict, kind: str) -> float | None:
    """GMAC/s of the dense peak in `kind` (unrounded), None if it was not timed there."""
    median = peak.get(kind, {}).get("median_ms")
    return peak["macs"] / median / 1e6 if median else None


def _fill_peak(peak: dict, timed: dict) -> None:
    """Median times and GMAC/s of the dense peak in each runtime it was timed in."""
    for kind in ("keras_b1", *TFLITE_LABELS.values()):
        if PEAK_KEY in timed.get(kind, {}):
            stats = timing.summarize(timed[kind].pop(PEAK_KEY))
            stats["gmacs_per_s"] = round(peak["macs"] / stats["median_ms"] / 1e6, 2)
            peak[kind] = {**peak.get(kind, {}), **stats}


# Which peak each GMAC/s figure is a share of: Keras figures of the Keras peak (batch 1; the
# training figure is an estimate, 3 x MACs per clip), TFLite ones of the same TFLite model kind.
PEAK_OF = {
    "keras_b1": "keras_b1",
    "keras_b8": "keras_b1",
    "train_approx": "keras_b1",
    "tflite_fp32": "tflite_fp32",
    "tflite_int8": "tflite_int8",
    "tflite_dynamic": "tflite_fp32",
}


def onednn_cases(cases: list[Case], reference: str, subject: str, keys: str = "") -> list[str]:
    """The cases of the oneDNN on/off pass: `keys` if given, else the run's base cases that are
    on the quick list (`QUICK_CASES`), and the reference."""
    if keys:
        return [k.strip() for k in keys.split(",") if k.strip()]
    run = [c.key for c in cases if not c.variant and c.does(INFER)]
    chosen = [k for k in run if k in QUICK_CASES or k in (reference, subject)]
    return chosen


def _onednn(cases, settings, reference, subject, machine, log) -> dict | None:
    """Keras latency and training with oneDNN on and off, one subprocess each
    (`xwisenet_tf.bench.runtime`, ``TF_ENABLE_ONEDNN_OPTS=1`` / ``=0``)."""
    from xwisenet_tf.bench.runtime import run_runtime

    keys = onednn_cases(cases, reference, subject, settings.onednn_cases)
    if not keys:
        return None
    log(f"oneDNN on and off, one subprocess each: {', '.join(keys)}")
    result = run_runtime(
        ["onednn-on", "onednn-off"], settings, subject, reference, repeats=1, log=log, cases=keys
    )
    return {
        "cpu": machine["cpu"],
        "avx512": machine.get("avx512"),
        "cases": keys,
        "configs": {
            name: {
                "env": result["configs"][name]["env"],
                "onednn": next((r.get("onednn") for r in runs if "error" not in r), None),
                **result["summary"][name],
            }
            for name, runs in result["runs"].items()
        },
    }


def _fill_rows(rows, cases, timed, settings, reference, peak) -> None:
    batch_of = {"keras_b1": 1, "keras_b8": settings.throughput_batch}
    for c in cases:
        row = rows[c.key]
        macs = row["macs"]
        gmacs = {}
        ratios = {}
        for kind in ("keras_b1", "keras_b8", *TFLITE_LABELS.values()):
            if c.key not in timed.get(kind, {}):
                continue
            stats = timing.summarize(timed[kind][c.key])
            batch = batch_of.get(kind, 1)
            stats["clips_per_s"] = round(batch * 1e3 / stats["median_ms"], 2)
            row[kind] = {**row.get(kind, {}), **stats}
            gmacs[kind] = batch * macs / stats["median_ms"] / 1e6
            if reference in timed[kind] and c.key != reference:
                ratios[f"{kind}_vs_reference"] = timing.compare(timed[kind], c.key, reference)
            if c.variant and c.base in timed[kind]:
                ratios[f"{kind}_vs_base"] = timing.compare(timed[kind], c.key, c.base)
            same_variant = f"{reference}+{c.variant}"
            if c.variant and c.key != same_variant and same_variant in timed[kind]:
                # both sides with the same optimisation, e.g. xwisenet+frozen / resnet3d-18+frozen
                ratios[f"{kind}_vs_reference_variant"] = timing.compare(
                    timed[kind], c.key, same_variant
                )
        if c.key in timed.get("train", {}):
            stats = timing.summarize(timed["train"][c.key], scale=1.0, unit="s")
            stats["clips_per_s"] = round(settings.train_batch / stats["median_s"], 2)
            row["train"] = stats
            # A training step costs about 3 forward passes (forward, input and weight gradients).
            gmacs["train_approx"] = 3 * macs * settings.train_batch / stats["median_s"] / 1e9
            ratios.update(timed.get("train_ratios", {}).get(c.key, {}))
        for q in ("int8", "dynamic"):
            label = TFLITE_LABELS[q]
            if c.key in timed.get(label, {}) and c.key in timed.get("tflite_fp32", {}):
                pair = {q: timed[label][c.key], "fp32": timed["tflite_fp32"][c.key]}
                ratios[f"{q}_vs_fp32"] = timing.compare(pair, q, "fp32")
        row["gmacs_per_s"] = {kind: round(value, 1) for kind, value in gmacs.items()}
        if peak:
            row["peak_share"] = {
                kind: round(value / _peak_rate(peak, PEAK_OF[kind]), 3)
                for kind, value in gmacs.items()
                if _peak_rate(peak, PEAK_OF[kind])
            }
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
        "dynamic_vs_fp32": "{} TFLite dynamic-range / fp32 latency",
    }
    variant_names = {
        "keras_b1_vs_reference_variant": f"{{}} / {reference}+{{variant}} Keras batch-1 latency",
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
                    label = name.format(row["key"], row["base"], variant=row["variant"])
                    out[label] = ratios[key][statistic]
        elif row["model"].startswith(family):
            for key, name in names.items():
                if statistic in ratios.get(key, {}):
                    out[name.format(row["key"])] = ratios[key][statistic]
    return out


def check_targets(result: dict, subject: str) -> list[dict]:
    """The `TARGETS` for their cases: the XwiseNet family (the subject first), the subject, or
    every case of the run but the reference and the variants."""
    out = []
    reference = result["settings"]["reference"]
    bases = [r for r in result["cases"] if not r["variant"]]
    family = [r for r in bases if r["model"].startswith(subject)]
    family.sort(key=lambda r: r["key"] != subject)
    scopes = {
        "family": family,
        "subject": [r for r in bases if r["key"] == subject],
        "all": family + [r for r in bases if r not in family and r["key"] != reference],
    }
    for name, ratio_key, op, threshold, meaning, scope in TARGETS:
        for row in scopes[scope]:
            value = row.get("ratios", {}).get(ratio_key, {}).get("median")
            if value is None and scope == "all":
                continue  # a case without that measurement (e.g. --skip_int8)
            met = (
                None
                if value is None
                else (value <= threshold if op == "<=" else value >= threshold)
            )
            out.append(
                {
                    "target": name,
                    "case": row["key"],
                    "meaning": meaning.format(reference=reference),
                    "value": value,
                    "op": op,
                    "threshold": threshold,
                    "met": met,
                }
            )
    return out
