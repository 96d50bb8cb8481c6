"""The configurations of a table: which ones (`select`), their `TrainConfig` (`train_config`:
the `RunSettings` template with the row's preset and options), what identifies a trained one
(`fingerprint`), where each lives (`config_dir`) and how far it is (`status`, `plan`)."""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import json
import os
from typing import Any

from xwisenet_tf.experiments.run_settings import ExperimentError, RunSettings
from xwisenet_tf.experiments.tables import Experiment, default_image_size, experiments
from xwisenet_tf.training.config import TrainConfig

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
        "data_service",
        "evaluate_test",
        "verbose",
    }
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
    from xwisenet_tf.training.cli import preset_option

    fields = {f.name for f in dataclasses.fields(PRESETS[exp.model])}
    overrides = {
        k: preset_option(exp.model, k, v, f"model_option {k}")
        for k, v in options.items()
        if k in fields
    }
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


def train_config(exp: Experiment, settings: RunSettings, model_dir: str) -> TrainConfig:
    """The `TrainConfig` of one configuration: ``settings.train`` with the row's preset and
    options, its directory, its dataset and clip size, and the test evaluation."""
    template = settings.train
    return dataclasses.replace(
        template,
        dataset=settings.dataset_for(exp.table),
        model_dir=model_dir,
        model=exp.model,
        model_overrides=model_overrides(exp, settings.model_options),
        image_size=template.image_size or default_image_size(exp.table),
        dataset_options=dict(template.dataset_options),
        evaluate_test=True,
    )


# Spec fields added after results were first recorded: left out at their default value, so
# that results trained before the field existed keep their fingerprint.
_LATER_SPEC_FIELDS = {"causal": False}


def fingerprint(config) -> str:
    """What identifies a trained configuration: the resolved model spec and every training
    setting except the epoch count, paths and the device strategy."""
    from xwisenet_tf.models.presets import resolve_spec
    from xwisenet_tf.training.recipe import json_safe

    spec = resolve_spec(config.model, **dict(config.model_overrides))
    identity = {k: v for k, v in config.to_dict().items() if k not in _NOT_IDENTITY}
    fields = {
        k: v
        for k, v in dataclasses.asdict(spec).items()
        if not (k in _LATER_SPEC_FIELDS and v == _LATER_SPEC_FIELDS[k])
    }
    identity["spec"] = [type(spec).__name__, json_safe(fields)]
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
    from xwisenet_tf.training.config_files import read_json

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
                "overrides": jsonable(config.model_overrides),
                "dir": directory,
                "status": status(exp, settings),
                "fingerprint": fingerprint(config),
            }
        )
    return rows


def jsonable(value):
    """``value`` as JSON reads it back (tuples -> lists)."""
    return json.loads(json.dumps(value, default=list))
