"""Per-frame cost of streaming: the step model of a causal XwiseNet beside its clip model.

    python -m xwisenet_tf.bench.stream [--model xwisenet-stream] [--clip 16,112,112]
        [--rounds 12] [--threads 2] [--output stream.json]

Converts (random weights: speed does not depend on them) the clip model to float TFLite and
the step model (`xwisenet_tf.streaming`) to float and int8 TFLite, then times one LiteRT
``invoke`` of each, interleaved round by round (`timing.interleave`), batch 1. Prints the
per-frame latency of each step model beside the clip model's latency divided by its frames,
the ratios of per-round medians, and the MACs of a step against the clip's per frame.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from xwisenet_tf.bench import machine, timing

# Published per-frame cost of the nearest peer, for the printout (issue 16's table: TF Model
# Garden MoViNet-A0 stream, one 112 px frame, LiteRT float32, 2 threads on a 2-core AMD EPYC).
MOVINET_A0_STREAM = {"gmacs_per_frame": 0.023, "ms_per_frame": 1.8, "cpu": "AMD EPYC, 2 threads"}


def measure(model_name: str, clip: tuple[int, int, int], rounds: int, threads: int) -> dict:
    import keras

    from xwisenet_tf.export.stream import convert_step_model
    from xwisenet_tf.export.tflite import convert_to_tflite
    from xwisenet_tf.layers.complexity import count_macs
    from xwisenet_tf.models import get_model
    from xwisenet_tf.streaming import build_step_model
    from xwisenet_tf.tflite_runner import TFLiteRunner

    frames, height, width = clip
    keras.utils.set_random_seed(0)
    clip_model = get_model(model_name, 6, (frames, height, width, 3))
    step = build_step_model(clip_model)
    rng = np.random.default_rng(0)
    clips = rng.standard_normal((2, frames, height, width, 3)).astype("float32")
    runners = {
        "clip float32": TFLiteRunner(convert_to_tflite(clip_model), num_threads=threads),
        "step float32": TFLiteRunner(convert_step_model(step), num_threads=threads),
        "step int8": TFLiteRunner(
            convert_step_model(step, "int8", clips), num_threads=threads, fallback=True
        ),
    }
    runners["clip float32"].set_input(clips[0])
    calls = {"clip float32": runners["clip float32"].invoke}
    inputs = {"frame": clips[0, :1], **step.initial_state(1)}
    for key in ("step float32", "step int8"):
        signature = runners[key].interpreter.get_signature_runner()
        calls[key] = lambda signature=signature: signature(**inputs)
    timed = timing.interleave(calls, rounds, per_round=5, warmup=3, log=print)
    clip_ms = timing.summarize(timed["clip float32"])["median_ms"]
    results = {
        "model": model_name,
        "clip": list(clip),
        "threads": threads,
        "machine": machine.describe(),
        "gmacs_clip": round(count_macs(clip_model) / 1e9, 4),
        "gmacs_step": round(step.macs_per_frame() / 1e9, 5),
        "clip_float32_ms": clip_ms,
        "clip_float32_ms_per_frame": round(clip_ms / frames, 3),
        "steps": {},
        "delegates": {k: r.delegate for k, r in runners.items()},
        "movinet_a0_stream_published": MOVINET_A0_STREAM,
    }
    for key in ("step float32", "step int8"):
        ratio = timing.compare(timed, key, "clip float32")
        results["steps"][key] = {
            **timing.summarize(timed[key]),
            # step time / (clip time / frames), from per-round medians
            "vs_clip_per_frame": round(ratio["median"] * frames, 3),
        }
    return results


def report(results: dict) -> str:
    frames = results["clip"][0]
    lines = [
        f"{results['model']} at {'x'.join(map(str, results['clip']))}, LiteRT, "
        f"{results['threads']} threads, {results['machine']['cpu']}",
        f"MACs: clip {results['gmacs_clip']:.3f} G ({results['gmacs_clip'] / frames:.4f} G per "
        f"frame), step {results['gmacs_step']:.4f} G",
        f"clip float32: {results['clip_float32_ms']:.1f} ms, "
        f"{results['clip_float32_ms_per_frame']:.2f} ms per frame",
    ]
    for key, step in results["steps"].items():
        lines.append(
            f"{key}: {step['median_ms']:.2f} ms per frame (p10 {step['p10_ms']:.2f}, p90 "
            f"{step['p90_ms']:.2f}); {step['vs_clip_per_frame']:.2f} x the clip's per-frame time"
        )
    peer = results["movinet_a0_stream_published"]
    lines.append(
        f"MoViNet-A0 stream (published, {peer['cpu']}): {peer['gmacs_per_frame']} G, "
        f"{peer['ms_per_frame']} ms per frame"
    )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="xwisenet-stream")
    parser.add_argument("--clip", default="16,112,112", help="frames,height,width")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output", default=None, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    clip = tuple(int(v) for v in args.clip.split(","))
    results = measure(args.model, clip, args.rounds, args.threads)
    print(report(results))
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
