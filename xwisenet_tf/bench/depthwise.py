"""Speed of the two DepthwiseConv3D implementations, side by side in one run.

    python -m xwisenet_tf.bench.depthwise [--shape 4,16,28,28,116] [--repeats 5]

Times a 1x3x3 spatial then 3x1x1 temporal depthwise conv (the depthwise part of an X-Conv)
forward and as a training step (forward + gradients), for `implementation="grouped"` (Conv3D
with groups=C) and `"folded"` (2D depthwise on folded tensors), and prints the grouped/folded time ratios. The two are interleaved so that load from
other processes hits both alike; the ratio is what to read, not the absolute times.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from xwisenet_tf.layers import DepthwiseConv3D  # noqa: E402


def build(implementation: str, shape) -> keras.Model:
    inputs = keras.Input(shape=shape[1:])
    x = DepthwiseConv3D((1, 3, 3), implementation=implementation, name="spatial")(inputs)
    x = DepthwiseConv3D((3, 1, 1), implementation=implementation, name="temporal")(x)
    return keras.Model(inputs, x)


def make_steps(model: keras.Model):
    @tf.function
    def forward(x):
        return model(x)

    @tf.function
    def train_step(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x)))
        return tape.gradient(loss, model.trainable_weights)

    return forward, train_step


def time_call(fn, x) -> float:
    start = time.perf_counter()
    result = fn(x)
    tf.nest.map_structure(lambda t: t.numpy(), result)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m xwisenet_tf.bench.depthwise", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--shape", default="4,16,28,28,116", help="batch,frames,height,width,C")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    shape = tuple(int(v) for v in args.shape.split(","))
    x = tf.constant(np.random.default_rng(0).standard_normal(shape).astype("float32"))

    models = {impl: build(impl, shape) for impl in ("grouped", "folded")}
    models["grouped"].set_weights(models["folded"].get_weights())
    steps = {impl: make_steps(m) for impl, m in models.items()}
    diff = np.abs(steps["grouped"][0](x).numpy() - steps["folded"][0](x).numpy()).max()

    times = {(impl, kind): [] for impl in models for kind in ("forward", "train step")}
    for impl in models:  # warm-up: tracing and XLA compilation
        for fn in steps[impl]:
            time_call(fn, x)
    for _ in range(args.repeats):
        for impl, (forward, train_step) in steps.items():
            times[(impl, "forward")].append(time_call(forward, x))
            times[(impl, "train step")].append(time_call(train_step, x))

    print(f"DepthwiseConv3D 1x3x3 + 3x1x1 on {shape}, {args.repeats} interleaved repeats")
    print(f"max |grouped - folded| = {diff:.2e}")
    print(f"{'':12} {'grouped ms':>11} {'folded ms':>10} {'grouped/folded':>15}")
    for kind in ("forward", "train step"):
        grouped = statistics.median(times[("grouped", kind)]) * 1e3
        folded = statistics.median(times[("folded", kind)]) * 1e3
        print(f"{kind:12} {grouped:11.1f} {folded:10.1f} {grouped / folded:15.1f}x")


if __name__ == "__main__":
    main()
