"""Interleaved timing: every round times every case once, so load from other processes on a
shared machine hits all cases alike, and ratios are taken within a round.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np


def time_call(fn: Callable[[], object]) -> float:
    """Seconds of one call (the callable must block until its result is ready)."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleave(
    calls: dict[str, Callable[[], object]],
    rounds: int,
    per_round: int = 1,
    warmup: int = 1,
    log: Callable[[str], None] | None = None,
) -> dict[str, dict]:
    """Times every callable `per_round` times per round, round-robin over `rounds` rounds.

    The first call of each callable (tracing, compilation) is timed separately as
    `first_call_s`, then `warmup - 1` more untimed calls. The order of the cases rotates by one
    each round so that no case always runs first.

    Returns:
        key -> {"first_call_s", "rounds": [[seconds, ...] per round]}.
    """
    keys = list(calls)
    out: dict[str, dict] = {}
    for key in keys:
        first = time_call(calls[key])
        for _ in range(max(warmup - 1, 0)):
            calls[key]()
        out[key] = {"first_call_s": first, "rounds": []}
        if log:
            log(f"  warm-up {key}: first call {first:.2f} s")
    for r in range(rounds):
        order = keys[r % len(keys) :] + keys[: r % len(keys)] if keys else []
        for key in order:
            out[key]["rounds"].append([time_call(calls[key]) for _ in range(per_round)])
        if log:
            summary = ", ".join(
                f"{k} {statistics.median(out[k]['rounds'][-1]) * 1e3:.0f}" for k in keys
            )
            log(f"  round {r + 1}/{rounds} (ms): {summary}")
    return out


def summarize(timed: dict, scale: float = 1e3, unit: str = "ms") -> dict:
    """Median and spread of all timed calls of one case (`interleave` output), in `unit`."""
    samples = np.array([t for rnd in timed["rounds"] for t in rnd]) * scale
    return {
        f"median_{unit}": _round(np.median(samples)),
        f"p10_{unit}": _round(np.percentile(samples, 10)),
        f"p90_{unit}": _round(np.percentile(samples, 90)),
        f"min_{unit}": _round(samples.min()),
        f"max_{unit}": _round(samples.max()),
        "samples": int(samples.size),
        "rounds": len(timed["rounds"]),
        "first_call_s": _round(timed["first_call_s"]),
    }


def round_ratios(timed: dict, key: str, reference: str) -> list[float]:
    """Per round, median time of `key` over median time of `reference` (same round)."""
    return [
        statistics.median(a) / statistics.median(b)
        for a, b in zip(timed[key]["rounds"], timed[reference]["rounds"], strict=True)
    ]


def ratio_summary(ratios: list[float], of_medians: float | None = None) -> dict:
    """Median, min and max of per-round ratios (and, if given, the ratio of overall medians)."""
    out = {
        "median": _round(statistics.median(ratios), 4),
        "min": _round(min(ratios), 4),
        "max": _round(max(ratios), 4),
        "rounds": len(ratios),
    }
    if of_medians is not None:
        out["of_medians"] = _round(of_medians, 4)
    return out


def compare(timed: dict, key: str, reference: str) -> dict:
    """`ratio_summary` of `key` / `reference` times: per-round ratios and ratio of medians."""
    medians = [
        statistics.median([t for rnd in timed[k]["rounds"] for t in rnd]) for k in (key, reference)
    ]
    return ratio_summary(round_ratios(timed, key, reference), medians[0] / medians[1])


def _round(value, digits: int = 3) -> float:
    return round(float(value), digits)
