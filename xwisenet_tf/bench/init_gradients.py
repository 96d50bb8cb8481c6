"""How well does a network pass gradients back at initialisation? Gradient RMS of the stem, the
first unit of stage 3 and the head convolution for one training batch, several model variants
side by side (same batch, same seed).

    python -m xwisenet_tf.bench.init_gradients       # the variants below
    python -m xwisenet_tf.bench.init_gradients --variant paper: \\
        --variant linear:inner_activation=false

A ratio stem / head of ~10^4 (the paper's X-Conv with He-initialised depthwise kernels) means the
first layers get gradients four orders of magnitude larger than the last: BatchNorm after a
depthwise conv divides by the standard deviation of that channel's output, tiny when its few taps
nearly cancel, and a ReLU between two such convs makes the amplifications multiply. A variant is
``LABEL:OPTION=VALUE,...`` with options of `xwisenet_tf.models.get_model` (``model=NAME`` picks
the preset). Batches come from the prepared synthetic dataset (``--data_dir``) or, without one,
from random clips.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from xwisenet_tf.models import get_model  # noqa: E402

DEFAULT_VARIANTS = (
    "paper:",
    "linear:inner_activation=false",
    "first:inner_activation=first",
    "centred:depthwise_init=centred",
    "no-block:model=xwisenet-simple",
)
NUM_CLASSES = 6  # the synthetic task's
PROBES = {
    "stem": "stem_conv/stem_conv_conv/kernel",
    "stage3": "stage3_unit1_pw/stage3_unit1_pw_conv/kernel",
    "head": "head_conv/head_conv_conv/kernel",
}


def parse_variant(text: str) -> tuple[str, str, dict]:
    """``"LABEL:k=v,..."`` -> (label, preset, options); values true/false/first/numbers parsed."""
    label, sep, body = text.partition(":")
    if not sep or not label:
        raise ValueError(f"a variant is LABEL:OPTION=VALUE,...; received {text!r}")
    preset, options = "xwisenet", {}
    for item in filter(None, body.split(",")):
        key, eq, raw = item.partition("=")
        if not eq:
            raise ValueError(f"variant {label!r}: expected OPTION=VALUE; received {item!r}")
        value = {"true": True, "false": False}.get(raw.lower(), raw)
        if isinstance(value, str):
            try:
                value = float(value) if "." in value else int(value)
            except ValueError:
                pass
        if key == "model":
            preset = str(value)
        else:
            options[key] = value
    return label, preset, options


def gradient_profile(preset: str, options: dict, clips, labels, seed: int = 0) -> dict:
    """Gradient RMS of the `PROBES` kernels and the loss for one training-mode batch."""
    keras.utils.set_random_seed(seed)
    model = get_model(preset, NUM_CLASSES, tuple(clips.shape[1:]), **options)
    with tf.GradientTape() as tape:
        probabilities = model(clips, training=True)
        loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(labels, probabilities))
    grads = tape.gradient(loss, model.trainable_variables)
    rms = {
        v.path: float(tf.sqrt(tf.reduce_mean(tf.square(g))))
        for v, g in zip(model.trainable_variables, grads, strict=True)
        if g is not None
    }
    result = {name: rms[path] for name, path in PROBES.items()}
    result["loss"] = float(loss)
    result["stem/head"] = result["stem"] / result["head"]
    return result


def _batch(args):
    if args.data_dir:
        from xwisenet_tf import data

        ds = data.load(
            args.data_dir,
            "train",
            training=True,
            batch_size=args.batch_size,
            num_frames=args.num_frames,
            image_size=args.image_size,
            seed=args.seed,
        )
        clips, labels = next(iter(ds))
        return clips, np.asarray(labels)
    rng = np.random.default_rng(args.seed)
    shape = (args.batch_size, args.num_frames, args.image_size, args.image_size, 3)
    return rng.standard_normal(shape).astype("float32"), rng.integers(
        0, NUM_CLASSES, args.batch_size
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m xwisenet_tf.bench.init_gradients",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("--variant", action="append", help=f"default: {' '.join(DEFAULT_VARIANTS)}")
    parser.add_argument("--data_dir", help="prepared dataset (e.g. data_cache/synthetic-v3)")
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--num_frames", type=int, default=16)
    parser.add_argument("--image_size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    variants = [parse_variant(v) for v in (args.variant or DEFAULT_VARIANTS)]
    clips, labels = _batch(args)
    print("| variant | loss | stem | stage 3 | head | stem / head |")
    print("|---|--:|--:|--:|--:|--:|")
    for label, preset, options in variants:
        p = gradient_profile(preset, options, clips, labels, args.seed)
        print(
            f"| {label} | {p['loss']:.3f} | {p['stem']:.2e} | {p['stage3']:.2e} | "
            f"{p['head']:.2e} | {p['stem/head']:.1e} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
