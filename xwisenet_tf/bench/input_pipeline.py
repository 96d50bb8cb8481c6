"""Is the input pipeline fast enough? Training clips/s of `xwisenet_tf.data.load` beside the
clips/s of an XwiseNet training step, on this machine.

    python -m xwisenet_tf.bench.input_pipeline       # synthetic data, converted on first use
    python -m xwisenet_tf.bench.input_pipeline --data=PREPARED_DIR   # any prepared directory

Both are measured one after the other with the same batch size, clip length and image size
(defaults: the paper's 16 x 112 x 112). The ratio pipeline / model should be well above 1 (aim
>= 3): then the pipeline, running in parallel with training, is not the bottleneck.
"""

from __future__ import annotations

import argparse
import os
import time


def measure_pipeline(data_dir: str, args) -> float:
    """Training clips per second produced by the pipeline (after a warm-up)."""
    from xwisenet_tf.data import load

    ds = load(
        data_dir,
        "train",
        training=True,
        batch_size=args.batch_size,
        num_frames=args.num_frames,
        image_size=args.image_size,
        seed=0,
        repeat=True,
    )
    iterator = iter(ds)
    for _ in range(args.warmup):
        next(iterator)
    start = time.perf_counter()
    for _ in range(args.pipeline_batches):
        clips, _ = next(iterator)
    clips.numpy()
    return args.pipeline_batches * args.batch_size / (time.perf_counter() - start)


def measure_model(num_classes: int, args) -> float:
    """Training clips per second of `get_model(args.model)` on a fixed batch."""
    import keras
    import numpy as np

    from xwisenet_tf.models import get_model

    shape = (args.num_frames, args.image_size, args.image_size, 3)
    model = get_model(args.model, num_classes=num_classes, input_shape=shape)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch_size, *shape)).astype("float32")
    y = rng.integers(0, num_classes, args.batch_size).astype("int32")
    for _ in range(args.warmup):
        model.train_on_batch(x, y)
    start = time.perf_counter()
    for _ in range(args.model_steps):
        model.train_on_batch(x, y)
    return args.model_steps * args.batch_size / (time.perf_counter() - start)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m xwisenet_tf.bench.input_pipeline", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--data", help="prepared directory; default: synthetic data in --data_dir")
    p.add_argument("--data_dir", default="data_cache", help="cache for the synthetic data")
    p.add_argument("--model", default="xwisenet")
    p.add_argument("--batch_size", type=int, default=8)
    p.add_argument("--num_frames", type=int, default=16)
    p.add_argument("--image_size", type=int, default=112)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--pipeline_batches", type=int, default=30)
    p.add_argument("--model_steps", type=int, default=5)
    args = p.parse_args(argv)

    from xwisenet_tf.data import ensure_dataset, read_manifest

    data_dir = args.data or ensure_dataset("synthetic", args.data_dir)
    manifest = read_manifest(data_dir)
    print(f"data: {data_dir} (short side {manifest.get('settings', {}).get('short_side')})")
    print(
        f"cores: {os.cpu_count()}, batch {args.batch_size}, clips "
        f"{args.num_frames}x{args.image_size}x{args.image_size}x3"
    )
    pipeline = measure_pipeline(data_dir, args)
    print(f"input pipeline (training clips):  {pipeline:8.1f} clips/s")
    model = measure_model(len(manifest["classes"]), args)
    print(f"{args.model} training step:       {model:8.1f} clips/s")
    print(
        f"ratio pipeline / model:           {pipeline / model:8.1f}x "
        f"({'OK' if pipeline / model >= 3 else 'pipeline may limit training'})"
    )


if __name__ == "__main__":
    main()
