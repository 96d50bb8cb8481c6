"""Benchmark results as JSON, Markdown tables and the latency-vs-MACs trade-off plot."""

from __future__ import annotations

import os

from xwisenet_tf.bench.cases import VARIANT_TITLES


def _f(value, digits: int = 1, missing: str = "–") -> str:
    if value is None:
        return missing
    return f"{value:.{digits}f}"


def _spread(stats: dict | None, unit: str = "ms", digits: int = 1) -> str:
    if not stats or f"median_{unit}" not in stats:
        return "–"
    return (
        f"{stats[f'median_{unit}']:.{digits}f} "
        f"[{stats[f'p10_{unit}']:.{digits}f}–{stats[f'p90_{unit}']:.{digits}f}]"
    )


def _ratio(row: dict, key: str, digits: int = 2) -> str:
    value = row.get("ratios", {}).get(key)
    if not value:
        return "–"
    return f"{value['median']:.{digits}f} ({value['min']:.{digits}f}–{value['max']:.{digits}f})"


def _clips(stats: dict | None) -> str:
    return _f(stats.get("clips_per_s"), 2) if stats else "–"


def _tflite(stats: dict | None) -> str:
    if not stats:
        return "–"
    if "error" in stats:
        return "failed"
    mark = "" if stats.get("delegate", "xnnpack") == "xnnpack" else " †"
    return _spread(stats) + mark


def _yes_no(value) -> str:
    return {True: "yes", False: "no"}.get(value, "unknown")


def machine_line(result: dict) -> str:
    m = result["machine"]
    return (
        f"{m.get('cpu')} (AVX-512: {_yes_no(m.get('avx512'))}), {m.get('cpus')} CPUs, "
        f"{m.get('memory_gb')} GB; load average "
        f"{m.get('load_average_start')} at start, {m.get('load_average_end')} at end; "
        f"TensorFlow {m.get('tensorflow')} (oneDNN {'on' if m.get('onednn') else 'off'}), "
        f"Keras {m.get('keras')}, ai-edge-litert {m.get('ai_edge_litert')} "
        f"({m.get('tflite_threads')} threads); commit {m.get('git_commit')}"
    )


def short_delegation(report: dict | None) -> str:
    """XNNPACK's delegation in a few words: ``"1 partition"``,
    ``"7 partitions; STRIDED_SLICE x18"`` (the ops on reference kernels), ``"refused"``."""
    if not report:
        return "–"
    if "error" in report:
        return "refused"
    text = f"{report['partitions']} partition{'s' * (report['partitions'] != 1)}"
    if report.get("fallback"):
        text += "; " + ", ".join(f"{op} x{n}" for op, n in report["fallback"].items())
    return text


def _share(row: dict, *kinds: str) -> str:
    shares = row.get("peak_share", {})
    return " / ".join(_f(shares.get(kind), 2) for kind in kinds)


def peak_line(result: dict) -> str | None:
    """The dense peak in each runtime, or None when it was not measured."""
    peak = result.get("peak")
    if not peak:
        return None
    parts = [
        f"{label} {peak[kind]['gmacs_per_s']:.0f} GMAC/s ({peak[kind]['median_ms']:.1f} ms)"
        for kind, label in (
            ("keras_b1", "Keras"),
            ("tflite_fp32", "LiteRT fp32"),
            ("tflite_int8", "LiteRT int8"),
        )
        if "gmacs_per_s" in peak.get(kind, {})
    ]
    failed = [
        f"LiteRT {kind[7:]} failed ({peak[kind]['error']})"
        for kind in ("tflite_fp32", "tflite_int8")
        if "error" in peak.get(kind, {})
    ]
    return (
        f"Dense peak of this machine, same run and rounds: {peak['op']}, "
        f"{peak['macs'] / 1e9:.2f} G MACs: " + ", ".join(parts + failed) + ". "
        "\"share of peak\" = a case's GMAC/s / the peak's in the same runtime (Keras "
        "figures of the Keras peak, TFLite fp32 / int8 of the LiteRT fp32 / int8 peak)."
    )


def context_block_lines(rows: list[dict]) -> list[str]:
    """One line per TFLite model whose context blocks have ops on reference kernels (or that
    XNNPACK refused), or one line saying that no context-block op fell back."""
    lines, checked, partial = [], 0, 0
    for r in rows:
        for q in ("tflite_fp32", "tflite_int8", "tflite_dynamic"):
            entry = r.get(q, {})
            if "context_block_fallback" not in entry:
                continue
            fallback = entry["context_block_fallback"]
            if fallback is None:
                lines.append(f"- {r['key']} {q[7:]}: XNNPACK refused the graph")
                continue
            checked += 1
            report = entry.get("xnnpack", {})
            if sum(report.get("fallback", {}).values()) > len(report.get("fallback_tensors", [])):
                partial += 1  # LiteRT names the first 20 fallback ops only
            if fallback:
                blocks = "; ".join(f"{b}: {', '.join(t)}" for b, t in fallback.items())
                lines.append(f"- context blocks on reference kernels, {r['key']} {q[7:]}: {blocks}")
    if checked and not lines:
        lines.append(
            f"- context blocks: every op delegated to XNNPACK (checked in the {checked} TFLite "
            "models with context blocks"
            + (f"; in {partial} of them only among the first 20 fallback ops)" if partial else ")")
        )
    return lines


def onednn_lines(result: dict) -> list[str]:
    """The oneDNN on/off table (Keras latency and training, one subprocess each)."""
    onednn = result.get("onednn")
    if not onednn:
        return []
    s = result["settings"]
    ref = s["reference"]
    configs = onednn["configs"]
    names = list(configs)
    header = " / ".join(n.replace("onednn-", "") for n in names)
    lines = [
        "",
        f"Keras with oneDNN {header} (one subprocess each, `TF_ENABLE_ONEDNN_OPTS=1` / `=0`, "
        f"same settings; CPU {onednn['cpu']}, AVX-512: {_yes_no(onednn.get('avx512'))}). "
        "Ratios to the reference are taken within a subprocess; on vs off compares two "
        "subprocesses run one after the other:",
        "",
        f"| case | b1 ms {header} | b1 vs {ref} {header} | train clips/s (b{s['train_batch']}) "
        f"{header} | train vs {ref} {header} |",
        "|---|--:|--:|--:|--:|",
    ]

    def cells(key, field, digits):
        return " / ".join(
            _f(configs[n].get("cases", {}).get(key, {}).get(field), digits) for n in names
        )

    for key in onednn["cases"]:
        lines.append(
            f"| {key} | {cells(key, 'keras_b1_ms', 1)} | {cells(key, 'keras_b1_vs_reference', 2)} "
            f"| {cells(key, 'train_clips_per_s', 2)} | "
            f"{cells(key, 'train_clips_vs_reference', 2)} |"
        )
    peaks = " / ".join(_f(configs[n].get("keras_peak_gmacs_per_s"), 0) for n in names)
    lines.append(f"- Keras dense peak ({header}): {peaks} GMAC/s")
    for n in names:
        if configs[n].get("onednn") is not None:
            lines.append(
                f"- {n}: TensorFlow reported oneDNN {'on' if configs[n]['onednn'] else 'off'}"
            )
        lines += [f"- {n} failed: {e}" for e in configs[n].get("errors", [])]
    return lines


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
            else f"{_f(mem.get('infer_peak_mb'), 0)} / {_f(mem.get('train_peak_mb'), 0)}"
        )
        lines.append(
            f"| {r['key']} | {r['conv_type']} | {r['params'] / 1e6:.2f} | {r['macs'] / 1e9:.2f} | "
            f"{_spread(r.get('keras_b1'))} | {_ratio(r, 'keras_b1_vs_reference')} | "
            f"{_clips(r.get('keras_b8'))} | {_clips(r.get('train'))} | "
            f"{_ratio(r, 'train_clips_vs_reference')} | {mem_text} | "
            f"{_f(g.get('keras_b1'), 0)} / {_f(g.get('keras_b8'), 0)} / "
            f"{_f(g.get('train_approx'), 0)} |"
            + (
                f" {_share(r, 'keras_b1', 'keras_b8', 'train_approx')} |"
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
                f"| {r['key']} | {_tflite(fp32)} | {_tflite(int8)} | {_ratio(r, 'int8_vs_fp32')} | "
                f"{_ratio(r, 'tflite_fp32_vs_reference')} | {_ratio(r, 'tflite_int8_vs_reference')} | "
                f"{_f(g.get('tflite_fp32'), 0)} / {_f(g.get('tflite_int8'), 0)} | "
                f"{_share(r, 'tflite_fp32', 'tflite_int8')} | "
                f"{_f(fp32.get('size_mb'), 1)} / {_f(int8.get('size_mb'), 1)} | "
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
                f"| {r['key']} | {_tflite(r['tflite_dynamic'])} | {_ratio(r, 'dynamic_vs_fp32')} | "
                f"{_f(r['tflite_dynamic'].get('size_mb'), 1)} |"
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
                    f"{_f(value, 2)} | {_f(base_value, 2)} | {_ratio(r, ratio_key)} |"
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
            f"- {name}: **{value:.3f}** ({_f(of_medians.get(name), 3)})"
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
                f"| {t['meaning']} | {t['case']} | {_f(t['value'], 3)} | {t['op']} "
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
