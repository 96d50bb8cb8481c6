"""`RunSettings`: the recipe shared by every configuration of a table, as a `TrainConfig`
template, and the options of ``python -m xwisenet_tf.experiments`` generated from its fields.

Every `TrainConfig` field is an option of the runner (its default, help and choices declared
once, in `xwisenet_tf.training.config`), but those each configuration sets itself
(`PER_CONFIGURATION`); the fields that only change how a run goes are options of ``run`` alone
(`RUN_ONLY`); `RUNNER_DEFAULTS` are the runner's own defaults (the paper's tables: the paper's
recipe, 50 epochs, no default dataset) with their help.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from dataclasses import dataclass
from typing import Any

from xwisenet_tf.settings import add_argument, documented, flag_fields, flag_values, setting
from xwisenet_tf.training.config import TrainConfig
from xwisenet_tf.training.errors import TrainingError

# TrainConfig fields every configuration sets itself (its preset and options, its directory, the
# test evaluation its result needs) or that fit no whole table (one checkpoint to fine-tune).
PER_CONFIGURATION = ("model", "model_overrides", "model_dir", "evaluate_test", "init_checkpoint")
# Fields that change how a run goes, not what it trains: options of `run` only.
RUN_ONLY = ("strategy", "cpu_devices", "mixed_precision", "data_service", "verbose")
# The runner's defaults, and their help, where they differ from train.py's.
RUNNER_DEFAULTS: dict[str, tuple[Any, str]] = {
    "dataset": (
        None,
        "synthetic | kth | kth:PATH | folder:PATH | csv:PATH | prepared:PATH (default: kth for "
        "table 5; "
        "required otherwise; the paper used Part-Kinetics, a Kinetics subset)",
    ),
    "image_size": (None, "clip side (default: the paper's, 112; 224 table 5)"),
    "epochs": (50, "epochs per configuration"),
    "recipe": ("paper", "training recipe (default: the paper's, sec. IV-B)"),
}


class ExperimentError(TrainingError):
    """A user error of the experiment runner (bad table, option or output directory)."""


def shared_fields(config_cls=TrainConfig) -> list[dataclasses.Field]:
    """The fields of ``config_cls`` (a `TrainConfig`) that are options of the runner."""
    return [f for f in flag_fields(config_cls) if f.name not in PER_CONFIGURATION]


def runner_template() -> TrainConfig:
    """`TrainConfig` with the runner's defaults (`RUNNER_DEFAULTS`): every configuration's start."""
    return TrainConfig(**{name: value for name, (value, _) in RUNNER_DEFAULTS.items()})


@documented
@dataclass(init=False)
class RunSettings:
    """The recipe shared by every configuration of a table (the options of ``run``).

    ``RunSettings(dataset="synthetic", epochs=3, output_dir="out")``: keywords naming a
    `TrainConfig` field set the template (`runner_template` otherwise), the others the fields
    below; ``RunSettings(train=TrainConfig(...), ...)`` gives the template whole. A
    `TrainConfig` field reads the template: ``settings.epochs`` is ``settings.train.epochs``.
    Each field below but ``train`` is an option of the runner (`add_runner_options`).
    """

    train: TrainConfig = setting(
        help="The TrainConfig every configuration starts from (train_config sets its preset, "
        "options and directory with dataclasses.replace). Its dataset may be None "
        "(dataset_for), its image_size None (the paper's for the table).",
        flag=None,
        default_factory=runner_template,
    )
    output_dir: str = setting("experiments", "root of the configuration dirs")
    model_options: dict[str, Any] = setting(
        help="preset option for every configuration whose preset has it (repeatable), "
        "e.g. width=0.5 or stage_repeats=1,2,1; a row's own options win",
        flag="model_option",
        default_factory=dict,
    )
    cosine_split: str = setting("test", "table 1: split of the clips")
    cosine_max_clips: int | None = setting(None, "table 1: at most N clips")
    cosine_reduce: str = setting(
        "flatten",
        "table 1: a frame's feature is its flattened HxWxC map or its HxW mean",
        choices=("flatten", "mean"),
    )

    def __init__(self, train: TrainConfig | None = None, **values: Any):
        own = {f.name: f for f in dataclasses.fields(self) if f.name != "train"}
        shared = {f.name for f in shared_fields()}
        unknown = sorted(set(values) - set(own) - shared)
        if unknown:
            raise TypeError(f"RunSettings got unexpected keyword arguments {unknown}")
        template = runner_template() if train is None else train
        changes = {k: v for k, v in values.items() if k in shared}
        self.train = dataclasses.replace(template, **changes) if changes else template
        for name, f in own.items():
            if name in values:
                setattr(self, name, values[name])
            elif f.default_factory is not dataclasses.MISSING:
                setattr(self, name, f.default_factory())
            else:
                setattr(self, name, f.default)

    def __getattr__(self, name: str):
        if name != "train" and name in _TRAIN_FIELDS:
            return getattr(self.train, name)
        raise AttributeError(f"'RunSettings' object has no attribute {name!r}")

    def dataset_for(self, table: str) -> str:
        """The dataset of ``table``'s configurations (a path made absolute).

        Raises:
            ExperimentError: no dataset given for a table other than 5 (KTH).
        """
        dataset = self.train.dataset
        if dataset:
            kind, sep, path = dataset.partition(":")
            return f"{kind}:{os.path.abspath(path)}" if sep and path else dataset
        if table == "5":
            return "kth"
        raise ExperimentError(
            f"table {table}: give --dataset (the paper used Part-Kinetics, a 10-class Kinetics "
            "subset: folder:PATH, csv:PATH or prepared:PATH; 'synthetic' for a quick offline run)"
        )


_TRAIN_FIELDS = frozenset(f.name for f in dataclasses.fields(TrainConfig))


def add_train_options(parser: argparse.ArgumentParser, run: bool, config_cls=TrainConfig) -> None:
    """One option per shared field of ``config_cls`` (`shared_fields`; those of `RUN_ONLY`
    only if ``run``), with the field's type, choices, default and help (`RUNNER_DEFAULTS`
    where the runner's differ)."""
    for f in shared_fields(config_cls):
        if f.name in RUN_ONLY and not run:
            continue
        default, text = RUNNER_DEFAULTS.get(f.name, (dataclasses.MISSING, None))
        add_argument(parser, f, default, text)


def add_runner_options(parser: argparse.ArgumentParser, command: str) -> None:
    """The options of `RunSettings`' own fields: ``--output_dir`` (required but by ``cost``),
    ``--model_option``, and the Table I options of ``run``."""
    fields = {f.name: f for f in flag_fields(RunSettings)}
    add_argument(parser, fields["output_dir"], None, required=command != "cost")
    add_argument(parser, fields["model_options"])
    if command == "run":
        for name in ("cosine_split", "cosine_max_clips", "cosine_reduce"):
            add_argument(parser, fields[name])


def settings_from_args(args: argparse.Namespace) -> RunSettings:
    """The `RunSettings` of parsed options (`add_train_options`, `add_runner_options`)."""
    from xwisenet_tf.training.cli import parse_options

    values = flag_values(TrainConfig, args, parse_options, skip=PER_CONFIGURATION)
    values.update(flag_values(RunSettings, args, parse_options))
    return RunSettings(**values)
