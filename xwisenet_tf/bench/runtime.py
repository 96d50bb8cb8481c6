"""Runtime settings that must be fixed before TensorFlow starts: oneDNN on/off, thread pools.

    python -m xwisenet_tf.bench runtime [--runtime_configs default,onednn-off,inter-op-1]

Each configuration runs in its own subprocess (environment variables and thread pools cannot
change inside one), measuring the subject and the reference (or a given list of cases) side by
side: batch-1 latency and training clips/s, interleaved, and the Keras dense peak
(`Settings.peak`). `python -m xwisenet_tf.bench run` uses it for its oneDNN on/off pass. The configurations alternate, A B C A B C ..., so that drifting
machine load hits all of them; the ratio subject / reference within each subprocess is the
number to compare. Only settings that keep float32 results are candidates: oneDNN's BF16
"fpmath" mode (AMX) would be faster on this CPU but changes the results, so it is not offered.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

from xwisenet_tf.bench.measure import Settings

CONFIGS = {
    "default": {},
    "onednn-on": {"env": {"TF_ENABLE_ONEDNN_OPTS": "1"}},
    "onednn-off": {"env": {"TF_ENABLE_ONEDNN_OPTS": "0"}},
    "inter-op-1": {"inter_op": 1},
    "intra-op-1": {"intra_op": 1},
}


# What each subprocess reports per case (medians over the repeats in the summary).
CASE_FIELDS = (
    "keras_b1_ms",
    "train_clips_per_s",
    "keras_b1_vs_reference",
    "train_clips_vs_reference",
)


def run_runtime(
    configs: list[str],
    settings: Settings,
    subject: str = "xwisenet",
    reference: str = "resnet3d-18",
    repeats: int = 2,
    log=print,
    cases: list[str] | None = None,
) -> dict:
    """Alternates the configurations `repeats` times, one subprocess each.

    Args:
        cases: Case keys to measure in each subprocess (default: subject and reference).
    """
    from xwisenet_tf.bench.machine import describe

    for name in configs:
        if name not in CONFIGS:
            raise ValueError(f"Unknown runtime config {name!r}; configs: {list(CONFIGS)}")
    settings = Settings(
        **{
            **settings.as_dict(),
            "tflite": False,
            "memory": False,
            "throughput_rounds": 0,
            "onednn": False,
        }
    )
    keys = list(cases or [subject, reference])
    runs: dict[str, list[dict]] = {name: [] for name in configs}
    for r in range(repeats):
        for name in configs:
            log(f"runtime config {name} (repeat {r + 1}/{repeats})")
            request = {
                "config": name,
                "settings": settings.as_dict(),
                "subject": subject,
                "reference": reference,
                "cases": keys,
            }
            env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **CONFIGS[name].get("env", {})}
            proc = subprocess.run(
                [sys.executable, "-m", "xwisenet_tf.bench.runtime_child", json.dumps(request)],
                capture_output=True,
                text=True,
                env=env,
            )
            lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
            if proc.returncode or not lines:
                tail = " | ".join(proc.stderr.strip().splitlines()[-3:])[:300]
                runs[name].append({"error": f"exit code {proc.returncode}: {tail}"})
            else:
                runs[name].append(json.loads(lines[-1]))
    summary = {}
    for name, items in runs.items():
        ok = [i for i in items if "error" not in i]

        def med(get, ok=ok):
            values = [v for v in (get(i) for i in ok) if v is not None]
            return round(statistics.median(values), 3) if values else None

        summary[name] = {
            "runs": len(ok),
            "subject_keras_b1_ms": med(lambda i: i.get(subject, {}).get("keras_b1_ms")),
            "reference_keras_b1_ms": med(lambda i: i.get(reference, {}).get("keras_b1_ms")),
            "latency_ratio": med(lambda i: i.get("latency_ratio")),
            "subject_train_clips_per_s": med(lambda i: i.get(subject, {}).get("train_clips_per_s")),
            "reference_train_clips_per_s": med(
                lambda i: i.get(reference, {}).get("train_clips_per_s")
            ),
            "train_ratio": med(lambda i: i.get("train_ratio")),
            "keras_peak_gmacs_per_s": med(lambda i: i.get("keras_peak_gmacs_per_s")),
            "cases": {
                key: {
                    field: med(lambda i, key=key, field=field: i.get(key, {}).get(field))
                    for field in CASE_FIELDS
                }
                for key in keys
            },
            "errors": [i["error"] for i in items if "error" in i],
        }
    return {
        "schema": 1,
        "machine": describe(),
        "settings": {**settings.as_dict(), "subject": subject, "reference": reference},
        "cases": keys,
        "repeats": repeats,
        "configs": {name: CONFIGS[name] for name in configs},
        "runs": runs,
        "summary": summary,
    }


def markdown(result: dict) -> str:
    s = result["settings"]
    subject, reference = s["subject"], s["reference"]
    lines = [
        f"Runtime settings, one subprocess per configuration, alternated {result['repeats']} "
        f"times (medians over the repeats); ratios are {subject} / {reference} within a "
        "subprocess.",
        "",
        f"| configuration | {subject} b1 ms | {reference} b1 ms | latency ratio | "
        f"{subject} train clips/s | {reference} train clips/s | training ratio | "
        "Keras dense peak GMAC/s |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]

    def f(value, digits=2):
        return "–" if value is None else f"{value:.{digits}f}"

    for name, row in result["summary"].items():
        lines.append(
            f"| {name} | {f(row['subject_keras_b1_ms'], 1)} | {f(row['reference_keras_b1_ms'], 1)} "
            f"| {f(row['latency_ratio'], 3)} | {f(row['subject_train_clips_per_s'])} | "
            f"{f(row['reference_train_clips_per_s'])} | {f(row['train_ratio'])} | "
            f"{f(row.get('keras_peak_gmacs_per_s'), 0)} |"
        )
        lines += [f"- {name} failed: {e}" for e in row["errors"]]
    return "\n".join(lines) + "\n"


def write(result: dict, out_dir: str) -> list[str]:
    from xwisenet_tf.bench.report import write_result

    return write_result(result, out_dir, "runtime", "Runtime settings", markdown(result))
