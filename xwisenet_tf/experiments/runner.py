"""`run_table`: train and evaluate every configuration of a paper table with one recipe.

Layout of ``output_dir``::

    table<k>/<slug>/train/      the training run (`xwisenet_tf.training.train`: config.json,
                                backup/, best.keras, history.csv, eval_test.json, logs/)
    table<k>/<slug>/done.json   written last, when the configuration is finished: its results
    table<k>/<slug>/failed.json the error of the last attempt (removed once it succeeds)

A rerun of the same command skips every configuration whose ``done.json`` matches, resumes an
interrupted one from its last completed epoch (the training code's resumable backup), and
trains the rest. A larger ``--epochs`` continues finished configurations to the new count.
A configuration identical to one finished elsewhere in ``output_dir`` (Table III(b)'s "before
channel shuffle" is Table IV's XwiseNet + SS, same recipe) is not trained twice: its results are
reused and ``done.json`` names the source (``reused_from``).
"""

from __future__ import annotations

import datetime
import glob
import os
import time
from collections.abc import Callable

from xwisenet_tf.experiments.configurations import (
    DONE_FILE,
    FAILED_FILE,
    RESULT_VERSION,
    TRAIN_DIR,
    check_model_options,
    config_dir,
    fingerprint,
    jsonable,
    model_overrides,
    plan,
    read_done,
    select,
    status,
    train_config,
)
from xwisenet_tf.experiments.run_settings import ExperimentError, RunSettings
from xwisenet_tf.experiments.tables import Experiment, experiments
from xwisenet_tf.training.errors import TrainingError

__all__ = [  # this module's, and the names it gathers from the modules it was split into
    "DONE_FILE",
    "FAILED_FILE",
    "TRAIN_DIR",
    "ExperimentError",
    "RunSettings",
    "config_dir",
    "fingerprint",
    "model_overrides",
    "plan",
    "read_done",
    "run_table",
    "select",
    "status",
    "train_config",
]


def _find_reusable(output_dir: str, key: str, epochs: int, own: str) -> dict | None:
    for path in sorted(glob.glob(os.path.join(output_dir, "table*", "*", DONE_FILE))):
        directory = os.path.dirname(path)
        if os.path.abspath(directory) == os.path.abspath(own):
            continue
        done = read_done(directory)
        if (
            done
            and done.get("fingerprint") == key
            and done.get("epochs") == epochs
            and not done.get("reused_from")
        ):
            return done
    return None


def run_table(
    table: str,
    settings: RunSettings,
    configs: list[str] | None = None,
    max_configs: int | None = None,
    log: Callable[[str], None] = print,
) -> list[dict]:
    """Trains and evaluates every (selected) configuration of ``table``.

    Args:
        table: A key of `xwisenet_tf.experiments.tables.TABLES`.
        settings: The shared recipe.
        configs: Slug patterns selecting configurations (default: the table's default set).
        max_configs: Train at most this many configurations in this call (finished and reused
            ones do not count), then return; the rest waits for the next call.
        log: Receives one line per event.

    Returns:
        The results (``done.json`` contents) of the configurations finished so far, in order.

    Raises:
        ExperimentError: bad arguments, or a configuration directory holding another run.
        KeyboardInterrupt: passed on (the interrupted configuration resumes on the next call).
    """
    if settings.epochs < 1:
        raise ExperimentError(f"epochs must be >= 1; received {settings.epochs}")
    check_model_options(settings.model_options)
    exps = select(experiments(table), configs)
    output_dir = os.path.abspath(settings.output_dir)
    os.makedirs(output_dir, exist_ok=True)
    results, trained, failures = [], 0, []
    for index, exp in enumerate(exps, start=1):
        head = f"[table {table} {index}/{len(exps)}] {exp.slug}"
        directory = config_dir(output_dir, exp)
        config = train_config(exp, settings, os.path.join(directory, TRAIN_DIR))
        key = fingerprint(config)
        done = read_done(directory)
        if done and done.get("fingerprint") != key:
            raise ExperimentError(
                f"{directory}: holds a finished configuration trained with other settings "
                f"(fingerprint {done.get('fingerprint')} != {key}); use another --output_dir"
            )
        if done and done.get("epochs", 0) >= settings.epochs:
            log(f"{head}: done ({_summary(done)}), skipped")
            results.append(done)
            continue
        if (not done or done.get("reused_from")) and not os.path.isdir(
            os.path.join(directory, TRAIN_DIR)
        ):
            source = _find_reusable(output_dir, key, settings.epochs, directory)
            if source is not None and (table != "1" or source.get("checkpoint")):
                done = _reuse(exp, source, directory, settings, output_dir, log)
                log(f"{head}: same configuration finished in {source['dir']}, reused")
                results.append(done)
                continue
        if max_configs is not None and trained >= max_configs:
            log(f"{head}: not started (--max_configs {max_configs} reached)")
            continue
        log(f"{head}: training {exp.model} {config.model_overrides} in {directory}")
        trained += 1
        try:
            done = _run_one(exp, config, key, directory, settings, output_dir, log)
        except (TrainingError, ValueError, OSError) as e:
            _write(os.path.join(directory, FAILED_FILE), {"error": f"{type(e).__name__}: {e}"})
            log(f"{head}: FAILED: {type(e).__name__}: {e}")
            failures.append(exp.slug)
            continue
        log(f"{head}: finished ({_summary(done)})")
        results.append(done)
    if failures:
        log(f"table {table}: {len(failures)} configuration(s) failed: {failures}")
    return results


def _summary(done: dict) -> str:
    acc = done.get("video_accuracy")
    parts = [f"video accuracy {acc:.2%}" if acc is not None else "no test split"]
    parts.append(f"{done['params'] / 1e6:.2f} M params, {done['macs'] / 1e9:.3f} G MACs")
    parts.append(f"{done['epochs']} epochs")
    return ", ".join(parts)


def _run_one(exp, config, key, directory, settings, output_dir, log) -> dict:
    import keras

    from xwisenet_tf.profiling import count_macs, count_params
    from xwisenet_tf.training import train
    from xwisenet_tf.training.config_files import read_run_config

    os.makedirs(directory, exist_ok=True)
    start = time.time()
    result = train(config)
    config = result.config  # resolved: the recipe's and the dataset's values filled in
    model = result.model
    params, macs = count_params(model), count_macs(model)
    num_classes = int(model.outputs[0].shape[-1])
    del model
    result.model = None
    keras.backend.clear_session()
    resolved = read_run_config(config.model_dir)["resolved"]
    seconds = [row["seconds"] for row in result.history if "seconds" in row]
    report = result.test_report or {}
    checkpoint = result.best_checkpoint or result.last_checkpoint
    done = {
        "version": RESULT_VERSION,
        "table": exp.table,
        "slug": exp.slug,
        "label": exp.label,
        "dir": os.path.relpath(directory, output_dir),
        "model": exp.model,
        "overrides": jsonable(config.model_overrides),
        "model_options": jsonable(settings.model_options),
        "model_spec": resolved["model_spec"],
        "fingerprint": key,
        "dataset": config.dataset,
        "dataset_options": config.dataset_options,
        "num_classes": num_classes,
        "input_shape": [config.num_frames, config.image_size, config.image_size, 3],
        "epochs": result.epochs_completed,
        "steps_per_epoch": resolved["steps_per_epoch"],
        "batch_size": config.batch_size,
        "resumed_from_epoch": result.initial_epoch,
        "video_accuracy": report.get("video_accuracy"),
        "clip_accuracy": report.get("clip_accuracy"),
        "num_test_videos": report.get("num_videos"),
        "num_test_clips": report.get("num_clips"),
        "params": params,
        "macs": macs,
        "seconds_per_epoch": sum(seconds) / len(seconds) if seconds else None,
        "train_seconds": sum(seconds),
        "wall_seconds_this_call": round(time.time() - start, 1),
        "history": os.path.relpath(os.path.join(config.model_dir, "history.csv"), output_dir),
        "checkpoint": os.path.relpath(checkpoint, output_dir) if checkpoint else None,
        "paper": _paper(exp),
        "reused_from": None,
        "versions": resolved.get("versions"),
        "finished_at": _now(),
    }
    if exp.table == "1":
        done["cosine"] = _cosine(
            checkpoint,
            resolved["prepared_dir"],
            config.batch_size,
            config.frame_stride,
            settings,
            log,
        )
    _write(os.path.join(directory, DONE_FILE), done)
    failed = os.path.join(directory, FAILED_FILE)
    if os.path.exists(failed):
        os.remove(failed)
    return done


def _reuse(exp, source: dict, directory: str, settings, output_dir, log) -> dict:
    done = {
        **source,
        "table": exp.table,
        "slug": exp.slug,
        "label": exp.label,
        "dir": os.path.relpath(directory, output_dir),
        "model": exp.model,
        "paper": _paper(exp),
        "reused_from": source["dir"],
        "finished_at": _now(),
    }
    if exp.table == "1" and "cosine" not in source:
        from xwisenet_tf.training.config_files import read_run_config

        run = read_run_config(os.path.join(output_dir, source["dir"], TRAIN_DIR))
        done["cosine"] = _cosine(
            os.path.join(output_dir, source["checkpoint"]),
            run["resolved"]["prepared_dir"],
            run["config"]["batch_size"],
            run["config"]["frame_stride"],
            settings,
            log,
        )
    os.makedirs(directory, exist_ok=True)
    _write(os.path.join(directory, DONE_FILE), done)
    return done


def _cosine(checkpoint, prepared, batch_size, frame_stride, settings: RunSettings, log) -> dict:
    import keras

    from xwisenet_tf.experiments.cosine import measure_checkpoint

    log(
        f"Table I: average frame cosine similarity of every SS block of {checkpoint} "
        f"({settings.cosine_split} clips)"
    )
    result = measure_checkpoint(
        checkpoint,
        prepared,
        settings.cosine_split,
        batch_size=batch_size,
        max_clips=settings.cosine_max_clips,
        frame_stride=frame_stride,
        reduce=settings.cosine_reduce,
    )
    keras.backend.clear_session()
    mean = result["mean"]
    log(
        f"Table I: input {mean['input']:.4f}, SS context {mean['context']:.4f}, output "
        f"{mean['output']:.4f} (mean over {len(result['blocks'])} blocks, "
        f"{result['num_clips']} clips)"
    )
    return result


def _paper(exp: Experiment) -> dict | None:
    row = exp.paper
    if row is None:
        return None
    return {
        "table": row.table,
        "accuracy": row.paper_accuracy,
        "params_m": row.paper_params_m,
        "macs_g": row.paper_macs_g,
        "num_classes": row.num_classes,
        "input_shape": list(row.input_shape),
    }


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _write(path: str, data: dict) -> None:
    from xwisenet_tf.files import write_json

    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_json(path, data)
