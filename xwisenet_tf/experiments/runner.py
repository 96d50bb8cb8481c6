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

import dataclasses
import datetime
import fnmatch
import glob
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from xwisenet_tf.experiments.tables import Experiment, default_image_size, experiments
from xwisenet_tf.training.errors import TrainingError

DONE_FILE = "done.json"
FAILED_FILE = "failed.json"
TRAIN_DIR = "train"
RESULT_VERSION = 1
# TrainConfig fields that do not change what is trained (left out of the fingerprint).
_NOT_IDENTITY = frozenset(
    {
        "model",
        "model_overrides",
        "model_dir",
        "data_dir",
        "epochs",
        "strategy",
        "cpu_devices",
        "evaluate_test",
        "verbose",
    }
)


class ExperimentError(TrainingError):
    """A user error of the experiment runner (bad table, option or output directory)."""


@dataclass
class RunSettings:
    """The recipe shared by every configuration of a table (flags of ``run``).

    Attributes:
        dataset: Dataset spec as for ``train.py`` (``synthetic``, ``kth:PATH``,
            ``folder:PATH``...); ``None``: ``kth`` for Table 5, an error otherwise.
        data_dir: Cache of downloads and prepared TFRecords.
        output_dir: Root of the per-configuration directories.
        epochs: Epochs per configuration.
        num_frames: Frames per clip (paper: 16).
        image_size: Clip side; ``None``: the paper's (112, and 224 for Table 5).
        recipe: ``"paper"`` (sec. IV-B, the default here: the tables reproduce the paper) or
            ``"default"`` (`xwisenet_tf.training.recipes`).
        frame_stride, batch_size, steps_per_epoch, validation_steps, learning_rate,
            weight_decay, lr_patience, seed, strategy, mixed_precision, verbose: as
            `xwisenet_tf.training.TrainConfig` (``None``: the recipe's).
        dataset_options: Options of the dataset conversion.
        model_options: Preset options applied to every configuration whose preset has them
            (e.g. ``width=0.5`` reaches XwiseNets, not 3D-ResNets); a row's own options win.
        cosine_split: Table I: split whose clips are measured.
        cosine_max_clips: Table I: at most this many clips (default all).
        cosine_reduce: Table I: ``"flatten"`` or ``"mean"`` frame features.
    """

    dataset: str | None = None
    data_dir: str = "data_cache"
    output_dir: str = "experiments"
    epochs: int = 50
    num_frames: int = 16
    image_size: int | None = None
    frame_stride: int = 1
    batch_size: int = 16
    steps_per_epoch: int | None = None
    validation_steps: int | None = None
    recipe: str = "paper"
    learning_rate: float | None = None
    weight_decay: float | None = None
    lr_patience: int = 5
    seed: int = 0
    strategy: str = "auto"
    mixed_precision: bool = False
    verbose: int | None = None
    dataset_options: dict[str, Any] = field(default_factory=dict)
    model_options: dict[str, Any] = field(default_factory=dict)
    cosine_split: str = "test"
    cosine_max_clips: int | None = None
    cosine_reduce: str = "flatten"

    def dataset_for(self, table: str) -> str:
        if self.dataset:
            kind, sep, path = self.dataset.partition(":")
            return f"{kind}:{os.path.abspath(path)}" if sep and path else self.dataset
        if table == "5":
            return "kth"
        raise ExperimentError(
            f"table {table}: give --dataset (the paper used Part-Kinetics, a 10-class Kinetics "
            "subset: folder:PATH or csv:PATH; 'synthetic' for a quick offline run)"
        )


def select(exps: list[Experiment], patterns: list[str] | None) -> list[Experiment]:
    """The configurations whose slug matches one of ``patterns`` (shell wildcards); without
    patterns, the table's default ones.

    Raises:
        ExperimentError: a pattern matching no configuration.
    """
    if not patterns:
        return [e for e in exps if e.default]
    chosen = []
    for pattern in patterns:
        matched = [e for e in exps if fnmatch.fnmatchcase(e.slug, pattern)]
        if not matched:
            raise ExperimentError(
                f"--configs {pattern!r} matches no configuration of table "
                f"{exps[0].table if exps else '?'}; its configurations: {[e.slug for e in exps]}"
            )
        chosen += [e for e in matched if e not in chosen]
    return [e for e in exps if e in chosen]


def model_overrides(exp: Experiment, options: dict[str, Any]) -> dict[str, Any]:
    """The row's overrides plus the ``options`` its preset accepts (the row's own win)."""
    from xwisenet_tf.models.presets import PRESETS

    fields = {f.name for f in dataclasses.fields(PRESETS[exp.model])}
    overrides = {k: _tuple_if_list(v) for k, v in options.items() if k in fields}
    overrides.update(exp.overrides)
    return overrides


def check_model_options(options: dict[str, Any]) -> None:
    """Every option must belong to some preset.

    Raises:
        ExperimentError: naming the unknown option and the known ones.
    """
    from xwisenet_tf.models.presets import ResNet3DSpec, XwiseNetSpec

    known = {f.name for spec in (XwiseNetSpec, ResNet3DSpec) for f in dataclasses.fields(spec)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ExperimentError(f"unknown --model_option {unknown}; expected some of {sorted(known)}")


def _tuple_if_list(value):
    if isinstance(value, str) and "," in value:
        try:
            return tuple(int(v) for v in value.split(","))
        except ValueError:
            return value
    return tuple(value) if isinstance(value, list) else value


def train_config(exp: Experiment, settings: RunSettings, model_dir: str):
    """The `TrainConfig` of one configuration."""
    from xwisenet_tf.training import TrainConfig

    return TrainConfig(
        dataset=settings.dataset_for(exp.table),
        data_dir=settings.data_dir,
        model_dir=model_dir,
        model=exp.model,
        model_overrides=model_overrides(exp, settings.model_options),
        num_frames=settings.num_frames,
        image_size=settings.image_size or default_image_size(exp.table),
        frame_stride=settings.frame_stride,
        batch_size=settings.batch_size,
        epochs=settings.epochs,
        steps_per_epoch=settings.steps_per_epoch,
        validation_steps=settings.validation_steps,
        recipe=settings.recipe,
        learning_rate=settings.learning_rate,
        weight_decay=settings.weight_decay,
        lr_patience=settings.lr_patience,
        seed=settings.seed,
        strategy=settings.strategy,
        mixed_precision=settings.mixed_precision,
        dataset_options=dict(settings.dataset_options),
        evaluate_test=True,
        verbose=settings.verbose,
    )


def fingerprint(config) -> str:
    """What identifies a trained configuration: the resolved model spec and every training
    setting except the epoch count, paths and the device strategy."""
    from xwisenet_tf.models.presets import resolve_spec
    from xwisenet_tf.training.recipe import json_safe

    spec = resolve_spec(config.model, **dict(config.model_overrides))
    identity = {k: v for k, v in config.to_dict().items() if k not in _NOT_IDENTITY}
    identity["spec"] = [type(spec).__name__, json_safe(dataclasses.asdict(spec))]
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def config_dir(output_dir: str, exp: Experiment) -> str:
    """``output_dir/table<k>/<slug>``."""
    return os.path.join(os.path.abspath(output_dir), f"table{exp.table}", exp.slug)


def read_done(directory: str) -> dict | None:
    """The ``done.json`` of a configuration directory, or ``None``."""
    path = os.path.join(directory, DONE_FILE)
    if not os.path.isfile(path):
        return None
    from xwisenet_tf.training.config import read_json

    return read_json(path, "the results of a finished configuration")


def status(exp: Experiment, settings: RunSettings) -> str:
    """``"done"``, ``"partial"`` (started, resumable), ``"failed"`` or ``"pending"``."""
    directory = config_dir(settings.output_dir, exp)
    done = read_done(directory)
    if done and done.get("epochs", 0) >= settings.epochs:
        return "done"
    if os.path.isfile(os.path.join(directory, FAILED_FILE)):
        return "failed"
    if os.path.isdir(os.path.join(directory, TRAIN_DIR)):
        return "partial"
    return "pending"


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
    from xwisenet_tf.training.config import read_run_config

    os.makedirs(directory, exist_ok=True)
    start = time.time()
    result = train(config)
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
        "overrides": _jsonable(config.model_overrides),
        "model_options": _jsonable(settings.model_options),
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
        from xwisenet_tf.training.config import read_run_config

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


def _jsonable(value):
    return json.loads(json.dumps(value, default=list))


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _write(path: str, data: dict) -> None:
    from xwisenet_tf.files import write_json

    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_json(path, data)


def plan(table: str, settings: RunSettings, configs: list[str] | None = None) -> list[dict]:
    """What ``run`` would do: per configuration its slug, directory and `status`."""
    check_model_options(settings.model_options)
    rows = []
    for exp in select(experiments(table), configs):
        directory = config_dir(settings.output_dir, exp)
        config = train_config(exp, settings, os.path.join(directory, TRAIN_DIR))
        rows.append(
            {
                "slug": exp.slug,
                "label": exp.label,
                "model": exp.model,
                "overrides": _jsonable(config.model_overrides),
                "dir": directory,
                "status": status(exp, settings),
                "fingerprint": fingerprint(config),
            }
        )
    return rows
