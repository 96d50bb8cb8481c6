"""Per-frame cost of streaming: the step models of a causal XwiseNet beside its clip model.

    python -m xwisenet_tf.bench.stream [--model xwisenet-stream] [--clip 16,112,112]
        [--frames_per_step 1,4] [--rounds 12] [--threads 2] [--unfolded] [--ops_only]
        [--quick] [--output stream.json]

Converts the clip model to float TFLite and, for every k of ``--frames_per_step``, the step
model taking k frames per step (`xwisenet_tf.streaming.build_step_model`) to float and int8
TFLite, then times one LiteRT ``invoke`` of each, interleaved round by round in one process
(`timing.interleave`), batch 1. The models are those ``export.py`` converts: BatchNorms folded
(``--unfolded``: not), random weights (speed does not depend on them) with the context blocks'
zero-initialised last transforms and the BatchNorm statistics drawn as training would leave
them, as the main bench draws them (`measure.randomize_context_transforms`: an all-zero
context calibrates to a zero int8 range, and XNNPACK leaves each such ADD to a reference
kernel, a graph no trained model has).

Prints, from per-round medians, each step's time per frame (a step's time / k) against the
clip's per-frame share (the clip's time / its frames), each int8 step against the float step of
the same k, the MACs per frame, and every model's op count per op type with its XNNPACK
partitions (`xwisenet_tf.export.delegation`). ``--ops_only``: the op counts without timing.
``--quick`` checks that the bench runs (a small clip, two rounds); its times say nothing.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter

import numpy as np

from xwisenet_tf.bench import machine, timing

# Published per-frame cost of the nearest peer, for the printout (issue 16's table: TF Model
# Garden MoViNet-A0 stream, one 112 px frame, LiteRT float32, 2 threads on a 2-core AMD EPYC).
MOVINET_A0_STREAM = {"gmacs_per_frame": 0.023, "ms_per_frame": 1.8, "cpu": "AMD EPYC, 2 threads"}
CLIP_KEY = "clip float32"
QUICK = {"clip": (8, 32, 32), "rounds": 2, "per_round": 1}


def step_key(frames_per_step: int, quantization: str) -> str:
    """The name of a step model's case, e.g. ``"step k=4 int8"``."""
    return f"step k={frames_per_step} {quantization}"


def op_counts(content: bytes) -> dict[str, int]:
    """How many ops of each type a TFLite flatbuffer runs, most frequent first."""
    from ai_edge_litert.interpreter import Interpreter

    ops = Interpreter(model_content=bytes(content))._get_ops_details()  # LiteRT's op listing
    return dict(Counter(op["op_name"] for op in ops).most_common())


class Models:
    """The clip model, the step models of each k and their TFLite flatbuffers.

    Args:
        model_name: A causal preset (`xwisenet-stream`).
        clip: ``(frames, height, width)`` of the clip model; the steps take frames of that size.
        frames_per_step: The k's of the step models.
        fold: Fold the BatchNorms into the convolutions, as ``export.py`` does.
        model_options: Extra options of the preset (tests: a narrow model).
    """

    def __init__(
        self,
        model_name: str,
        clip: tuple[int, int, int],
        frames_per_step: tuple[int, ...] = (1, 4),
        fold: bool = True,
        model_options: dict | None = None,
    ):
        import keras

        from xwisenet_tf.bench.measure import (
            randomize_batch_norm_statistics,
            randomize_context_transforms,
        )
        from xwisenet_tf.export.stream import convert_step_model
        from xwisenet_tf.export.tflite import convert_to_tflite
        from xwisenet_tf.models import get_model
        from xwisenet_tf.optimize import fold_batch_norms
        from xwisenet_tf.streaming import build_step_model

        frames, height, width = clip
        keras.utils.set_random_seed(0)
        model = get_model(model_name, 6, (frames, height, width, 3), **(model_options or {}))
        randomize_context_transforms(model)
        randomize_batch_norm_statistics(model)
        self.clip_model = fold_batch_norms(model) if fold else model
        rng = np.random.default_rng(0)
        self.clips = rng.standard_normal((2, frames, height, width, 3)).astype("float32")
        self.contents = {CLIP_KEY: convert_to_tflite(self.clip_model)}
        self.steps = {}
        for k in frames_per_step:
            step = build_step_model(self.clip_model, frames_per_step=k)
            self.steps[k] = step
            self.contents[step_key(k, "float32")] = convert_step_model(step)
            self.contents[step_key(k, "int8")] = convert_step_model(step, "int8", self.clips)

    def ops(self, threads: int) -> dict[str, dict]:
        """Per model: ``ops`` (count), ``op_counts`` per op type, ``delegation`` (XNNPACK)."""
        from xwisenet_tf.export.delegation import describe_delegation, xnnpack_delegation

        out = {}
        for key, content in self.contents.items():
            counts = op_counts(content)
            out[key] = {
                "ops": sum(counts.values()),
                "op_counts": counts,
                "delegation": describe_delegation(xnnpack_delegation(content, threads)),
            }
        return out


def measure(
    model_name: str,
    clip: tuple[int, int, int],
    rounds: int,
    threads: int,
    frames_per_step: tuple[int, ...] = (1, 4),
    per_round: int = 5,
    model_options: dict | None = None,
    fold: bool = True,
) -> dict:
    """Times the float clip model and the float and int8 step models of each k, interleaved.

    Args:
        model_name, clip, frames_per_step, model_options, fold: as `Models` takes them.
        rounds: Interleaved rounds.
        threads: LiteRT threads.
        per_round: Calls of each model per round.

    Returns:
        The figures `report` prints: per case the time summary, and per step
        ``ms_per_frame``, ``vs_clip_per_frame`` (the step's time per frame over the clip's
        per-frame share, the median of per-round ratios), ``vs_float32`` (int8 steps: over the
        float step of the same k), ``ops``, ``op_counts`` and ``delegation``.
    """
    from xwisenet_tf.layers.complexity import count_macs
    from xwisenet_tf.tflite_runner import TFLiteRunner

    frames = clip[0]
    models = Models(model_name, clip, frames_per_step, fold, model_options)
    contents, steps, clips = models.contents, models.steps, models.clips
    inputs = {
        k: {"frame": step.frame_input(clips[0, :k]), **step.initial_state(1)}
        for k, step in steps.items()
    }
    ops = models.ops(threads)
    runners = {
        key: TFLiteRunner(content, num_threads=threads, fallback=True)
        for key, content in contents.items()
    }
    runners[CLIP_KEY].set_input(clips[0])
    calls = {CLIP_KEY: runners[CLIP_KEY].invoke}
    for k in frames_per_step:
        for quantization in ("float32", "int8"):
            signature = runners[step_key(k, quantization)].interpreter.get_signature_runner()
            calls[step_key(k, quantization)] = lambda s=signature, x=inputs[k]: s(**x)
    timed = timing.interleave(calls, rounds, per_round=per_round, warmup=3, log=print)
    clip_ms = timing.summarize(timed[CLIP_KEY])["median_ms"]
    results = {
        "model": model_name,
        "clip": list(clip),
        "threads": threads,
        "frames_per_step": list(frames_per_step),
        "machine": machine.describe(),
        "folded_batch_norms": fold,
        "gmacs_clip": round(count_macs(models.clip_model) / 1e9, 4),
        "clip_float32_ms": clip_ms,
        "clip_float32_ms_per_frame": round(clip_ms / frames, 3),
        "clip_ops": ops[CLIP_KEY]["ops"],
        "steps": {},
        "delegates": {key: runner.delegate for key, runner in runners.items()},
        "ops": ops,
        "movinet_a0_stream_published": MOVINET_A0_STREAM,
    }
    for k in frames_per_step:
        for quantization in ("float32", "int8"):
            key = step_key(k, quantization)
            summary = timing.summarize(timed[key])
            entry = {
                "frames_per_step": k,
                "quantization": quantization,
                **summary,
                "ms_per_frame": round(summary["median_ms"] / k, 3),
                # (step time / k) / (clip time / frames), from per-round medians
                "vs_clip_per_frame": round(
                    timing.compare(timed, key, CLIP_KEY)["median"] * frames / k, 3
                ),
                "gmacs_per_frame": round(steps[k].macs_per_frame() / 1e9, 5),
                **ops[key],
            }
            if quantization == "int8":
                versus = timing.compare(timed, key, step_key(k, "float32"))
                entry["vs_float32"] = versus["median"]
            results["steps"][key] = entry
    return results


def ops_table(ops: dict[str, dict]) -> str:
    """A Markdown table of op counts per op type (rows) and model (columns), with each
    model's total and XNNPACK partitions (`Models.ops`)."""
    keys = list(ops)
    types = Counter()
    for key in keys:
        types.update(ops[key]["op_counts"])
    lines = [
        "| op | " + " | ".join(keys) + " |",
        "|---|" + "---|" * len(keys),
    ]
    for name, _ in types.most_common():
        counts = (str(ops[key]["op_counts"].get(name, 0)) for key in keys)
        lines.append(f"| {name} | " + " | ".join(counts) + " |")
    lines.append("| total | " + " | ".join(str(ops[key]["ops"]) for key in keys) + " |")
    lines.append("")
    lines.extend(f"- {key}: {ops[key]['delegation']}" for key in keys)
    return "\n".join(lines)


def report(results: dict) -> str:
    frames = results["clip"][0]
    folded = "BatchNorms folded" if results["folded_batch_norms"] else "BatchNorms unfolded"
    lines = [
        f"{results['model']} at {'x'.join(map(str, results['clip']))}, LiteRT, "
        f"{results['threads']} threads, {folded}, {results['machine']['cpu']}",
        f"clip float32: {results['clip_float32_ms']:.1f} ms, "
        f"{results['clip_float32_ms_per_frame']:.2f} ms per frame (its share of the clip), "
        f"{results['gmacs_clip'] / frames:.4f} G MACs per frame, {results['clip_ops']} ops",
        "",
        "| step | ms per step | ms per frame | x the clip's per-frame share | int8 / float "
        "| G MACs per frame | ops |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, step in results["steps"].items():
        versus = f"{step['vs_float32']:.2f}" if "vs_float32" in step else ""
        lines.append(
            f"| {key} | {step['median_ms']:.2f} (p10 {step['p10_ms']:.2f}, p90 "
            f"{step['p90_ms']:.2f}) | {step['ms_per_frame']:.2f} | "
            f"{step['vs_clip_per_frame']:.2f} | {versus} | {step['gmacs_per_frame']:.4f} | "
            f"{step['ops']} |"
        )
    peer = results["movinet_a0_stream_published"]
    lines += [
        f"MoViNet-A0 stream (published, {peer['cpu']}): {peer['gmacs_per_frame']} G, "
        f"{peer['ms_per_frame']} ms per frame",
        "",
        "Ops per type:",
        ops_table(results["ops"]),
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="xwisenet-stream")
    parser.add_argument("--clip", default="16,112,112", help="frames,height,width")
    parser.add_argument(
        "--frames_per_step", default="1,4", help="the k's of the step models, e.g. 1,2,4,8"
    )
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--unfolded", action="store_true", help="keep the BatchNorms (export.py folds them)"
    )
    parser.add_argument(
        "--ops_only", action="store_true", help="print the op counts per op type, time nothing"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"check that it runs: clip {','.join(map(str, QUICK['clip']))}, "
        f"{QUICK['rounds']} rounds of one call (times meaningless)",
    )
    parser.add_argument("--output", default=None, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    clip = QUICK["clip"] if args.quick else tuple(int(v) for v in args.clip.split(","))
    rounds = QUICK["rounds"] if args.quick else args.rounds
    per_round = QUICK["per_round"] if args.quick else 5
    ks = tuple(int(v) for v in args.frames_per_step.split(","))
    if args.ops_only:
        ops = Models(args.model, clip, ks, not args.unfolded).ops(args.threads)
        results = {"model": args.model, "clip": list(clip), "ops": ops}
        print(f"{args.model} at {'x'.join(map(str, clip))}:")
        print(ops_table(ops))
    else:
        results = measure(
            args.model, clip, rounds, args.threads, ks, per_round, None, not args.unfolded
        )
        print(report(results))
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
