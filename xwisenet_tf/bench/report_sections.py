"""The lines of the benchmark's Markdown around its tables: the machine, the dense peak,
XNNPACK's delegation (and the context blocks' ops it left), the oneDNN on/off table."""

from __future__ import annotations

from xwisenet_tf.bench import report_cells as cell


def machine_line(result: dict) -> str:
    m = result["machine"]
    return (
        f"{m.get('cpu')} (AVX-512: {cell.yes_no(m.get('avx512'))}), {m.get('cpus')} CPUs, "
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
        f"same settings; CPU {onednn['cpu']}, AVX-512: {cell.yes_no(onednn.get('avx512'))}). "
        "Ratios to the reference are taken within a subprocess; on vs off compares two "
        "subprocesses run one after the other:",
        "",
        f"| case | b1 ms {header} | b1 vs {ref} {header} | train clips/s (b{s['train_batch']}) "
        f"{header} | train vs {ref} {header} |",
        "|---|--:|--:|--:|--:|",
    ]

    def cells(key, field, digits):
        return " / ".join(
            cell.number(configs[n].get("cases", {}).get(key, {}).get(field), digits) for n in names
        )

    for key in onednn["cases"]:
        lines.append(
            f"| {key} | {cells(key, 'keras_b1_ms', 1)} | {cells(key, 'keras_b1_vs_reference', 2)} "
            f"| {cells(key, 'train_clips_per_s', 2)} | "
            f"{cells(key, 'train_clips_vs_reference', 2)} |"
        )
    peaks = " / ".join(cell.number(configs[n].get("keras_peak_gmacs_per_s"), 0) for n in names)
    lines.append(f"- Keras dense peak ({header}): {peaks} GMAC/s")
    for n in names:
        if configs[n].get("onednn") is not None:
            lines.append(
                f"- {n}: TensorFlow reported oneDNN {'on' if configs[n]['onednn'] else 'off'}"
            )
        lines += [f"- {n} failed: {e}" for e in configs[n].get("errors", [])]
    return lines
