"""One configuration of `xwisenet_tf.bench.runtime`, in its own subprocess.

    python -m xwisenet_tf.bench.runtime_child '<request JSON>'

Sets the thread pools of the configuration (its environment variables were set by the parent),
runs the side-by-side benchmark restricted to Keras latency and training, and prints one JSON
line. A module of its own so that `bench.run`, which starts these subprocesses for its oneDNN
pass, and the benchmark this runs do not import each other.
"""

from __future__ import annotations

import json
import sys

from xwisenet_tf.bench.measure import Settings
from xwisenet_tf.bench.runtime import CONFIGS


def child(request: dict) -> dict:
    """Runs in the subprocess: the side-by-side run restricted to latency and training."""
    import tensorflow as tf

    config = CONFIGS[request["config"]]
    if "inter_op" in config:
        tf.config.threading.set_inter_op_parallelism_threads(config["inter_op"])
    if "intra_op" in config:
        tf.config.threading.set_intra_op_parallelism_threads(config["intra_op"])
    from xwisenet_tf.bench.cases import parse_cases
    from xwisenet_tf.bench.run import run_benchmark

    settings = Settings(**request["settings"])
    keys = request.get("cases") or [request["subject"], request["reference"]]
    result = run_benchmark(
        parse_cases(keys), settings, request["reference"], request["subject"], log=lambda m: None
    )
    rows = {r["key"]: r for r in result["cases"]}
    out = {
        "config": request["config"],
        "onednn": result["machine"]["onednn"],
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
    }
    for key in keys:
        ratios = rows[key].get("ratios", {})
        out[key] = {
            "keras_b1_ms": rows[key].get("keras_b1", {}).get("median_ms"),
            "train_clips_per_s": rows[key].get("train", {}).get("clips_per_s"),
            "keras_b1_vs_reference": ratios.get("keras_b1_vs_reference", {}).get("median"),
            "train_clips_vs_reference": ratios.get("train_clips_vs_reference", {}).get("median"),
        }
    out["keras_peak_gmacs_per_s"] = result.get("peak", {}).get("keras_b1", {}).get("gmacs_per_s")
    ratios = rows.get(request["subject"], {}).get("ratios", {})
    out["latency_ratio"] = ratios.get("keras_b1_vs_reference", {}).get("median")
    out["train_ratio"] = ratios.get("train_clips_vs_reference", {}).get("median")
    return out


if __name__ == "__main__":
    print(json.dumps(child(json.loads(sys.argv[1]))), flush=True)
