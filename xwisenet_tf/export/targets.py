"""The targets a quantised TFLite export must meet, and their check (issue 15).

An int8 export with 78.1% top-1 agreement that ran slower than float (44.9 vs 27.3 ms) used to
be written without a word. Every quantised TFLite export (``fp16``, ``dynamic``, ``int8``; clip
or stream model) is now checked against:

- top-1 agreement with the float32 Keras model on the verification clips >= 95%;
- video accuracy (with ``--evaluate_accuracy``) within 2 points of the Keras model's;
- int8 only: latency <= the float32 TFLite model's, measured beside it in the same export
  (the median of the per-round ratios of interleaved rounds; ratio <= 1).

`check_targets` turns a report entry into one ``{"name", "value", "target", "comparison",
"met", "detail"}`` per checked target (``export_report.json`` records them under
``"targets"``); `missed_messages` words the missed ones for the console. TensorFlow-free.
"""

from __future__ import annotations

MIN_TOP1_AGREEMENT = 0.95
MAX_VIDEO_ACCURACY_DIFFERENCE = 0.02  # 2 points, either way
MAX_INT8_LATENCY_RATIO = 1.0  # int8 / float32 TFLite
QUANTIZED = ("fp16", "dynamic", "int8")
# Figures are rounded before the comparison, so that 0.90 - 0.88 counts as 2 points.
_DIGITS = 6


def _target(name: str, value: float, target: float, comparison: str, detail: str) -> dict:
    value = round(float(value), _DIGITS)
    met = value >= target if comparison == ">=" else value <= target
    return {
        "name": name,
        "value": value,
        "target": target,
        "comparison": comparison,
        "met": bool(met),
        "detail": detail,
    }


def check_targets(entry: dict) -> list[dict]:
    """The targets of one report entry, met or not.

    Args:
        entry: An ``export_report.json`` entry: ``quantization``, ``verification``
            (``top1_agreement``), optionally ``accuracy`` (``video_accuracy``,
            ``keras_video_accuracy``) and, for int8, ``latency["vs_float32"]``
            (``int8_median_ms``, ``float32_median_ms``, ``ratio``, ``rounds``,
            ``calls_per_round``).

    Returns:
        One dict per checked target, in the order above; ``[]`` for a float export (and for
        a figure the entry lacks, that target is skipped).
    """
    quantization = entry.get("quantization")
    if quantization not in QUANTIZED:
        return []
    targets = []
    verification = entry.get("verification") or {}
    if "top1_agreement" in verification:
        agreement = verification["top1_agreement"]
        targets.append(
            _target(
                "top1_agreement",
                agreement,
                MIN_TOP1_AGREEMENT,
                ">=",
                f"top-1 agreement with the float32 Keras model {agreement:.1%} on "
                f"{verification.get('num_clips', '?')} clips",
            )
        )
    accuracy = entry.get("accuracy")
    if accuracy:
        exported, keras = accuracy["video_accuracy"], accuracy["keras_video_accuracy"]
        targets.append(
            _target(
                "video_accuracy_difference",
                abs(exported - keras),
                MAX_VIDEO_ACCURACY_DIFFERENCE,
                "<=",
                f"video accuracy {exported:.1%} vs the float32 Keras model's {keras:.1%}",
            )
        )
    versus = (entry.get("latency") or {}).get("vs_float32")
    if quantization == "int8" and versus:
        targets.append(
            _target(
                "int8_latency_vs_float32",
                versus["ratio"],
                MAX_INT8_LATENCY_RATIO,
                "<=",
                f"int8 latency {versus['int8_median_ms']:.1f} ms vs the float32 TFLite "
                f"model's {versus['float32_median_ms']:.1f} ms (median ratio of "
                f"{versus['rounds']} interleaved rounds of {versus['calls_per_round']} calls)",
            )
        )
    return targets


def missed_messages(file_name: str, targets: list[dict]) -> list[str]:
    """One line per missed target: the file, the figure and the target."""
    return [
        f"{file_name} misses a target (issue 15): {t['detail']}: {t['name']} = {t['value']:g}, "
        f"target {t['comparison']} {t['target']:g}"
        for t in targets
        if not t["met"]
    ]
