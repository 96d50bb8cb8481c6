"""Peak resident memory of one case, measured in a fresh subprocess (`VmHWM`).

    python -m xwisenet_tf.bench.memory '{"case": "xwisenet", "settings": {...}}'

The subprocess imports TensorFlow and records its resident set (the baseline), then builds the
inference model and runs it at batch 1 (peak: inference), then builds the training model and
runs two training steps at the training batch size (peak: training). Peaks are reported above
the baseline, so they show what the model itself needs, not the TensorFlow runtime.

The peak is the kernel's high-water mark of the resident set (`VmHWM` in `/proc/self/status`),
not `getrusage`'s `ru_maxrss`: that one survives `fork` + `exec`, so a subprocess started by a
large benchmark process reports the parent's size as its own peak.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys

from xwisenet_tf.bench.cases import parse_case
from xwisenet_tf.bench.measure import (
    Settings,
    build_model,
    inference_call,
    random_clips,
    training_call,
)


def proc_status_mb(field: str) -> float:
    """A size of ``/proc/self/status`` in MiB: ``"VmHWM"`` (peak resident set since `exec`),
    ``"VmRSS"`` (resident set now)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024.0  # kB
    raise RuntimeError(f"no {field} in /proc/self/status")


def probe(case_key: str, settings: Settings) -> dict:
    """Runs in the subprocess: baseline, inference and training peaks in MiB."""
    import keras
    import tensorflow as tf

    tf.constant(0.0) + 1.0  # initialise the runtime before the baseline
    baseline = proc_status_mb("VmHWM")
    case = parse_case(case_key)
    model = build_model(case, settings, inference=True)
    call = inference_call(model, random_clips(settings, 1), case.jit_compile)
    call()
    call()
    infer_peak = proc_status_mb("VmHWM")
    del model, call
    keras.backend.clear_session()
    gc.collect()
    model = build_model(case, settings, inference=False)
    step = training_call(
        model, case, random_clips(settings, settings.train_batch), settings.num_classes
    )
    step()
    step()
    train_peak = proc_status_mb("VmHWM")
    return {
        "baseline_mb": round(baseline, 1),
        "infer_peak_mb": round(infer_peak - baseline, 1),
        "train_peak_mb": round(train_peak - baseline, 1),
    }


def peak_memory(case_key: str, settings: Settings, timeout: float = 1800) -> dict:
    """Launches `probe` in a subprocess; returns its result or {"error": ...}."""
    payload = json.dumps({"case": case_key, "settings": settings.as_dict()})
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "xwisenet_tf.bench.memory", payload],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"error": f"exit code {proc.returncode}: {' | '.join(tail)[:300]}"}
    return json.loads(lines[-1])


def main(argv: list[str]) -> int:
    request = json.loads(argv[0])
    print(json.dumps(probe(request["case"], Settings(**request["settings"]))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
