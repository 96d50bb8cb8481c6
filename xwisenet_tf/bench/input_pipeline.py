"""Is the input pipeline fast enough? Training clips/s of `xwisenet_tf.data.load` beside the
clips/s of an XwiseNet training step, on this machine.

    python -m xwisenet_tf.bench.input_pipeline       # synthetic data, converted on first use
    python -m xwisenet_tf.bench.input_pipeline --data=PREPARED_DIR   # any prepared directory

Both are measured one after the other with the same batch size, clip length and image size
(defaults: the paper's 16 x 112 x 112). The ratio pipeline / model should be well above 1 (aim
>= 3): then the pipeline, running in parallel with training, is not the bottleneck.

    python -m xwisenet_tf.bench.input_pipeline --recipes default,real --fit_rounds 5

measures the pipeline with each recipe's augmentation (`xwisenet_tf.training.recipes`: the
"real" recipe's resized crop, colour jitter, grey clips, speed jitter...), then ``model.fit``
on each recipe's pipeline in interleaved rounds (the same model, ``--fit_steps`` steps a round):
what the augmentation costs a training run, as the median of per-round step-time ratios.
"""

from __future__ import annotations

import argparse
import os
import time


def recipe_dataset(data_dir: str, args, recipe: str | None = None, data_service: str | None = None):
    """The training clips `xwisenet_tf.training.train` reads with a recipe's augmentation
    (``None``: the paper's sampling and crop), made here or by the tf.data service at
    ``data_service`` (`xwisenet_tf.bench.data_service`)."""
    from xwisenet_tf.data import load, read_manifest
    from xwisenet_tf.data.clip_augment import mix_batches
    from xwisenet_tf.data.clip_choices import ClipAugmentation
    from xwisenet_tf.training.recipes import RECIPES

    values = RECIPES[recipe] if recipe else {}
    ds = load(
        data_dir,
        "train",
        training=True,
        batch_size=args.batch_size,
        num_frames=args.num_frames,
        image_size=args.image_size,
        seed=0,
        repeat=True,
        data_service=data_service,
        **(
            dict(
                frame_stride=values["frame_stride"],
                crop=values["train_crop"],
                colour_jitter=values["colour_jitter"],
                augment=ClipAugmentation(
                    values["crop_min_area"],
                    values["crop_max_aspect"],
                    values["speed_jitter"],
                    values["grayscale"],
                    values["erase"],
                ),
            )  # fmt: skip
            if recipe
            else {}
        ),
    )
    if recipe:
        classes = len(read_manifest(data_dir)["classes"])
        ds = mix_batches(ds, classes, values["mixup"], values["cutmix"], 0)
    return ds


def measure_pipeline(data_dir: str, args, recipe: str | None = None) -> float:
    """Training clips per second produced by the pipeline (after a warm-up)."""
    ds = recipe_dataset(data_dir, args, recipe)
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


def measure_fit(data_dir: str, num_classes: int, args, recipes: list[str]) -> dict:
    """Seconds per training step on each recipe's pipeline (the next batch prefetched while a
    step runs, as in ``model.fit``), in interleaved rounds: ``{recipe: [seconds per step, one
    per round]}``."""
    from xwisenet_tf.models import get_model
    from xwisenet_tf.training.optimizer import compile_recipe

    shape = (args.num_frames, args.image_size, args.image_size, 3)
    model = get_model(args.model, num_classes=num_classes, input_shape=shape)
    compile_recipe(model, 1000, "default", mixup=1.0)  # loss and accuracy take soft labels
    iterators = {r: iter(recipe_dataset(data_dir, args, r)) for r in recipes}
    times: dict[str, list[float]] = {r: [] for r in recipes}

    def fit(recipe: str, steps: int) -> float:
        iterator = iterators[recipe]  # prefetches in the background while a step runs
        start = time.perf_counter()
        for _ in range(steps):
            model.train_on_batch(*next(iterator))
        return (time.perf_counter() - start) / steps

    for recipe in recipes:
        fit(recipe, args.warmup)
    for _ in range(args.fit_rounds):
        for recipe in recipes:
            times[recipe].append(fit(recipe, args.fit_steps))
    return times


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
    p.add_argument("--recipes", default=None, help="e.g. default,real: each recipe's pipeline")
    p.add_argument("--fit_rounds", type=int, default=0, help="interleaved model.fit rounds")
    p.add_argument("--fit_steps", type=int, default=10, help="training steps per round")
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
    recipes = [r.strip() for r in (args.recipes or "").split(",") if r.strip()]
    for recipe in recipes:
        rate = measure_pipeline(data_dir, args, recipe)
        print(f"pipeline, recipe {recipe:<10} {rate:8.1f} clips/s ({rate / model:.1f}x the model)")
    if recipes and args.fit_rounds:
        import statistics

        times = measure_fit(data_dir, len(manifest["classes"]), args, recipes)
        base = recipes[0]
        for recipe in recipes:
            ratios = [t / b for t, b in zip(times[recipe], times[base], strict=True)]
            print(
                f"training, recipe {recipe:<10} {statistics.median(times[recipe]):.3f} s/step "
                f"(median of {args.fit_rounds} rounds), {statistics.median(ratios):.3f}x "
                f"{base}'s step time (rounds {min(ratios):.3f}-{max(ratios):.3f})"
            )


if __name__ == "__main__":
    main()
