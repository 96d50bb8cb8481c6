"""Scaling sweep: latency and training clips/s against frames and image size, beside MACs.

Cost should grow like MACs. For every point the sweep reports the cost relative to the base
point (the run's `--frames` x `--size`) divided by the MACs relative to it: 1.0 means the cost
grew exactly like the MACs; above 1 the point is less efficient per MAC than the base
(per-op overheads, cache misses), below 1 more (fixed overheads spread over more work). Points
outside +-15% are flagged. All points are interleaved round-robin, ratios taken within a round.
"""

from __future__ import annotations

import dataclasses
import os

from xwisenet_tf.bench import timing
from xwisenet_tf.bench.cases import parse_case
from xwisenet_tf.bench.measure import (
    Settings,
    build_model,
    inference_call,
    random_clips,
    release_memory,
    training_call,
)

TOLERANCE = 0.15


def sweep_points(settings: Settings, frames: list[int], sizes: list[int]) -> list[tuple[int, int]]:
    """(frames, size) points: frames at the base size, then sizes at the base frames."""
    points = [(f, settings.size) for f in frames] + [(settings.frames, s) for s in sizes]
    base = (settings.frames, settings.size)
    return list(dict.fromkeys([base, *points]))


def run_sweep(keys, settings: Settings, frames, sizes, log=print) -> dict:
    """Measures every case at every point; returns a JSON-ready dict."""
    from xwisenet_tf.bench.machine import describe, load_average
    from xwisenet_tf.profiling import count_macs

    points = sweep_points(settings, frames, sizes)
    cases = [parse_case(k) for k in keys if k.strip()]
    rows, calls = {}, {}
    for case in cases:
        for f, s in points:
            label = f"{case.key} {f}x{s}"
            point = dataclasses.replace(settings, frames=f, size=s)
            model = build_model(case, point, inference=True)
            rows[label] = {
                "key": case.key,
                "frames": f,
                "size": s,
                "macs": count_macs(model),
                "point": label,
            }
            calls[label] = inference_call(model, random_clips(point, 1), case.jit_compile)
    log(f"sweep: batch-1 latency at {len(calls)} points, {settings.rounds} rounds")
    latency = timing.interleave(calls, settings.rounds, settings.calls, settings.warmup, log)
    del calls
    release_memory()
    train, train_ratios = {}, {}
    if settings.train_rounds:
        for case in cases:
            base = f"{case.key} {settings.frames}x{settings.size}"
            others = [p for p in points if p != (settings.frames, settings.size)]
            # the base point with up to `train_group` others: all at once would not fit in memory
            size = max(settings.train_group, 1)
            for i in range(0, max(len(others), 1), size):
                group = [(settings.frames, settings.size), *others[i : i + size]]
                calls = {}
                for f, s in group:
                    point = dataclasses.replace(settings, frames=f, size=s)
                    model = build_model(case, point, inference=False)
                    calls[f"{case.key} {f}x{s}"] = training_call(
                        model, case, random_clips(point, settings.train_batch), settings.num_classes
                    )
                log(
                    f"sweep: training batch {settings.train_batch}, {', '.join(calls)}: "
                    f"{settings.train_rounds} rounds"
                )
                timed = timing.interleave(
                    calls, settings.train_rounds, 1, settings.train_warmup, log
                )
                del calls, model
                release_memory()
                for label in timed:
                    entry = train.setdefault(
                        label, {"first_call_s": timed[label]["first_call_s"], "rounds": []}
                    )
                    entry["rounds"].extend(timed[label]["rounds"])
                    if label != base:
                        train_ratios[label] = timing.compare(timed, label, base)
                train_ratios.setdefault(base, timing.compare(timed, base, base))

    base_point = (settings.frames, settings.size)
    for case in cases:
        base = f"{case.key} {base_point[0]}x{base_point[1]}"
        for label, row in rows.items():
            if row["key"] != case.key:
                continue
            mac_ratio = row["macs"] / rows[base]["macs"]
            row["mac_ratio"] = round(mac_ratio, 3)
            stats = timing.summarize(latency[label])
            row["latency"] = stats
            row["gmacs_per_s"] = round(row["macs"] / stats["median_ms"] / 1e6, 1)
            cost = timing.ratio_summary(timing.round_ratios(latency, label, base))
            row["latency_ratio"] = cost
            row["latency_per_mac"] = round(cost["median"] / mac_ratio, 3)
            if label in train:
                tstats = timing.summarize(train[label], scale=1.0, unit="s")
                tstats["clips_per_s"] = round(settings.train_batch / tstats["median_s"], 2)
                row["train"] = tstats
                tcost = train_ratios[label]
                row["train_time_ratio"] = tcost
                row["train_time_per_mac"] = round(tcost["median"] / mac_ratio, 3)
    return {
        "schema": 1,
        "machine": {**describe(), "load_average_end": load_average()},
        "settings": {**settings.as_dict(), "sweep_frames": frames, "sweep_sizes": sizes},
        "tolerance": TOLERANCE,
        "points": list(rows.values()),
        "findings": findings(list(rows.values())),
    }


def findings(points: list[dict]) -> list[str]:
    """Sentences naming the points whose cost does not grow like their MACs."""
    out = []
    for p in points:
        for key, what in (("latency_per_mac", "latency"), ("train_time_per_mac", "training time")):
            value = p.get(key)
            if value is None or p["mac_ratio"] == 1.0:
                continue
            if abs(value - 1.0) > TOLERANCE:
                direction = "faster" if value < 1 else "slower"
                out.append(
                    f"{p['point']}: {what} grew {value:.2f}x as much as the MACs "
                    f"({direction} per MAC than the base point)"
                )
    return out


def markdown(result: dict) -> str:
    s = result["settings"]
    lines = [
        f"Scaling sweep (batch-1 latency; training at batch {s['train_batch']}); cost/MACs = "
        "(cost / cost at the base point, per-round median) / (MACs / MACs at the base point): "
        f"1.00 = grows like MACs, flagged when off by more than {result['tolerance']:.0%}.",
        "",
        "| case | frames x size | GMACs | MACs x | latency ms | latency x | latency/MACs | "
        "GMAC/s | train clips/s | train time x | train/MACs |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]

    def flag(value, point):
        if value is None:
            return "–"
        off = abs(value - 1.0) > result["tolerance"] and point["mac_ratio"] != 1.0
        return f"{value:.2f}{' ⚠' if off else ''}"

    for p in result["points"]:
        lat = p["latency"]
        train = p.get("train", {})

        lines.append(
            f"| {p['key']} | {p['frames']}x{p['size']} | {p['macs'] / 1e9:.2f} | "
            f"{p['mac_ratio']:.2f} | {lat['median_ms']:.1f} [{lat['p10_ms']:.1f}–{lat['p90_ms']:.1f}] | "
            f"{p['latency_ratio']['median']:.2f} | {flag(p.get('latency_per_mac'), p)} | "
            f"{p['gmacs_per_s']:.0f} | {train.get('clips_per_s', '–')} | "
            f"{p.get('train_time_ratio', {}).get('median', '–')} | "
            f"{flag(p.get('train_time_per_mac'), p)} |"
        )
    if result["findings"]:
        lines += ["", "Where cost does not grow like MACs:", ""]
        lines += [f"- {text}" for text in result["findings"]]
    else:
        lines += ["", "Every point's cost grew like its MACs (within the tolerance)."]
    return "\n".join(lines) + "\n"


def plot(result: dict, path: str) -> str:
    """Latency and training step time against MACs (log-log) with the proportional line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    panels = (
        (axes[0], "latency", "median_ms", "batch-1 latency (ms)"),
        (
            axes[1],
            "train",
            "median_s",
            f"training step time (s, batch {result['settings']['train_batch']})",
        ),
    )
    for ax, kind, field, ylabel in panels:
        for key in dict.fromkeys(p["key"] for p in result["points"]):
            pts = [p for p in result["points"] if p["key"] == key and kind in p]
            if not pts:
                continue
            base = next((p for p in pts if p["mac_ratio"] == 1.0), pts[0])
            xs = np.array([p["macs"] / 1e9 for p in pts])
            ys = np.array([p[kind][field] for p in pts])
            ax.scatter(xs, ys, label=key, zorder=3)
            for p, x, y in zip(pts, xs, ys, strict=True):
                ax.annotate(
                    f"{p['frames']}x{p['size']}",
                    (x, y),
                    textcoords="offset points",
                    xytext=(5, -10),
                    fontsize=8,
                )
            grid = np.geomspace(xs.min() * 0.8, xs.max() * 1.25, 10)
            x0, y0 = base["macs"] / 1e9, base[kind][field]
            ax.plot(
                grid,
                y0 * grid / x0,
                "--",
                color="gray",
                linewidth=0.8,
                label=f"{key}: proportional to MACs",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("GMACs per clip")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Cost vs MACs when scaling frames and image size", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write(result: dict, out_dir: str) -> list[str]:
    from xwisenet_tf.bench.report import write_result

    paths = write_result(result, out_dir, "sweep", "XwiseNet scaling sweep", markdown(result))
    return [*paths, plot(result, os.path.join(out_dir, "sweep.png"))]
