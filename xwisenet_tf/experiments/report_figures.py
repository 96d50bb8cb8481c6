"""The paper's figures redrawn beside ours: Fig. 5 (Table II accuracy vs MACs per convolution
type and depth) and Fig. 6 (training loss per convolution type), sec. IV-D.1; Fig. 7 (Table IV
accuracy vs MACs, XwiseNet with each context block), sec. IV-D.3. Which points and curves each
shows; `xwisenet_tf.experiments.figures` draws them.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from xwisenet_tf.experiments import figures
from xwisenet_tf.experiments.results import loss_curve
from xwisenet_tf.experiments.tables import Experiment, experiments

CONV_ORDER = ("traditional", "st", "dw", "xwise")
# (label, colour, marker) of a configuration's bubble.
Style = tuple[str, str, str]


def _panel_title(source: str, found: dict[str, dict]) -> str:
    if source == "paper":
        return "paper (Part-Kinetics, 16x112x112)"
    some = next(iter(found.values()), None)
    if not some:
        return "ours"
    clip = "x".join(str(v) for v in some["input_shape"][:3])
    return f"ours ({some['dataset']}, {clip}, {some['epochs']} epochs)"


def _tradeoff_panels(
    exps: list[Experiment], found: dict[str, dict], style: Callable[[Experiment], Style]
) -> list[tuple[str, list[figures.Point]]]:
    """The paper's panel (every row) and ours (the rows with a video accuracy)."""
    panels = []
    for source in ("paper", "ours"):
        points = []
        for e in exps:
            label, color, marker = style(e)
            done = found.get(e.slug)
            if source == "paper":
                p = e.paper
                macs, accuracy, params = p.paper_macs_g, p.paper_accuracy, p.paper_params_m
            elif done and done.get("video_accuracy") is not None:
                macs, accuracy = done["macs"] / 1e9, 100 * done["video_accuracy"]
                params = done["params"] / 1e6
            else:
                continue
            points.append(figures.Point(label, macs, accuracy, params, color, marker))
        panels.append((_panel_title(source, found), points))
    return panels


def _conv_style(e: Experiment) -> Style:
    conv = e.overrides["conv_type"]
    label = f"{e.model[-2:]} {figures.CONV_NAMES[conv]}"
    return label, figures.CONV_COLORS[conv], figures.DEPTH_MARKERS[e.model]


def _block_style(e: Experiment) -> Style:
    if e.model != "xwisenet":
        return f"3D-ResNet-{e.model[-2:]}", "C0", "o"
    block = e.overrides.get("block") or "none"
    label = f"XwiseNet + {block}" if block != "none" else "Simple-XwiseNet"
    return label, figures.BLOCK_COLORS[block], "o"


def _table2_figures(
    output_dir: str, figures_dir: str, exps: list[Experiment], found: dict[str, dict]
) -> list[str]:
    legend = [(figures.CONV_NAMES[c], figures.CONV_COLORS[c], "o") for c in CONV_ORDER]
    legend += [
        (f"3D-ResNet-{m[-2:]}", "white", marker) for m, marker in figures.DEPTH_MARKERS.items()
    ]
    path = os.path.join(figures_dir, "fig5_table2_tradeoff.png")
    panels = _tradeoff_panels(experiments("2"), found, _conv_style)
    figures.tradeoff_figure(panels, path, "Fig. 5: convolution types (Table II)", legend)
    written = [path]
    loss_panels = []
    for model in ("resnet3d-18", "resnet3d-34", "resnet3d-50"):
        curves = {
            e.overrides["conv_type"]: loss_curve(output_dir, found[e.slug])
            for e in exps
            if e.model == model and e.slug in found
        }
        curves = {k: v for k, v in curves.items() if v["epoch"]}
        if curves:
            loss_panels.append((f"3D-ResNet-{model[-2:]} (ours)", curves))
    if loss_panels:
        path6 = os.path.join(figures_dir, "fig6_table2_loss.png")
        figures.loss_figure(loss_panels, path6, "Fig. 6: training loss per convolution type")
        written.append(path6)
    return written


def report_figures(
    output_dir: str,
    figures_dir: str,
    tables: dict[str, tuple[list[Experiment], dict[str, dict]]],
    log: Callable[[str], None],
) -> dict[str, list[str]]:
    """Writes the figures of the tables with results (Table II: Fig. 5 and 6; Table IV: Fig.
    7) into ``figures_dir``.

    Args:
        output_dir: The runner's ``--output_dir`` (where the runs' histories are).
        figures_dir: Where the PNG files go.
        tables: ``{table: (configurations shown, {slug: done})}``.
        log: Receives a line per file written.

    Returns:
        ``{table: [PNG paths]}``.
    """
    written: dict[str, list[str]] = {}
    if "2" in tables:
        written["2"] = _table2_figures(output_dir, figures_dir, *tables["2"])
    if "4" in tables:
        _, found = tables["4"]
        path = os.path.join(figures_dir, "fig7_table4_tradeoff.png")
        panels = _tradeoff_panels(experiments("4"), found, _block_style)
        figures.tradeoff_figure(panels, path, "Fig. 7: XwiseNet with context blocks (Table IV)")
        written["4"] = [path]
    for paths in written.values():
        for p in paths:
            log(f"Wrote {p}")
    return written
