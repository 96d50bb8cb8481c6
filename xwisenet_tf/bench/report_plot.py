"""The side-by-side run's trade-off plot, as the paper's Fig. 5/7: latency and training
throughput against MACs, bubble area ~ parameters."""

from __future__ import annotations

_MARKERS = {"resnet3d-18": "o", "resnet3d-34": "^", "resnet3d-50": "*"}


def _marker(model: str) -> str:
    if model in _MARKERS:
        return _MARKERS[model]
    return "s" if model.startswith("shufflenet") else "D"


def plot(result: dict, path: str) -> str:
    """Trade-off plot like the paper's Fig. 5/7: GMACs on x, bubble area ~ parameters.

    Left: Keras batch-1 latency (and TFLite fp32 as hollow markers); right: training clips/s.
    Dashed lines are constant GMAC/s through the reference model: a model above the line
    (left panel) gets less work done per second than the reference.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in result["cases"] if not r["variant"]]
    ref = result["settings"]["reference"]
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    panels = (
        (axes[0], "keras_b1", "median_ms", "Keras batch-1 latency (ms)"),
        (
            axes[1],
            "train",
            "clips_per_s",
            f"training clips/s (batch {result['settings']['train_batch']})",
        ),
    )
    for ax, kind, field, ylabel in panels:
        for i, r in enumerate(rows):
            if kind not in r:
                continue
            x, y = r["macs"] / 1e9, r[kind][field]
            size = max(20.0, 25.0 * r["params"] / 1e6)
            color = colors[i % len(colors)]
            ax.scatter(
                x,
                y,
                s=size,
                marker=_marker(r["model"]),
                color=color,
                alpha=0.6,
                edgecolors="black",
                linewidths=0.5,
                label=r["key"],
            )
            if kind == "keras_b1" and "median_ms" in r.get("tflite_fp32", {}):
                ax.scatter(
                    x,
                    r["tflite_fp32"]["median_ms"],
                    s=size,
                    marker=_marker(r["model"]),
                    facecolors="none",
                    edgecolors=color,
                    linewidths=1.0,
                )
            ax.annotate(r["key"], (x, y), textcoords="offset points", xytext=(6, 4), fontsize=8)
        reference = next((r for r in rows if r["key"] == ref and kind in r), None)
        if reference:
            import numpy as np

            xs = np.geomspace(
                min(r["macs"] for r in rows) / 1e9 * 0.7,
                max(r["macs"] for r in rows) / 1e9 * 1.4,
                20,
            )
            x0, y0 = reference["macs"] / 1e9, reference[kind][field]
            line = y0 * xs / x0 if kind == "keras_b1" else y0 * x0 / xs
            ax.plot(xs, line, "--", color="gray", linewidth=0.8, label=f"same GMAC/s as {ref}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("GMACs per clip")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_title("Latency vs MACs (filled: Keras, hollow: TFLite fp32; area ~ params)")
    axes[1].set_title("Training throughput vs MACs (area ~ params)")
    axes[1].legend(fontsize=7, loc="best")
    s = result["settings"]
    fig.suptitle(
        f"{s['frames']}x{s['size']}x{s['size']} clips, {result['machine'].get('cpus')} CPUs "
        f"({result['machine'].get('cpu')})",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
