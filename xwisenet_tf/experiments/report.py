"""`write_report`: our results beside the paper's, as Markdown tables and PNG figures.

Reads every ``table<k>/<slug>/done.json`` under ``output_dir`` and writes ``report.md`` and
``figures/`` (Fig. 5: Table II accuracy vs MACs; Fig. 6: training loss per convolution type;
Fig. 7: Table IV accuracy vs MACs). Our params and MACs are those of the *trained* model (the
dataset's classes, the run's clip size); "at paper setting" columns count our implementation of
the row at the paper's head and 16x112x112 (16x224x224 for Table V) clip, to compare with the
paper's own figures (docs/reproduction.md explains the differences).
"""

from __future__ import annotations

import csv
import glob
import os
from collections.abc import Callable

from xwisenet_tf.experiments import figures
from xwisenet_tf.experiments.runner import (
    DONE_FILE,
    TRAIN_DIR,
    fingerprint,
    model_overrides,
    read_done,
)
from xwisenet_tf.experiments.tables import PAPER_TABLE1, TABLES, TITLES, Experiment, experiments

REPORT_FILE = "report.md"
FIGURES_DIR = "figures"
CONV_ORDER = ("traditional", "st", "dw", "xwise")


def collect(output_dir: str) -> dict[str, dict[str, dict]]:
    """``{table: {slug: done}}`` of every finished configuration under ``output_dir``."""
    results: dict[str, dict[str, dict]] = {}
    for path in sorted(glob.glob(os.path.join(output_dir, "table*", "*", DONE_FILE))):
        done = read_done(os.path.dirname(path))
        if done and done.get("table") in TABLES:
            results.setdefault(done["table"], {})[done["slug"]] = done
    return results


def _equivalent(exp: Experiment, results: dict, output_dir: str) -> dict | None:
    """A finished configuration elsewhere in ``output_dir`` identical to ``exp`` (same model
    and recipe), e.g. Table IV's 3D-ResNet-18 = Table II's Traditional-Conv ResNet-18."""
    from xwisenet_tf.training import TrainConfig
    from xwisenet_tf.training.config import read_run_config

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


def _paper_complexity(exps: list[Experiment], log) -> dict[str, dict]:
    from xwisenet_tf.paper_tables import complexity_rows

    rows = [e.paper for e in exps if e.paper is not None]
    if not rows:
        return {}
    log(f"Counting params/MACs of {len(rows)} configurations at the paper's setting")
    counted = complexity_rows(rows)
    return {e.slug: c for e, c in zip([e for e in exps if e.paper], counted, strict=True)}


def _fmt(value, spec: str, scale: float = 1.0, missing: str = "—") -> str:
    if value is None:
        return missing
    return format(value * scale, spec)


def _pct(value) -> str:
    return _fmt(value, ".2f", 100.0)


def _run_line(rows: list[dict]) -> str:
    settings = sorted(
        {
            (
                d.get("dataset"),
                "x".join(str(v) for v in d.get("input_shape", [])[:3]),
                d.get("epochs"),
                d.get("batch_size"),
                d.get("num_test_videos"),
                str(d.get("dataset_options") or ""),
                str(d.get("model_options") or ""),
            )
            for d in rows
        },
        key=str,
    )
    lines = []
    for dataset, clip, epochs, batch, videos, options, model_options in settings:
        text = f"ours: dataset `{dataset}`"
        if options:
            text += f" (options {options})"
        text += f", {clip} clips, {epochs} epochs, batch {batch}"
        if videos:
            text += f", {videos} test videos (one video = {100 / videos:.1f} points)"
        if model_options:
            text += f", model options {model_options}"
        lines.append(text)
    return "; ".join(lines)


def _accuracy_table(
    table: str,
    exps: list[Experiment],
    found: dict[str, dict],
    complexity: dict[str, dict],
) -> list[str]:
    head = (
        "| configuration | video acc. % (ours) | clip acc. % (ours) | video acc. % (paper) "
        "| params M (ours, trained) | MACs G (ours, trained) | params M (ours @ paper setting) "
        "| MACs G (ours @ paper setting) | params M (paper) | MACs G (paper) | epochs | s/epoch |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for exp in exps:
        done = found.get(exp.slug)
        paper = exp.paper
        comp = complexity.get(exp.slug)
        label = exp.label
        if done and done.get("reused_from") and done["dir"].split("/")[0] != f"table{table}":
            label += f" (= {done['reused_from']})"
        lines.append(
            "| "
            + " | ".join(
                [
                    label,
                    _pct(done.get("video_accuracy")) if done else "not run",
                    _pct(done.get("clip_accuracy")) if done else "",
                    _fmt(paper.paper_accuracy if paper else None, ".2f"),
                    _fmt(done["params"], ".2f", 1e-6) if done else "",
                    _fmt(done["macs"], ".3f", 1e-9) if done else "",
                    _fmt(comp["params"], ".2f", 1e-6) if comp else "",
                    _fmt(comp["macs"], ".2f", 1e-9) if comp else "",
                    _fmt(paper.paper_params_m if paper else None, ".2f"),
                    _fmt(paper.paper_macs_g if paper else None, ".2f"),
                    str(done["epochs"]) if done else "",
                    _fmt(done.get("seconds_per_epoch"), ".0f") if done else "",
                ]
            )
            + " |"
        )
    return lines


def _ranking(pairs: list[tuple[str, float]]) -> str:
    ordered = sorted(pairs, key=lambda p: -p[1])
    text = f"{ordered[0][0]} {ordered[0][1]:.2f}"
    for (_, previous), (name, value) in zip(ordered, ordered[1:], strict=False):
        text += (" = " if abs(value - previous) < 1e-9 else " > ") + f"{name} {value:.2f}"
    return text


def _short(exp: Experiment) -> str:
    if exp.table == "2":
        return figures.CONV_NAMES[exp.overrides["conv_type"]]
    if exp.table == "4" and exp.model == "xwisenet":
        return (exp.overrides.get("block") or "no block").upper().replace("NO BLOCK", "no block")
    if exp.table == "4":
        return f"3D-ResNet-{exp.model[-2:]}"
    return exp.label


def _checks(table: str, exps: list[Experiment], found: dict[str, dict]) -> list[str]:
    """Whether the paper's orderings hold in our results, stated either way."""
    lines = []
    groups: dict[str, list[Experiment]] = {}
    for exp in exps:
        key = exp.model if table == "2" else table
        groups.setdefault(key, []).append(exp)
    for key, members in groups.items():
        ours = [
            (_short(e), 100 * found[e.slug]["video_accuracy"])
            for e in members
            if e.slug in found and found[e.slug].get("video_accuracy") is not None
        ]
        paper = [
            (_short(e), e.paper.paper_accuracy) for e in members if e.paper and e.slug in found
        ]
        if len(ours) < 2:
            continue
        prefix = f"{key}: " if table == "2" else ""
        lines.append(f"- {prefix}ranking by video accuracy, paper: {_ranking(paper)}")
        lines.append(f"- {prefix}ranking by video accuracy, ours: {_ranking(ours)}")
    if table == "2":
        for model in sorted({e.model for e in exps}):
            by_conv = {
                e.overrides["conv_type"]: found.get(e.slug) for e in exps if e.model == model
            }
            x, st = by_conv.get("xwise"), by_conv.get("st")
            if not (x and st) or x.get("video_accuracy") is None:
                continue
            paper = {e.overrides["conv_type"]: e.paper for e in exps if e.model == model}
            delta = 100 * (x["video_accuracy"] - st["video_accuracy"])
            paper_delta = paper["xwise"].paper_accuracy - paper["st"].paper_accuracy
            ratio = x["macs"] / st["macs"]
            paper_ratio = paper["xwise"].paper_macs_g / paper["st"].paper_macs_g
            lines.append(
                f"- {model}: X-Conv minus ST-Conv video accuracy: ours {delta:+.2f} points, "
                f"paper {paper_delta:+.2f}; X-Conv MACs / ST-Conv MACs: ours {ratio:.2f}, "
                f"paper {paper_ratio:.2f}"
            )
    if table == "4":
        acc = {
            e.overrides.get("block"): found[e.slug]["video_accuracy"]
            for e in exps
            if e.slug in found and e.model == "xwisenet"
        }
        if all(b in acc and acc[b] is not None for b in ("ss", "gc", "se")):
            holds = acc["ss"] > acc["gc"] > acc["se"]
            lines.append(
                f"- paper's SS > GC > SE: {'holds' if holds else 'does not hold'} here "
                f"(SS {100 * acc['ss']:.2f}, GC {100 * acc['gc']:.2f}, SE {100 * acc['se']:.2f})"
            )
    return lines


def _table1(found: dict[str, dict]) -> list[str]:
    lines = []
    for done in found.values():
        cosine = done.get("cosine")
        if not cosine:
            continue
        lines.append(
            f"Model `{done['checkpoint']}`: {cosine['num_clips']} {cosine.get('split', 'test')} "
            f"clips, frame feature = {cosine['reduce']} (H x W x C map of a frame)"
        )
        lines.append("")
        lines.append("| SS block | input | SS context | output |")
        lines.append("|---|---|---|---|")
        for name, values in cosine["blocks"].items():
            lines.append(
                f"| {name} | {values['input']:.4f} | {values['context']:.4f} | "
                f"{values['output']:.4f} |"
            )
        mean = cosine["mean"]
        lines.append(
            f"| **mean over blocks (ours)** | {mean['input']:.4f} | {mean['context']:.4f} | "
            f"{mean['output']:.4f} |"
        )
        lines.append(
            f"| **paper** | {PAPER_TABLE1['input']:.4f} | {PAPER_TABLE1['context']:.4f} | "
            f"{PAPER_TABLE1['output']:.4f} |"
        )
        lower = sum(v["output"] < v["input"] for v in cosine["blocks"].values())
        lines.append("")
        lines.append(
            f"Output less similar across frames than input (the paper's reading): {lower} of "
            f"{len(cosine['blocks'])} blocks; mean over blocks: "
            f"{'yes' if mean['output'] < mean['input'] else 'no'}. The paper's Table I text is "
            "garbled in extraction (`0.2826).2499 2102`), read as 0.2826 / 0.2499 / 0.2102; it "
            "does not say which block, clips or frame feature it used."
        )
    return lines


def _history(output_dir: str, done: dict) -> dict[str, list[float]]:
    path = os.path.join(output_dir, done["history"]) if done.get("history") else None
    curve: dict[str, list[float]] = {"epoch": [], "loss": [], "val_loss": []}
    if not path or not os.path.isfile(path):
        return curve
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            curve["epoch"].append(int(row["epoch"]))
            curve["loss"].append(float(row["loss"]))
            if row.get("val_loss"):
                curve["val_loss"].append(float(row["val_loss"]))
    return curve


def _figures(
    output_dir: str, figures_dir: str, tables: dict[str, tuple], log
) -> dict[str, list[str]]:
    written: dict[str, list[str]] = {}
    if "2" in tables:
        exps, found = tables["2"]
        panels = []
        for source in ("paper", "ours"):
            points = []
            for e in experiments("2"):
                done = found.get(e.slug)
                conv = e.overrides["conv_type"]
                label = f"{e.model[-2:]} {figures.CONV_NAMES[conv]}"
                color, marker = figures.CONV_COLORS[conv], figures.DEPTH_MARKERS[e.model]
                if source == "paper":
                    p = e.paper
                    points.append(
                        figures.Point(
                            label,
                            p.paper_macs_g,
                            p.paper_accuracy,
                            p.paper_params_m,
                            color,
                            marker,
                        )
                    )
                elif source == "ours" and done and done.get("video_accuracy") is not None:
                    points.append(
                        figures.Point(
                            label,
                            done["macs"] / 1e9,
                            100 * done["video_accuracy"],
                            done["params"] / 1e6,
                            color,
                            marker,
                        )
                    )
            panels.append((_panel_title(source, found), points))
        legend = [(figures.CONV_NAMES[c], figures.CONV_COLORS[c], "o") for c in CONV_ORDER]
        legend += [
            (f"3D-ResNet-{m[-2:]}", "white", marker) for m, marker in figures.DEPTH_MARKERS.items()
        ]
        path = os.path.join(figures_dir, "fig5_table2_tradeoff.png")
        figures.tradeoff_figure(panels, path, "Fig. 5: convolution types (Table II)", legend)
        written["2"] = [path]
        loss_panels = []
        for model in ("resnet3d-18", "resnet3d-34", "resnet3d-50"):
            curves = {
                e.overrides["conv_type"]: _history(output_dir, found[e.slug])
                for e in exps
                if e.model == model and e.slug in found
            }
            curves = {k: v for k, v in curves.items() if v["epoch"]}
            if curves:
                loss_panels.append((f"3D-ResNet-{model[-2:]} (ours)", curves))
        if loss_panels:
            path6 = os.path.join(figures_dir, "fig6_table2_loss.png")
            figures.loss_figure(loss_panels, path6, "Fig. 6: training loss per convolution type")
            written["2"].append(path6)
    if "4" in tables:
        exps, found = tables["4"]
        panels = []
        for source in ("paper", "ours"):
            points = []
            for e in experiments("4"):
                done = found.get(e.slug)
                if not done and source == "ours":
                    continue
                if e.model == "xwisenet":
                    block = e.overrides.get("block") or "none"
                    label = f"XwiseNet + {block}" if block != "none" else "Simple-XwiseNet"
                    color = figures.BLOCK_COLORS[block]
                else:
                    label, color = f"3D-ResNet-{e.model[-2:]}", "C0"
                if source == "paper":
                    p = e.paper
                    points.append(
                        figures.Point(
                            label, p.paper_macs_g, p.paper_accuracy, p.paper_params_m, color
                        )
                    )
                elif done and done.get("video_accuracy") is not None:
                    points.append(
                        figures.Point(
                            label,
                            done["macs"] / 1e9,
                            100 * done["video_accuracy"],
                            done["params"] / 1e6,
                            color,
                        )
                    )
            panels.append((_panel_title(source, found), points))
        path = os.path.join(figures_dir, "fig7_table4_tradeoff.png")
        figures.tradeoff_figure(panels, path, "Fig. 7: XwiseNet with context blocks (Table IV)")
        written["4"] = [path]
    for paths in written.values():
        for p in paths:
            log(f"Wrote {p}")
    return written


def _panel_title(source: str, found: dict[str, dict]) -> str:
    if source == "paper":
        return "paper (Part-Kinetics, 16x112x112)"
    some = next(iter(found.values()), None)
    if not some:
        return "ours"
    clip = "x".join(str(v) for v in some["input_shape"][:3])
    return f"ours ({some['dataset']}, {clip}, {some['epochs']} epochs)"


def write_report(
    output_dir: str,
    report_dir: str | None = None,
    paper_complexity: bool = True,
    log: Callable[[str], None] = print,
) -> str:
    """Writes ``report.md`` and ``figures/*.png`` for every table with results.

    Args:
        output_dir: The ``--output_dir`` of ``run``.
        report_dir: Where to write (default ``output_dir``); figure links are relative to it.
        paper_complexity: Also count our params/MACs of each run row at the paper's setting.
        log: Receives progress lines.

    Returns:
        The path of ``report.md``.
    """
    from xwisenet_tf.experiments.runner import ExperimentError

    output_dir = os.path.abspath(output_dir)
    report_dir = os.path.abspath(report_dir or output_dir)
    results = collect(output_dir)
    if not results:
        raise ExperimentError(
            f"{output_dir}: no finished configuration (table*/*/{DONE_FILE}); run "
            "`python -m xwisenet_tf.experiments run` first"
        )
    tables: dict[str, tuple[list[Experiment], dict[str, dict]]] = {}
    for table in TABLES:
        exps = experiments(table)
        found = dict(results.get(table, {}))
        for exp in exps:
            if exp.slug not in found and table == "4" and results.get(table):
                done = _equivalent(exp, results, output_dir)
                if done:
                    found[exp.slug] = {**done, "reused_from": done["dir"]}
        if found:
            shown = [e for e in exps if e.default or e.slug in found]
            tables[table] = (shown, found)
    figures_dir = os.path.join(report_dir, FIGURES_DIR)
    written = _figures(output_dir, figures_dir, tables, log)

    lines: list[str] = [
        "# Our results beside the paper's",
        "",
        "Generated by `python -m xwisenet_tf.experiments report`. Accuracies are video "
        "accuracies on the test split with the paper's recognition protocol (sec. IV-C: "
        "non-overlapping clips, centre crop, scores averaged per video); clip accuracy is shown "
        "beside them. *Ours, trained*: params and MACs of the model we trained (the dataset's "
        "classes, the run's clip size); *ours @ paper setting*: our implementation of the row at "
        "the paper's head and clip size; MACs are multiply-accumulates (the paper's FLOPs). "
        "s/epoch: mean wall-clock seconds per epoch (training + validation) on the machine of "
        "the run.",
        "",
    ]
    for table, (exps, found) in tables.items():
        lines += [f"## {TITLES[table]}", ""]
        rows = list(found.values())
        lines += [_run_line(rows) + ".", ""]
        if table == "1":
            lines += _table1(found)
            lines.append("")
            continue
        complexity = (
            _paper_complexity([e for e in exps if e.slug in found], log) if paper_complexity else {}
        )
        lines += _accuracy_table(table, exps, found, complexity)
        checks = _checks(table, exps, found)
        if checks:
            lines += ["", *checks]
        for path in written.get(table, []):
            rel = os.path.relpath(path, report_dir)
            lines += ["", f"![{os.path.basename(path)}]({rel})"]
        lines.append("")
    path = os.path.join(report_dir, REPORT_FILE)
    os.makedirs(report_dir, exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(lines).rstrip() + "\n")
    os.replace(tmp, path)
    return path
