"""`measure_cost`: the compute a table needs, measured on this machine.

For each configuration: build the model at the run's clip size, time a few training steps on
random clips (after one warm-up step that traces the graph), and turn clips per second into
seconds per epoch for a dataset of a given size. A recognition pass (sec. IV-C) is counted as
one forward pass per evaluation clip, taken as a third of a training step per clip (backward
pass about twice the forward). Timings on a shared machine vary; run it where you will train.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from xwisenet_tf.experiments.runner import RunSettings, model_overrides, select
from xwisenet_tf.experiments.tables import default_image_size, experiments

# Training videos per epoch and evaluation clips per pass of the paper's datasets.
# Part-Kinetics: 5498 training and 459 test videos of ~10 s (~16 clips of 16 frames each);
# KTH 16/9: ~1528 training and ~863 test sequences of ~110 frames (~7 clips each).
PART_KINETICS = {"train_videos": 5498, "eval_clips": 459 * 16}
KTH = {"train_videos": 1528, "eval_clips": 863 * 7}


def measure_cost(
    table: str,
    settings: RunSettings,
    configs: list[str] | None = None,
    steps: int = 2,
    num_classes: int | None = None,
    train_videos: int | None = None,
    eval_clips: int | None = None,
    log: Callable[[str], None] = print,
) -> list[dict]:
    """Times training steps of every (selected) configuration of ``table``.

    Args:
        table: Table key.
        settings: Clip size, batch size and model options (as for ``run``).
        configs: Slug patterns (default: the table's configurations).
        steps: Timed training steps per configuration (after one warm-up step).
        num_classes: Classifier size (default: 6 for Table 5, 10 otherwise).
        train_videos: Training clips per epoch (default: Part-Kinetics 5498, KTH 1528).
        eval_clips: Clips of one recognition pass (default: estimates for the paper's test sets).
        log: Receives one line per configuration.

    Returns:
        One dict per configuration: slug, params, macs, seconds per step, clips per second,
        estimated seconds per epoch (training + one validation pass).
    """
    import keras

    from xwisenet_tf.models import get_model
    from xwisenet_tf.profiling import count_macs, count_params
    from xwisenet_tf.training import compile_model
    from xwisenet_tf.training.recipes import recipe_values

    defaults = KTH if table == "5" else PART_KINETICS
    train_videos = train_videos or defaults["train_videos"]
    eval_clips = eval_clips or defaults["eval_clips"]
    num_classes = num_classes or (6 if table == "5" else 10)
    size = settings.image_size or default_image_size(table)
    shape = (settings.num_frames, size, size, 3)
    rng = np.random.default_rng(0)
    clips = rng.normal(size=(settings.batch_size, *shape)).astype("float32")
    labels = rng.integers(0, num_classes, settings.batch_size)
    rows = []
    for exp in select(experiments(table), configs):
        keras.backend.clear_session()
        overrides = model_overrides(exp, settings.model_options)
        model = get_model(exp.model, num_classes, shape, **overrides)
        recipe = recipe_values(settings.recipe)
        compile_model(
            model,
            settings.learning_rate or recipe["learning_rate"],
            recipe["weight_decay"] if settings.weight_decay is None else settings.weight_decay,
            recipe["weight_decay_mode"],
            recipe["label_smoothing"],
        )
        start = time.perf_counter()
        model.train_on_batch(clips, labels)
        warmup = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(steps):
            model.train_on_batch(clips, labels)
        per_step = (time.perf_counter() - start) / steps
        clips_per_s = settings.batch_size / per_step
        epoch = train_videos / clips_per_s + eval_clips / (3 * clips_per_s)
        row = {
            "table": table,
            "slug": exp.slug,
            "input_shape": list(shape),
            "batch_size": settings.batch_size,
            "params": count_params(model),
            "macs": count_macs(model),
            "warmup_seconds": warmup,
            "seconds_per_step": per_step,
            "clips_per_second": clips_per_s,
            "train_videos": train_videos,
            "eval_clips": eval_clips,
            "seconds_per_epoch": epoch,
        }
        rows.append(row)
        log(
            f"{exp.slug:32} {row['macs'] / 1e9:7.2f} G MACs {row['params'] / 1e6:7.2f} M params "
            f"{per_step:7.2f} s/step {clips_per_s:7.2f} clips/s ~{epoch / 60:7.1f} min/epoch "
            f"({train_videos} training clips + {eval_clips} evaluation clips)"
        )
        del model
    keras.backend.clear_session()
    return rows
