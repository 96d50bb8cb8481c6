"""TFLite in the side-by-side run: every case converted (fp32, int8, dynamic-range) with
XNNPACK's delegation recorded, then the interpreters timed interleaved, the dense peak's among
them (`xwisenet_tf.bench.run`)."""

from __future__ import annotations

from xwisenet_tf.bench import timing
from xwisenet_tf.bench.cases import TFLITE_LABELS
from xwisenet_tf.bench.measure import (
    PEAK_KEY,
    context_block_fallback,
    context_block_names,
    convert_tflite,
    delegation,
    dense_peak_input,
    dense_peak_model,
    random_clips,
    release_memory,
    tflite_call,
)
from xwisenet_tf.export.delegation import describe_delegation


def time_tflite(cases, models, settings, threads, rows, peak, log) -> dict:
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
