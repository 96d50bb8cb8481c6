"""Helpers shared by ``train.py``, ``evaluate.py`` and ``predict.py``: flag parsing and the
one-line error contract (a user error prints ``error: <message>`` and exits with status 1)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable

from xwisenet_tf.training.errors import TrainingError


def one_line(error: BaseException) -> str:
    """The message of ``error`` on one line."""
    return " ".join(str(error).split()) or type(error).__name__


def run(fn: Callable[[], int | None]) -> int:
    """Calls ``fn``; user errors (`TrainingError`, `DataError`) become one line on stderr.

    Returns:
        ``fn``'s status (0 if it returns ``None``), 1 after a user error, 130 on Ctrl-C.
    """
    from absl import logging

    from xwisenet_tf.data import DataError

    if logging.get_verbosity() > logging.WARNING and "--verbosity" not in " ".join(sys.argv):
        logging.set_verbosity(logging.WARNING)  # TensorFlow's INFO lines drown the progress bar
    try:
        status = fn()
    except (TrainingError, DataError) as e:
        print(f"error: {one_line(e)}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr, flush=True)
        return 130
    return 0 if status is None else int(status)


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
