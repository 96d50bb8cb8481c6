"""Whether the paper's orderings hold in our results, stated either way: each table's ranking
by video accuracy (ours and the paper's), X-Conv against ST-Conv in accuracy and MACs (Table II,
sec. IV-D.1: "reduce FLOPs by 31% with a loss of less than 1% accuracy") and SS > GC > SE
(Table IV, sec. IV-D.3).
"""

from __future__ import annotations

from xwisenet_tf.experiments.figures import CONV_NAMES
from xwisenet_tf.experiments.tables import Experiment


def _ranking(pairs: list[tuple[str, float]]) -> str:
    ordered = sorted(pairs, key=lambda p: -p[1])
    text = f"{ordered[0][0]} {ordered[0][1]:.2f}"
    for (_, previous), (name, value) in zip(ordered, ordered[1:], strict=False):
        text += (" = " if abs(value - previous) < 1e-9 else " > ") + f"{name} {value:.2f}"
    return text


def _short(exp: Experiment) -> str:
    if exp.table == "2":
        return CONV_NAMES[exp.overrides["conv_type"]]
    if exp.table == "4" and exp.model == "xwisenet":
        return (exp.overrides.get("block") or "no block").upper().replace("NO BLOCK", "no block")
    if exp.table == "4":
        return f"3D-ResNet-{exp.model[-2:]}"
    return exp.label


def _xconv_vs_stconv(exps: list[Experiment], found: dict[str, dict]) -> list[str]:
    lines = []
    for model in sorted({e.model for e in exps}):
        by_conv = {e.overrides["conv_type"]: found.get(e.slug) for e in exps if e.model == model}
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
    return lines


def _context_blocks(exps: list[Experiment], found: dict[str, dict]) -> list[str]:
    acc = {
        e.overrides.get("block"): found[e.slug]["video_accuracy"]
        for e in exps
        if e.slug in found and e.model == "xwisenet"
    }
    if not all(b in acc and acc[b] is not None for b in ("ss", "gc", "se")):
        return []
    holds = acc["ss"] > acc["gc"] > acc["se"]
    return [
        f"- paper's SS > GC > SE: {'holds' if holds else 'does not hold'} here "
        f"(SS {100 * acc['ss']:.2f}, GC {100 * acc['gc']:.2f}, SE {100 * acc['se']:.2f})"
    ]


def claim_checks(table: str, exps: list[Experiment], found: dict[str, dict]) -> list[str]:
    """Markdown list items: the paper's orderings for ``table`` and whether ours follow them."""
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
        lines += _xconv_vs_stconv(exps, found)
    if table == "4":
        lines += _context_blocks(exps, found)
    return lines
