"""Helpers shared by ``train.py``, ``evaluate.py`` and ``predict.py``: ``train.py``'s flags
(generated from `TrainConfig`), flag parsing and the one-line error contract
(`xwisenet_tf.errors.run_command`: a user error prints ``error: <message>`` and exits with
status 2; docs/architecture.md)."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Iterable

from xwisenet_tf.errors import (  # noqa: F401 - parse_flags, one_line: used by the scripts
    one_line,
    parse_flags,
    run_command,
)
from xwisenet_tf.settings import define_absl_flag, define_absl_flags
from xwisenet_tf.settings import flag_values as flag_values_of
from xwisenet_tf.training.config import TrainConfig
from xwisenet_tf.training.errors import TrainingError

# train.py's model flags from before --model_option, kept as its aliases (documented commands
# use them): flag (= the preset option it sets) -> (kind of absl flag, help). Each is an option of
# a spec in `xwisenet_tf.models.presets` (a test checks it).
MODEL_FLAGS = {  # in the order their options were always collected (a run's config.json)
    "conv_type": ("str", "Convolution: traditional | st | dw | xwise."),
    "block_position": ("str", "before_shuffle | after_shuffle | after_pointwise (XwiseNet)."),
    "context_pooling": ("str", "SS pooling: channel | temporal | channel_temporal."),
    "block": ("str", "Context block: ss | gc | se | cbam | none."),
    "block_stages": ("list", "Stages with context blocks, e.g. 2,3,4 (XwiseNet)."),
    "stage_repeats": ("list", "Units in stages 2,3,4, e.g. 4,8,4 (XwiseNet)."),
    "temporal_strides": ("list", "Temporal strides of stem pool and stages 2-4."),
    "width": ("float", "Width multiplier: 0.5 | 1.0 | 1.5 | 2.0 (XwiseNet)."),
    "dropout": ("float", "Dropout before the classifier."),
    "causal": (
        "bool",
        "Causal temporal kernels (past frames only), so the model runs frame by frame "
        "(xwisenet_tf.streaming; the xwisenet-stream preset is xwisenet with --causal).",
    ),
    "stochastic_depth": (
        "float",
        "Stochastic depth (XwiseNet): the last Same Unit skips its branch in training with this "
        "probability, 0 at the first, linear in between.",
    ),
}


def run(fn: Callable[[], int | None]) -> int:
    """Calls ``fn`` through `xwisenet_tf.errors.run_command`, TensorFlow's INFO lines muted.

    Returns:
        ``fn``'s status (0 if it returns ``None``), 2 after a user error (any
        `XwiseNetError`: `TrainingError`, `DataError`, `ExportError`...), 130 on Ctrl-C.
    """
    from absl import logging

    if logging.get_verbosity() > logging.WARNING and "--verbosity" not in " ".join(sys.argv):
        logging.set_verbosity(logging.WARNING)  # TensorFlow's INFO lines drown the progress bar
    return run_command(fn)


def check_no_arguments(argv: list[str]) -> None:
    """absl leaves positional arguments in ``argv``; the tools take none."""
    if len(argv) > 1:
        raise TrainingError(f"unexpected arguments {argv[1:]}; every option is a --flag")


def parse_ints(values: Iterable[str] | None, name: str) -> tuple[int, ...] | None:
    """``["1", "2"]`` -> ``(1, 2)``; ``None``/empty -> ``None``."""
    if not values:
        return None
    try:
        return tuple(int(v) for v in values)
    except ValueError as e:
        raise TrainingError(
            f"--{name} must be comma-separated integers; received {','.join(values)}"
        ) from e


def parse_options(items: Iterable[str], name: str) -> dict:
    """``["k=v", ...]`` -> dict; values parsed as JSON when possible (numbers, true/false)."""
    options = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise TrainingError(f"--{name} expects KEY=VALUE; received {item!r}")
        try:
            options[key] = json.loads(raw)
        except json.JSONDecodeError:
            options[key] = raw
    return options


def define_train_flags(flag_values=None) -> None:
    """The flags of ``train.py``: one per `TrainConfig` field (`xwisenet_tf.settings`), and the
    aliases of ``--model_option`` in `MODEL_FLAGS`, in ``flag_values`` (default
    ``absl.flags.FLAGS``). They belong to the calling module."""
    from absl import flags

    flags.disclaim_key_flags()  # the flags are the caller's (train.py's --help lists them)
    define_absl_flags(TrainConfig, flag_values=flag_values)
    for name, (kind, text) in MODEL_FLAGS.items():
        define_absl_flag(kind, name, None, text, flag_values=flag_values)


def train_config(flag_values) -> TrainConfig:
    """The `TrainConfig` of the parsed flags of `define_train_flags`."""
    values = flag_values_of(TrainConfig, flag_values, parse_options, skip=("model_overrides",))
    return TrainConfig(**values, model_overrides=model_overrides(flag_values))


def model_overrides(flag_values) -> dict:
    """The preset options of the command line (``--model_option KEY=VALUE`` and the aliases of
    `MODEL_FLAGS`), as values of the preset's spec (`preset_option`); options left unset keep
    the preset's value.

    Raises:
        TrainingError: an item without ``=``, an option given twice, a bad list of integers.
    """
    options: dict = {}
    for item in flag_values.model_option or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise TrainingError(f"--model_option expects KEY=VALUE; received {item!r}")
        if key in options:
            raise TrainingError(f"--model_option {key} is given twice")
        options[key] = preset_option(flag_values.model, key, raw, f"model_option {key}")
    for name in MODEL_FLAGS:
        raw = getattr(flag_values, name, None)
        if raw is None or raw == []:  # unset (or an empty list: as unset, as before)
            continue
        if name in options:
            raise TrainingError(
                f"--{name} and --model_option {name} both set {name}; give one of them"
            )
        options[name] = preset_option(flag_values.model, name, raw, name)
    return options


def preset_option(model: str, key: str, value, flag: str):
    """``value`` (a flag's string, list of strings, or a parsed number) as option ``key`` of
    preset ``model``: a tuple of integers where the preset's value is a tuple (``"1,2,1"`` or
    ``["1", "2", "1"]``; ``none``: empty), ``None`` for ``none``, a number for a number (JSON),
    else the string. The preset's spec checks the result (`resolve_spec`).

    Raises:
        TrainingError: not a comma-separated list of integers where one is expected (naming
            ``--<flag>``).
    """
    from xwisenet_tf.models.presets import PRESETS

    spec = PRESETS.get(model or "xwisenet")  # unset: an XwiseNet (`TrainConfig.model`)
    fields = {f.name: f for f in dataclasses.fields(spec)} if spec is not None else {}
    expects_tuple = key in fields and isinstance(getattr(spec, key), tuple)
    if isinstance(value, (list, tuple)) or expects_tuple:
        items = value.split(",") if isinstance(value, str) else [str(v) for v in value]
        items = [v.strip() for v in items if v.strip()]
        if [v.lower() for v in items] in ([], ["none"]):
            return ()
        return parse_ints(items, flag)
    if not isinstance(value, str):
        return value
    if value.lower() == "none":
        return None
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        parsed = value
    if isinstance(parsed, list):
        return tuple(parsed)
    if isinstance(parsed, str) and "," in parsed and key not in fields:
        try:
            return tuple(int(v) for v in parsed.split(","))
        except ValueError:
            return parsed
    return parsed
