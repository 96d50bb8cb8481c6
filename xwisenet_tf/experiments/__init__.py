"""Experiment runner: the paper's tables and figures, one command per table.

    python -m xwisenet_tf.experiments run --table {1,2,3a,3b,3c,4,5} --dataset ... \\
        --output_dir DIR [--epochs N --num_frames T --image_size S ...]
    python -m xwisenet_tf.experiments report --output_dir DIR

Public API::

    TABLES, experiments(table) -> [Experiment]               # configurations per table
    RunSettings, run_table(table, settings, ...) -> [result]  # train + evaluate, resumable
    average_cosine_similarity(features)                       # paper eq. (1), Table I
    measure_similarity(model, clips), measure_checkpoint(...)  # Table I of a trained model
    write_report(output_dir) -> path                          # Markdown tables + figures

See docs/experiments.md.
"""

from __future__ import annotations

from xwisenet_tf.experiments.cosine import (
    average_cosine_similarity,
    measure_checkpoint,
    measure_similarity,
)
from xwisenet_tf.experiments.runner import ExperimentError, RunSettings, run_table
from xwisenet_tf.experiments.tables import TABLES, Experiment, experiments

__all__ = [
    "TABLES",
    "Experiment",
    "ExperimentError",
    "RunSettings",
    "average_cosine_similarity",
    "experiments",
    "measure_checkpoint",
    "measure_similarity",
    "run_table",
    "write_report",
]


def __getattr__(name: str):
    if name == "write_report":
        from xwisenet_tf.experiments.report import write_report

        return write_report
    raise AttributeError(f"module 'xwisenet_tf.experiments' has no attribute {name!r}")
