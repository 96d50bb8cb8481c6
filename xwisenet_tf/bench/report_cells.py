"""How the benchmark's Markdown writes a value in a table cell: a number, a median with its
10th-90th percentile spread, a ratio with its min-max over rounds ("–" when not measured)."""

from __future__ import annotations


def number(value, digits: int = 1, missing: str = "–") -> str:
    if value is None:
        return missing
    return f"{value:.{digits}f}"


def spread(stats: dict | None, unit: str = "ms", digits: int = 1) -> str:
    if not stats or f"median_{unit}" not in stats:
        return "–"
    return (
        f"{stats[f'median_{unit}']:.{digits}f} "
        f"[{stats[f'p10_{unit}']:.{digits}f}–{stats[f'p90_{unit}']:.{digits}f}]"
    )


def ratio(row: dict, key: str, digits: int = 2) -> str:
    value = row.get("ratios", {}).get(key)
    if not value:
        return "–"
    return f"{value['median']:.{digits}f} ({value['min']:.{digits}f}–{value['max']:.{digits}f})"


def clips(stats: dict | None) -> str:
    return number(stats.get("clips_per_s"), 2) if stats else "–"


def tflite(stats: dict | None) -> str:
    if not stats:
        return "–"
    if "error" in stats:
        return "failed"
    mark = "" if stats.get("delegate", "xnnpack") == "xnnpack" else " †"
    return spread(stats) + mark


def yes_no(value) -> str:
    return {True: "yes", False: "no"}.get(value, "unknown")


def share(row: dict, *kinds: str) -> str:
    shares = row.get("peak_share", {})
    return " / ".join(number(shares.get(kind), 2) for kind in kinds)
