"""What the report shows, read from a runner's ``output_dir``: every finished configuration
(``table<k>/<slug>/done.json``), the one a configuration is identical to in another table, a
run's loss curve (paper Fig. 6), and our params/MACs of a row at the paper's setting.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable

from xwisenet_tf.experiments.configurations import (
    DONE_FILE,
    TRAIN_DIR,
    fingerprint,
    model_overrides,
    read_done,
)
from xwisenet_tf.experiments.tables import TABLES, Experiment


def collect(output_dir: str) -> dict[str, dict[str, dict]]:
    """``{table: {slug: done}}`` of every finished configuration under ``output_dir``."""
    results: dict[str, dict[str, dict]] = {}
    for path in sorted(glob.glob(os.path.join(output_dir, "table*", "*", DONE_FILE))):
        done = read_done(os.path.dirname(path))
        if done and done.get("table") in TABLES:
            results.setdefault(done["table"], {})[done["slug"]] = done
    return results


def equivalent(exp: Experiment, results: dict, output_dir: str) -> dict | None:
    """A finished configuration elsewhere in ``output_dir`` identical to ``exp`` (same model
    and recipe), e.g. Table IV's 3D-ResNet-18 = Table II's Traditional-Conv ResNet-18."""
    from xwisenet_tf.training import TrainConfig
    from xwisenet_tf.training.config_files import read_run_config

    everything = [d for table in results.values() for d in table.values()]
    neighbours = sorted(everything, key=lambda d: d["table"] != exp.table)
    for neighbour in neighbours:
        train_dir = os.path.join(output_dir, neighbour["dir"], TRAIN_DIR)
        if neighbour.get("reused_from") or not os.path.isdir(train_dir):
            continue
        try:
            saved = read_run_config(train_dir)["config"]
            config = TrainConfig.from_dict(
                {
                    **saved,
                    "model": exp.model,
                    "model_overrides": model_overrides(exp, neighbour.get("model_options", {})),
                }
            )
            key = fingerprint(config)
        except (ValueError, OSError):
            continue
        for done in everything:
            if done.get("fingerprint") == key and done.get("epochs") == neighbour.get("epochs"):
                return done
        return None
    return None


def loss_curve(output_dir: str, done: dict) -> dict[str, list[float]]:
    """``{"epoch", "loss", "val_loss"}`` of a finished configuration's ``history.csv`` (empty
    lists when it has none)."""
    from xwisenet_tf.training.callbacks import read_history

    path = os.path.join(output_dir, done["history"]) if done.get("history") else None
    curve: dict[str, list[float]] = {"epoch": [], "loss": [], "val_loss": []}
    if not path:
        return curve
    for row in read_history(path):
        curve["epoch"].append(int(row["epoch"]))
        curve["loss"].append(float(row["loss"]))
        if row.get("val_loss"):
            curve["val_loss"].append(float(row["val_loss"]))
    return curve


def count_at_paper_setting(exps: list[Experiment], log: Callable[[str], None]) -> dict[str, dict]:
    """``{slug: {"params", "macs", ...}}``: our implementation of each row with a paper row,
    counted at the paper's head and clip size (`xwisenet_tf.paper_tables.complexity_rows`)."""
    from xwisenet_tf.paper_tables import complexity_rows

    rows = [e.paper for e in exps if e.paper is not None]
    if not rows:
        return {}
    log(f"Counting params/MACs of {len(rows)} configurations at the paper's setting")
    counted = complexity_rows(rows)
    return {e.slug: c for e, c in zip([e for e in exps if e.paper], counted, strict=True)}
