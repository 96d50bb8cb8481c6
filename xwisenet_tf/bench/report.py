"""Benchmark results as JSON and Markdown: the side-by-side run's tables (`markdown`), its
file (`write_markdown`), and any bench's result with its text (`write_result`). The cells are
`report_cells`', the lines around the tables `report_sections`', the plot `report_plot`'s."""

from __future__ import annotations

import os

from xwisenet_tf.bench import report_cells as cell
from xwisenet_tf.bench.cases import VARIANT_TITLES
from xwisenet_tf.bench.report_sections import (
    context_block_lines,
    machine_line,
    onednn_lines,
    peak_line,
    short_delegation,
)


def markdown(result: dict) -> str:
    """The run as Markdown: main table, TFLite table (with XNNPACK's delegation and the share
    of the dense peak), oneDNN on/off, optimisation effects, ratios, targets."""
    s = result["settings"]
    ref = s["reference"]
    rows = result["cases"]
    base_rows = [r for r in rows if not r["variant"]]
    shape = f"{s['frames']}x{s['size']}x{s['size']}"
    lines = [
        f"Input {shape}x3, {s['num_classes']} classes. Machine: {machine_line(result)}. "
        f"Run took {result['duration_s'] / 60:.1f} min.",
        "",
        f"Latencies: median [10th–90th percentile] over {s['rounds']} interleaved rounds x "
        f"{s['calls']} calls after {s['warmup']} warm-up calls; ratios `vs {ref}` are medians of "
        "per-round ratios (min–max over rounds). Inference models have their BatchNorms folded "
        "(`fold_batch_norms`); training uses the fused BatchNorm kernel, Adam, cross-entropy. "
        "Peak memory: resident set above a bare TensorFlow process, in a subprocess per model. "
        "GMAC/s = MACs / median time (training: 3 x MACs per clip, an estimate).",
        "",
        f"| case | conv | params (M) | GMACs | Keras b1 ms | b1 vs {ref} | "
        f"b{s['throughput_batch']} clips/s | train clips/s (b{s['train_batch']}) | "
        f"train vs {ref} | peak MB infer / train | GMAC/s b1 / b{s['throughput_batch']} / train |"
        + (f" share of peak b1 / b{s['throughput_batch']} / train |" if result.get("peak") else ""),
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|" + ("--:|" if result.get("peak") else ""),
    ]
    for r in base_rows:
        g = r.get("gmacs_per_s", {})
        mem = r.get("memory") or {}
        mem_text = (
            "failed"
            if "error" in mem
            else f"{cell.number(mem.get('infer_peak_mb'), 0)} / {cell.number(mem.get('train_peak_mb'), 0)}"
        )
        lines.append(
            f"| {r['key']} | {r['conv_type']} | {r['params'] / 1e6:.2f} | {r['macs'] / 1e9:.2f} | "
            f"{cell.spread(r.get('keras_b1'))} | {cell.ratio(r, 'keras_b1_vs_reference')} | "
            f"{cell.clips(r.get('keras_b8'))} | {cell.clips(r.get('train'))} | "
            f"{cell.ratio(r, 'train_clips_vs_reference')} | {mem_text} | "
            f"{cell.number(g.get('keras_b1'), 0)} / {cell.number(g.get('keras_b8'), 0)} / "
            f"{cell.number(g.get('train_approx'), 0)} |"
            + (
                f" {cell.share(r, 'keras_b1', 'keras_b8', 'train_approx')} |"
                if result.get("peak")
                else ""
            )
        )
    tflite_rows = [r for r in base_rows if "tflite_fp32" in r]
    if tflite_rows:
        lines += [
            "",
            f"TFLite (ai-edge-litert, {result['machine'].get('tflite_threads')} threads, batch 1, "
            "`invoke()` only; int8 = full integer, calibrated on random clips; random weights, "
            "with the context blocks' zero-initialised `transform_expand` kernels drawn from "
            "N(0, 0.05) as training would leave them (`randomize_context_transforms`); XNNPACK: the "
            "delegate's partitions and the ops left on TFLite's reference kernels, fp32 / int8):",
            "",
            f"| case | fp32 ms | int8 ms | int8 / fp32 | fp32 vs {ref} | int8 vs {ref} | "
            "GMAC/s fp32 / int8 | share of peak fp32 / int8 | MB fp32 / int8 | "
            "XNNPACK fp32 / int8 |",
            "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|",
        ]
        for r in tflite_rows:
            g = r.get("gmacs_per_s", {})
            fp32, int8 = r.get("tflite_fp32", {}), r.get("tflite_int8", {})
            lines.append(
                f"| {r['key']} | {cell.tflite(fp32)} | {cell.tflite(int8)} | {cell.ratio(r, 'int8_vs_fp32')} | "
                f"{cell.ratio(r, 'tflite_fp32_vs_reference')} | {cell.ratio(r, 'tflite_int8_vs_reference')} | "
                f"{cell.number(g.get('tflite_fp32'), 0)} / {cell.number(g.get('tflite_int8'), 0)} | "
                f"{cell.share(r, 'tflite_fp32', 'tflite_int8')} | "
                f"{cell.number(fp32.get('size_mb'), 1)} / {cell.number(int8.get('size_mb'), 1)} | "
                f"{short_delegation(fp32.get('xnnpack'))} / {short_delegation(int8.get('xnnpack'))} |"
            )
        lines += context_block_lines(tflite_rows)
        dynamic = [r for r in tflite_rows if "tflite_dynamic" in r]
        if dynamic:
            lines += [
                "",
                "| case | dynamic-range ms | dynamic / fp32 | MB |",
                "|---|--:|--:|--:|",
            ]
            lines += [
                f"| {r['key']} | {cell.tflite(r['tflite_dynamic'])} | {cell.ratio(r, 'dynamic_vs_fp32')} | "
                f"{cell.number(r['tflite_dynamic'].get('size_mb'), 1)} |"
                for r in dynamic
            ]
        failed = [
            f"{r['key']} {q}: {r[q]['error']}"
            for r in tflite_rows
            for q in ("tflite_fp32", "tflite_int8", "tflite_dynamic")
            if "error" in r.get(q, {})
        ]
        lines += [f"- conversion failed: {text}" for text in failed]
        lines += [
            f"- † {r['key']} {q[7:]}: ran on {r[q]['delegate']}"
            for r in tflite_rows
            for q in ("tflite_fp32", "tflite_int8", "tflite_dynamic")
            if r.get(q, {}).get("delegate", "xnnpack") != "xnnpack"
        ]
    if peak_line(result):
        lines += ["", peak_line(result)]
    lines += onednn_lines(result)
    variants = [r for r in rows if r["variant"]]
    if variants:
        lines += [
            "",
            "Optimisation effects (same run; time ratio variant / default, median of per-round "
            "ratios: > 1 means the default configuration is faster):",
            "",
            "| variant | what changes | measurement | variant | default | time variant / default |",
            "|---|---|---|--:|--:|--:|",
        ]
        by_key = {r["key"]: r for r in rows}
        for r in variants:
            base = by_key.get(r["base"], {})
            for kind, label, unit in (
                ("keras_b1", "Keras batch-1 latency (ms)", "ms"),
                ("keras_b8", f"Keras batch-{s['throughput_batch']} time (ms)", "ms"),
                ("train", f"training clips/s (b{s['train_batch']})", None),
            ):
                if kind not in r:
                    continue
                value = r[kind]["clips_per_s"] if unit is None else r[kind]["median_ms"]
                base_value = (base.get(kind) or {}).get(
                    "clips_per_s" if unit is None else "median_ms"
                )
                ratio_key = "train_time_vs_base" if kind == "train" else f"{kind}_vs_base"
                first = r[kind].get("first_call_s")
                lines.append(
                    f"| {r['key']} | {VARIANT_TITLES.get(r['variant'], r['variant'])} | {label}"
                    f"{f' (first call {first:.0f} s)' if first and first > 5 else ''} | "
                    f"{cell.number(value, 2)} | {cell.number(base_value, 2)} | {cell.ratio(r, ratio_key)} |"
                )
    checks = [r for r in rows if "output_check" in r]
    if checks:
        lines += [""] + [
            f"- outputs of {r['key']} vs {r['base']} (same weights and clip): max |diff| "
            f"{r['output_check']['max_abs_diff']:.1e}, same top-1: "
            f"{'yes' if r['output_check']['same_top1'] else 'NO'}"
            for r in checks
        ]
    if result.get("ratios"):
        lines += [
            "",
            "Within-run ratios: median of per-round ratios (ratio of the overall medians):",
            "",
        ]
        of_medians = result.get("ratios_of_medians", {})
        lines += [
            f"- {name}: **{value:.3f}** ({cell.number(of_medians.get(name), 3)})"
            for name, value in result["ratios"].items()
        ]
    if result.get("targets"):
        lines += [
            "",
            "Targets (the speed issue's item 2; issue 15):",
            "",
            "| target | case | measured | needed | met |",
            "|---|---|--:|--:|---|",
        ]
        for t in result["targets"]:
            met = {True: "yes", False: "**no**", None: "not measured"}[t["met"]]
            lines.append(
                f"| {t['meaning']} | {t['case']} | {cell.number(t['value'], 3)} | {t['op']} "
                f"{t['threshold']} | {met} |"
            )
    return "\n".join(lines) + "\n"


def write_markdown(result: dict, path: str, title: str = "XwiseNet speed benchmark") -> str:
    command = result.get("command")
    header = [f"# {title}", ""]
    if command:
        header += ["```", command, "```", ""]
    with open(path, "w") as f:
        f.write("\n".join(header) + markdown(result))
    return path


def write_result(result: dict, out_dir: str, name: str, title: str, text: str) -> list[str]:
    """``<name>.md`` (``# title``, the command that ran as a code block, then ``text``) and
    ``<name>.json`` (``result``) in ``out_dir``.

    Returns:
        ``[json path, md path]``.
    """
    from xwisenet_tf.files import write_json

    md = os.path.join(out_dir, f"{name}.md")
    with open(md, "w") as f:
        f.write(f"# {title}\n\n")
        if result.get("command"):
            f.write(f"```\n{result['command']}\n```\n\n")
        f.write(text)
    return [write_json(os.path.join(out_dir, f"{name}.json"), result), md]
