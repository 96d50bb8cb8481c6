"""The report of an evaluation (sec. IV-C): its JSON, its confusion-matrix PNG and the summary
``evaluate.py`` prints (`xwisenet_tf.training.evaluation` computes it)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

PROTOCOL = (
    "paper sec. IV-C: all non-overlapping clips of each video, centre crop at scale 1, "
    "softmax scores averaged per video"
)
_VIEW_NAMES = {
    "flip": "the centre crop and its mirror image",
    "crops": "3 crops at scale 1 (centre and both ends of the long side)",
    "crops_flip": "3 crops at scale 1 (centre and both ends of the long side) and their mirror "
    "images",
}


def protocol_description(views: str = "none") -> str:
    """`PROTOCOL`, or what test-time augmentation changes in it."""
    if views == "none":
        return PROTOCOL
    return (
        f"paper sec. IV-C with test-time augmentation '{views}': all non-overlapping clips of "
        f"each video, each scored as the mean softmax over {_VIEW_NAMES[views]}, scores "
        "averaged per video"
    )


def plot_confusion_matrix(
    matrix, class_names: list[str], path: str | os.PathLike, title: str = ""
) -> str:
    """Writes a confusion matrix (rows = true class) as a PNG; returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    matrix = np.asarray(matrix)
    size = max(4.0, 0.6 * len(class_names) + 2)
    fig, ax = plt.subplots(figsize=(size, size * 0.9))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    threshold = matrix.max() / 2 if matrix.size else 0
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(
            j,
            i,
            str(value),
            ha="center",
            va="center",
            color="white" if value > threshold else "black",
        )
    fig.tight_layout()
    path = os.fspath(path)
    tmp = f"{path[: -len('.png')] if path.endswith('.png') else path}.tmp{os.getpid()}.png"
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)
    return path


def write_report(report: dict[str, Any], output: str | os.PathLike) -> tuple[str, str]:
    """Writes the report JSON and its confusion-matrix PNG (``<output stem>_confusion.png``).

    Returns:
        ``(json_path, png_path)``.
    """
    from xwisenet_tf.files import write_json

    output = os.fspath(output)
    directory = os.path.dirname(os.path.abspath(output))
    os.makedirs(directory, exist_ok=True)
    stem = output[:-5] if output.endswith(".json") else output
    png = f"{stem}_confusion.png"
    report = {**report, "confusion_matrix_png": os.path.abspath(png)}
    title = f"{report.get('split', '')}: video accuracy {report['video_accuracy']:.1%}"
    plot_confusion_matrix(report["confusion_matrix"], report["class_names"], png, title)
    write_json(output, report)
    return output, png


def format_report(report: dict[str, Any]) -> str:
    """A human summary of a report (what ``evaluate.py`` prints)."""
    lines = [
        f"split {report.get('split')!r}: {report['num_videos']} videos, "
        f"{report['num_clips']} clips ({report.get('protocol', PROTOCOL)})",
        f"video accuracy: {report['video_accuracy']:.2%}   (the paper's metric)",
        f"clip accuracy:  {report['clip_accuracy']:.2%}",
    ]
    if "params" in report:
        lines.append(f"params: {report['params']:,}   MACs per clip: {report['macs']:,}")
    lines.append("per class (video accuracy, videos):")
    for name, entry in report["per_class"].items():
        acc = "   n/a" if entry["video_accuracy"] is None else f"{entry['video_accuracy']:6.1%}"
        lines.append(f"  {name:<20} {acc}  ({entry['videos']})")
    lines.append("confusion matrix (videos; rows = true, columns = predicted):")
    width = max(len(str(v)) for row in report["confusion_matrix"] for v in row) + 1
    for name, row in zip(report["class_names"], report["confusion_matrix"], strict=True):
        lines.append(f"  {name:<20}" + "".join(f"{v:>{width}}" for v in row))
    return "\n".join(lines)
