"""The report's Markdown: the line naming the runs' settings, a table's accuracy and cost rows
beside the paper's (Tables II-V: accuracy, params, MACs), and Table I's cosine similarities
around the SS blocks (eq. (1), sec. I).
"""

from __future__ import annotations

from xwisenet_tf.experiments.tables import PAPER_TABLE1, Experiment


def _fmt(value, spec: str, scale: float = 1.0, missing: str = "—") -> str:
    if value is None:
        return missing
    return format(value * scale, spec)


def _pct(value) -> str:
    return _fmt(value, ".2f", 100.0)


def run_line(rows: list[dict]) -> str:
    """What our runs of a table were: dataset, clip, epochs, batch, test videos, options."""
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


def accuracy_table(
    table: str,
    exps: list[Experiment],
    found: dict[str, dict],
    complexity: dict[str, dict],
) -> list[str]:
    """One row per configuration: our accuracies and costs (trained, and at the paper's
    setting from ``complexity``) beside the paper's; ``not run`` where ``found`` has none."""
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


def _similarity_row(name: str, values: dict[str, float]) -> str:
    return f"| {name} | {values['input']:.4f} | {values['context']:.4f} | {values['output']:.4f} |"


def table1_section(found: dict[str, dict]) -> list[str]:
    """Table I: per SS block, the average frame cosine similarity (eq. (1)) of its input,
    context and output, ours beside the paper's, and whether the paper's reading holds."""
    lines = []
    for done in found.values():
        cosine = done.get("cosine")
        if not cosine:
            continue
        lines.append(
            f"Model `{done['checkpoint']}`: {cosine['num_clips']} {cosine.get('split', 'test')} "
            f"clips, frame feature = {cosine['reduce']} (H x W x C map of a frame)"
        )
        mean = cosine["mean"]
        lines += ["", "| SS block | input | SS context | output |", "|---|---|---|---|"]
        lines += [_similarity_row(name, values) for name, values in cosine["blocks"].items()]
        lines.append(_similarity_row("**mean over blocks (ours)**", mean))
        lines.append(_similarity_row("**paper**", PAPER_TABLE1))
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
