"""The paper's figures from our results: accuracy vs MACs bubbles (Fig. 5 and 7) and training
loss per convolution type (Fig. 6). PNG files, drawn with matplotlib's Agg backend."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass

from xwisenet_tf.files import write_bytes

CONV_COLORS = {"traditional": "C0", "st": "C1", "dw": "C2", "xwise": "C3"}
CONV_NAMES = {
    "traditional": "Traditional-Conv",
    "st": "ST-Conv",
    "dw": "DW-Conv",
    "xwise": "X-Conv",
}
DEPTH_MARKERS = {"resnet3d-18": "o", "resnet3d-34": "^", "resnet3d-50": "*"}
BLOCK_COLORS = {"none": "C7", "cbam": "C4", "se": "C2", "gc": "C1", "ss": "C3"}
MAX_BUBBLE = 1800.0  # points^2 of the largest model of a figure


@dataclass(frozen=True)
class Point:
    """One model in a trade-off figure."""

    label: str
    macs_g: float
    accuracy: float  # percent
    params_m: float
    color: str
    marker: str = "o"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    return plt


def _save(fig, path: str) -> str:
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=90)
    return write_bytes(path, png.getvalue())


def _label_offsets(points: Sequence[Point], near: float = 0.04, step: float = 9.0) -> list[float]:
    """Vertical label offsets (points) so that labels of nearly coincident bubbles stack."""
    if not points:
        return []
    x_span = max(max(p.macs_g for p in points), 1e-9)
    y_span = max(max(p.accuracy for p in points) - min(p.accuracy for p in points), 1e-9)
    offsets: list[float] = []
    for i, p in enumerate(points):
        close = sum(
            abs(p.macs_g - q.macs_g) / x_span < near
            and abs(p.accuracy - q.accuracy) / y_span < near
            for q in points[:i]
        )
        offsets.append(-step * close)
    return offsets


def tradeoff_figure(
    panels: Sequence[tuple[str, Sequence[Point]]],
    path: str,
    title: str,
    legend: Sequence[tuple[str, str, str]] = (),
) -> str:
    """Accuracy vs MACs with bubble area proportional to parameters (paper Fig. 5 / Fig. 7).

    Args:
        panels: ``(panel title, points)`` side by side; one bubble scale for all panels.
        path: The PNG to write.
        title: Figure title.
        legend: ``(label, color, marker)`` entries of the legend.

    Returns:
        ``path``.
    """
    plt = _pyplot()
    largest = max((p.params_m for _, pts in panels for p in pts), default=1.0) or 1.0
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.4), squeeze=False)
    for ax, (panel_title, points) in zip(axes[0], panels, strict=True):
        offsets = iter(_label_offsets(points))
        for p in points:
            ax.scatter(
                p.macs_g,
                p.accuracy,
                s=max(12.0, MAX_BUBBLE * p.params_m / largest),
                c=p.color,
                marker=p.marker,
                alpha=0.55,
                edgecolors="black",
                linewidths=0.6,
            )
            ax.annotate(
                p.label,
                (p.macs_g, p.accuracy),
                fontsize=7,
                xytext=(4, 4 + next(offsets)),
                textcoords="offset points",
            )
        ax.set_title(panel_title, fontsize=10)
        ax.set_xlabel("MACs per clip (G)")
        ax.set_ylabel("video accuracy (%)")
        ax.grid(alpha=0.3)
        if points:
            accs = [p.accuracy for p in points]
            pad = max(2.0, 0.15 * (max(accs) - min(accs)))
            ax.set_ylim(min(accs) - pad, max(accs) + pad)
            macs = [p.macs_g for p in points]
            ax.set_xlim(0, max(macs) * 1.2)
        else:
            ax.text(0.5, 0.5, "no results", ha="center", va="center", transform=ax.transAxes)
    if legend:
        handles = [
            plt.Line2D(
                [],
                [],
                marker=m,
                linestyle="",
                markersize=8,
                markerfacecolor=c,
                markeredgecolor="black" if c == "white" else c,
                label=label,
            )
            for label, c, m in legend
        ]
        fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 6), fontsize=8)
    fig.suptitle(f"{title}\n(bubble area proportional to parameters)", fontsize=10)
    fig.tight_layout(rect=(0, 0.08 if legend else 0, 1, 1))
    result = _save(fig, path)
    plt.close(fig)
    return result


def loss_figure(
    panels: Sequence[tuple[str, dict[str, dict[str, list[float]]]]],
    path: str,
    title: str,
) -> str:
    """Training loss per epoch, one curve per convolution type (paper Fig. 6).

    Args:
        panels: ``(panel title, {conv_type: {"epoch": [...], "loss": [...],
            "val_loss": [...]}})``; the validation loss is drawn dashed when present.
        path: The PNG to write.
        title: Figure title.
    """
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.0), squeeze=False)
    for ax, (panel_title, curves) in zip(axes[0], panels, strict=True):
        for conv_type, curve in curves.items():
            color = CONV_COLORS.get(conv_type, None)
            name = CONV_NAMES.get(conv_type, conv_type)
            ax.plot(curve["epoch"], curve["loss"], color=color, label=f"{name} train")
            if curve.get("val_loss"):
                ax.plot(
                    curve["epoch"][: len(curve["val_loss"])],
                    curve["val_loss"],
                    color=color,
                    linestyle="--",
                    alpha=0.6,
                    label=f"{name} validation",
                )
        ax.set_title(panel_title, fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel("cross-entropy loss")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    result = _save(fig, path)
    plt.close(fig)
    return result
