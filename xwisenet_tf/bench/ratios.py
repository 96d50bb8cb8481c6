"""The side-by-side run's timings as table rows: statistics, GMAC/s and shares of the dense
peak per case (`fill_rows`, `fill_peak`), the within-run ratios (`key_ratios`) and the targets
(`check_targets`)."""

from __future__ import annotations

from xwisenet_tf.bench import timing
from xwisenet_tf.bench.cases import TFLITE_LABELS
from xwisenet_tf.bench.measure import PEAK_KEY

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


def _peak_rate(peak: dict, kind: str) -> float | None:
    """GMAC/s of the dense peak in `kind` (unrounded), None if it was not timed there."""
    median = peak.get(kind, {}).get("median_ms")
    return peak["macs"] / median / 1e6 if median else None


def fill_peak(peak: dict, timed: dict) -> None:
    """Median times and GMAC/s of the dense peak in each runtime it was timed in."""
    for kind in ("keras_b1", *TFLITE_LABELS.values()):
        if PEAK_KEY in timed.get(kind, {}):
            stats = timing.summarize(timed[kind].pop(PEAK_KEY))
            stats["gmacs_per_s"] = round(peak["macs"] / stats["median_ms"] / 1e6, 2)
            peak[kind] = {**peak.get(kind, {}), **stats}


def fill_rows(rows, cases, timed, settings, reference, peak) -> None:
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
