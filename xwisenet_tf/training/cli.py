"""Helpers shared by ``train.py``, ``evaluate.py`` and ``predict.py``: flag parsing and the
one-line error contract (`xwisenet_tf.errors.run_command`: a user error prints
``error: <message>`` and exits with status 2; docs/architecture.md)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable

from xwisenet_tf.errors import (  # noqa: F401 - parse_flags, one_line: used by the scripts
    one_line,
    parse_flags,
    run_command,
)
from xwisenet_tf.training.errors import TrainingError


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


def model_overrides(flag_values) -> dict:
    """The model options given on the command line (unset flags keep the preset's value)."""
    overrides: dict = {}
    for name in ("conv_type", "block_position", "context_pooling"):
        if getattr(flag_values, name) is not None:
            overrides[name] = getattr(flag_values, name)
    if flag_values.block is not None:
        overrides["block"] = None if flag_values.block.lower() == "none" else flag_values.block
    for name in ("block_stages", "stage_repeats", "temporal_strides"):
        raw = getattr(flag_values, name)
        if name == "block_stages" and raw and [v.lower() for v in raw] == ["none"]:
            overrides[name] = ()
            continue
        value = parse_ints(raw, name)
        if value is not None:
            overrides[name] = value
    for name in ("width", "dropout"):
        if getattr(flag_values, name) is not None:
            overrides[name] = getattr(flag_values, name)
    return overrides
