"""Training speed of XwiseNet: today's training path against the one before issue 15, one run.

    python -m xwisenet_tf.bench.training_speed [--model xwisenet] [--batch 16] [--rounds 8]

Two copies of the model with the same weights, one built and traced with the old path
(`old_path`: the fused BatchNorm on its `(batch, 1, positions, C)` view, `ChannelShuffle` and
`ChannelSplit` as separate layers), one with today's defaults, take training steps
(`train_on_batch`: Adam, sparse cross-entropy, the same random clips and labels) in interleaved
rounds (`timing.interleave`). Prints the clips/s of each, the speed-up (the median of the
per-round ratios old time / new time, min-max over rounds), the loss of the first step of each
(the same weights, clips and dropout masks: equal up to float rounding; the gradients are
checked by `tests/layers/test_training_paths.py`) and the CPU model. The speed-up is what to
read on a shared machine, not the absolute times.

Each round also times the machine's dense peak (`dense_peak`: a 1x1 convolution of 512 to 512
channels, what oneDNN runs fastest), so that both paths are set against the MAC-bound limit
measured under the same load: the clips/s at which a training step (about 3 x the forward
MACs: forward, input and weight gradients) would run at that peak.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

PATHS = ("old", "new")


@contextlib.contextmanager
def old_path():
    """The training path before issue 15, for the layers that choose theirs when traced.

    `train_on_batch` traces its function on the first call: run that call inside this context.
    The model structure of the old path is `build(..., path="old")`.
    """
    from xwisenet_tf.layers import BatchNorm

    previous = BatchNorm.fused_layout
    BatchNorm.fused_layout = "clips"
    try:
        yield
    finally:
        BatchNorm.fused_layout = previous


def path_context(path: str):
    """`old_path()` for "old", a no-op for "new" (today's defaults)."""
    return old_path() if path == "old" else contextlib.nullcontext()


def build(model: str, path: str, num_classes: int, input_shape):
    """The preset `model` (an XwiseNet) with the layer graph of `path`."""
    from xwisenet_tf.models import XwiseNetSpec, resolve_spec
    from xwisenet_tf.models.xwisenet import build_xwisenet

    spec = resolve_spec(model)
    if not isinstance(spec, XwiseNetSpec):
        raise ValueError(f"`--model` must be an XwiseNet preset. Received: --model={model!r}")
    return build_xwisenet(
        spec, num_classes, input_shape, name=model, fuse_shuffle_split=path == "new"
    )


def training_step(model, path: str, clips, labels, losses: list):
    """A blocking zero-argument call: one `train_on_batch` (Adam, cross-entropy) on `path`."""
    import keras

    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")

    def step():
        with path_context(path):
            losses.append(float(model.train_on_batch(clips, labels)))

    return step


def dense_peak(batch: int = 4):
    """(blocking zero-argument call, MACs per call): the benchmark's dense peak
    (`measure.dense_peak_model`, a 1x1 convolution of 512 to 512 channels on 56 x 56) on a
    batch of `batch`, the densest work the CPU does (GMAC/s = MACs / its time). The call
    returns the output's sum, so that copying the output out is not timed."""
    import tensorflow as tf

    from xwisenet_tf.bench.measure import (
        Settings,
        dense_peak_input,
        dense_peak_macs,
        dense_peak_model,
    )

    settings = Settings()
    model = dense_peak_model(settings)
    x = tf.constant(dense_peak_input(settings, batch))
    conv = tf.function(lambda: tf.reduce_sum(model(x, training=False)))
    return (lambda: conv().numpy()), batch * dense_peak_macs(settings)


def measure(
    model: str = "xwisenet",
    batch: int = 16,
    frames: int = 16,
    size: int = 112,
    num_classes: int = 400,
    rounds: int = 8,
    warmup: int = 2,
    seed: int = 0,
    log=print,
) -> dict:
    """Times training steps of the two paths in interleaved rounds; returns the figures."""
    import keras
    import numpy as np
    import tensorflow as tf

    from xwisenet_tf.bench import timing
    from xwisenet_tf.bench.machine import describe, load_average
    from xwisenet_tf.layers.complexity import count_macs

    machine = describe()
    log(
        f"CPU: {machine['cpu']} ({machine['cpus_usable']} usable cores), TensorFlow "
        f"{machine['tensorflow']}, oneDNN {'on' if machine['onednn'] else 'off'}, "
        f"load average {machine['load_average_start']}"
    )
    shape = (frames, size, size, 3)
    models = {}
    for path in PATHS:
        keras.utils.set_random_seed(seed)  # the same dropout masks in both
        models[path] = build(model, path, num_classes, shape)
    models["new"].set_weights(models["old"].get_weights())
    rng = np.random.default_rng(seed)
    clips = tf.constant(rng.standard_normal((batch, *shape)).astype("float32"))
    labels = tf.constant(rng.integers(0, num_classes, batch).astype("int32"))
    losses = {path: [] for path in PATHS}
    calls = {path: training_step(models[path], path, clips, labels, losses[path]) for path in PATHS}
    peak_call, peak_macs = dense_peak()
    calls["dense_peak"] = peak_call
    log(f"{model} training, batch {batch} of {frames}x{size}x{size}: {rounds} rounds")
    timed = timing.interleave(calls, rounds, 1, warmup, log)
    speedup = timing.ratio_summary(timing.round_ratios(timed, "old", "new"))
    steps = {path: timing.summarize(timed[path], scale=1.0, unit="s") for path in PATHS}
    clips_per_s = {path: round(batch / steps[path]["median_s"], 2) for path in PATHS}
    macs = count_macs(models["new"])
    # Per round: clips/s over the MAC-bound clips/s (3 x MACs per clip at the round's peak).
    peak_gmacs = [peak_macs / statistics.median(r) / 1e9 for r in timed["dense_peak"]["rounds"]]
    limits = [g * 1e9 / (3 * macs) for g in peak_gmacs]
    of_limit = {
        path: timing.ratio_summary(
            [
                batch / statistics.median(r) / limit
                for r, limit in zip(timed[path]["rounds"], limits, strict=True)
            ]
        )
        for path in PATHS
    }
    return {
        "machine": {**machine, "load_average_end": load_average()},
        "settings": {
            "model": model,
            "batch": batch,
            "clip_shape": list(shape),
            "num_classes": num_classes,
            "rounds": rounds,
            "warmup": warmup,
            "seed": seed,
        },
        "steps": steps,
        "clips_per_s": clips_per_s,
        # A training step costs about 3 forward passes (forward, input and weight gradients).
        "train_gmacs_per_s": {path: round(3 * macs * clips_per_s[path] / 1e9, 1) for path in PATHS},
        "macs_per_clip": macs,
        "dense_peak_gmacs_per_s": round(statistics.median(peak_gmacs), 1),
        "mac_bound_clips_per_s": round(statistics.median(limits), 2),
        "share_of_mac_bound": of_limit,
        "speedup_new_over_old": speedup,
        # Later steps drift apart: Adam's first updates are about lr * sign(gradient), so a
        # rounding difference in a near-zero gradient moves a weight by 2 * lr.
        "first_step_loss": {path: losses[path][0] for path in PATHS},
    }


def report(result: dict) -> str:
    s, m = result["settings"], result["machine"]
    sp = result["speedup_new_over_old"]
    lines = [
        f"CPU: {m['cpu']}, {m['cpus_usable']} cores, TensorFlow {m['tensorflow']}, oneDNN "
        f"{'on' if m['onednn'] else 'off'}, load average {m['load_average_start']} -> "
        f"{m['load_average_end']}",
        f"{s['model']}, training batch {s['batch']} of {'x'.join(map(str, s['clip_shape']))}, "
        f"Adam, cross-entropy, {s['rounds']} interleaved rounds",
    ]
    for path in PATHS:
        step = result["steps"][path]
        lines.append(
            f"  {path:3} path: {result['clips_per_s'][path]:6.2f} clips/s (step "
            f"{step['median_s']:.3f} s median, {step['min_s']:.3f}-{step['max_s']:.3f}; "
            f"{result['train_gmacs_per_s'][path]} GMAC/s)"
        )
    lines.append(
        f"  new / old clips/s: {sp['median']:.2f} (per-round {sp['min']:.2f}-{sp['max']:.2f}, "
        f"median of {sp['rounds']} rounds)"
    )
    share = result["share_of_mac_bound"]
    lines.append(
        f"  MAC-bound limit: {result['mac_bound_clips_per_s']:.2f} clips/s "
        f"({result['macs_per_clip'] / 1e9:.2f} G MACs per clip x 3 at the dense peak, "
        f"{result['dense_peak_gmacs_per_s']} GMAC/s, timed in the same rounds); old path at "
        f"{share['old']['median']:.0%}, new at {share['new']['median']:.0%} of it"
    )
    first = result["first_step_loss"]
    lines.append(
        f"  first step (same weights, clips, dropout masks): loss old {first['old']:.6f}, "
        f"new {first['new']:.6f}"
    )
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m xwisenet_tf.bench.training_speed", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--model", default="xwisenet", help="an XwiseNet preset")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--num_classes", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per path first")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    result = measure(
        args.model,
        args.batch,
        args.frames,
        args.size,
        args.num_classes,
        args.rounds,
        args.warmup,
        args.seed,
        log=lambda message: print(message, file=sys.stderr, flush=True),
    )
    print(report(result), flush=True)
    if args.json:
        from xwisenet_tf.files import write_json

        write_json(args.json, result)


if __name__ == "__main__":
    main()
