"""One declaration per setting: a dataclass field carries its default, help, choices and flag name;
the command lines' options are generated from it.

    from xwisenet_tf.settings import setting

    @dataclass
    class TrainConfig:
        seed: int = setting(0, "Seed of weights, holdout, shuffling and augmentation.")

`define_absl_flags` turns such a dataclass into absl flags (``train.py``, ``export.py``),
`add_argument` turns one field into an argparse option (the experiment runner), and
`flag_values` reads the parsed flags back into the dataclass's keyword arguments. The type of a
flag follows the field's annotation: ``int``, ``float``, ``bool``, ``str`` (an enum flag when the
field has ``choices``) or ``dict`` (a repeatable ``KEY=VALUE`` flag). `documented` writes the
fields' help into the class docstring's ``Attributes:`` section.

This module imports nothing of the package and no TensorFlow, so a command line can define its
flags before TensorFlow loads.
"""

from __future__ import annotations

import argparse
import dataclasses
import textwrap
from collections.abc import Callable, Iterable
from typing import Any

HELP = "help"  # the flag's help (one or two sentences)
DOC = "doc"  # the docstring's longer description, when the help says less
CHOICES = "choices"  # the allowed values (checked by the dataclass's validation)
ENUM = "enum"  # whether the command line lists the choices (an enum flag); default True
FLAG = "flag"  # the flag's name when it differs from the field's; None: no flag
KINDS = ("int", "float", "bool", "str", "dict")


def setting(
    default: Any = dataclasses.MISSING,
    help: str = "",  # noqa: A002 - the flag's help, named as absl and argparse name it
    *,
    doc: str | None = None,
    choices: Iterable | None = None,
    enum: bool = True,
    flag: str | None = "",
    default_factory: Callable[[], Any] | Any = dataclasses.MISSING,
) -> Any:
    """A dataclass field declaring one setting and its command-line flag.

    Args:
        default: The field's default (leave out for a required field).
        help: The flag's help text.
        doc: A longer description for the class docstring (default: ``help``).
        choices: The allowed values; the dataclass checks them (`check_choices`) and, with
            ``enum=True``, the flag lists them (absl enum flag, argparse ``choices``).
        enum: ``False`` to leave the choices out of the flag (its value is checked with the
            dataclass's own message instead of the flag parser's).
        flag: The flag's name (default: the field's); ``None``: the field has no flag.
        default_factory: As `dataclasses.field`.
    """
    allowed = tuple(choices) if choices else None
    metadata = {HELP: help, DOC: doc, CHOICES: allowed, ENUM: enum, FLAG: flag}
    return dataclasses.field(default=default, default_factory=default_factory, metadata=metadata)


def flag_name(field: dataclasses.Field) -> str | None:
    """The command-line name of ``field`` (``None``: it has no flag)."""
    name = field.metadata.get(FLAG, "")
    return field.name if name == "" else name


def flag_fields(cls) -> list[dataclasses.Field]:
    """The fields of dataclass ``cls`` that have a flag, in declaration order."""
    return [f for f in dataclasses.fields(cls) if flag_name(f) is not None]


def kind(field: dataclasses.Field) -> str:
    """``"int"``, ``"float"``, ``"bool"``, ``"str"`` or ``"dict"``: the field's annotation without
    ``| None`` (a string, as ``from __future__ import annotations`` leaves it)."""
    annotation = field.type
    if not isinstance(annotation, str):  # a type, as `dataclasses.make_dataclass` leaves it
        annotation = getattr(annotation, "__name__", str(annotation))
    base = annotation.replace(" | None", "").replace("None | ", "").strip()
    base = "dict" if base.startswith("dict") else base
    if base not in KINDS:
        raise TypeError(f"{field.name}: a setting is one of {KINDS}; received {annotation!r}")
    return base


def field_default(field: dataclasses.Field) -> Any:
    """The field's default value (its factory's value for a mutable default)."""
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None if field.default is dataclasses.MISSING else field.default


def choices(field: dataclasses.Field) -> tuple | None:
    """The field's allowed values, or ``None``."""
    return field.metadata.get(CHOICES)


def help_text(field: dataclasses.Field) -> str:
    """The field's flag help."""
    return field.metadata.get(HELP, "")


def check_choices(instance, error: Callable[[str], Exception]) -> None:
    """Raises ``error("unknown <field> <value>; expected one of [...]")`` for the first field of
    ``instance`` whose value (not ``None``) is not one of its ``choices``."""
    for field in dataclasses.fields(instance):
        allowed = choices(field)
        value = getattr(instance, field.name)
        if allowed is not None and value is not None and value not in allowed:
            raise error(f"unknown {field.name} {value!r}; expected one of {list(allowed)}")


def documented(cls):
    """Class decorator: appends an ``Attributes:`` section, one entry per field (its ``doc``, else
    its ``help``), to the docstring of dataclass ``cls``."""
    lines = ["", "    Attributes:"]
    for field in dataclasses.fields(cls):
        text = f"{field.name}: {field.metadata.get(DOC) or help_text(field)}"
        lines.append(textwrap.fill(text, 96, initial_indent=" " * 8, subsequent_indent=" " * 12))
    cls.__doc__ = (cls.__doc__ or "").rstrip() + "\n" + "\n".join(lines) + "\n"
    return cls


def define_absl_flags(cls, skip: Iterable[str] = (), flag_values=None) -> None:
    """Defines an absl flag for every field of ``cls`` with a flag (but those in ``skip``), with
    the field's default, help and (for a string) choices.

    The flags belong to the module that calls this function (its ``--help`` lists them).

    Args:
        cls: The dataclass.
        skip: Field names to leave out.
        flag_values: An ``absl.flags.FlagValues`` (default: ``absl.flags.FLAGS``).
    """
    from absl import flags

    flags.disclaim_key_flags()  # the caller's module owns the flags this module defines
    for field in flag_fields(cls):
        if field.name in skip:
            continue
        name, text, value = flag_name(field), help_text(field), field_default(field)
        enum_values = choices(field) if field.metadata.get(ENUM, True) else None
        define_absl_flag(kind(field), name, value, text, enum_values, flag_values)


def define_absl_flag(flag_kind, name, value, text, enum_values=None, flag_values=None) -> None:
    """One absl flag of kind ``flag_kind`` (`KINDS`, or ``"list"``: comma-separated values); a
    string flag with ``enum_values`` is an enum flag."""
    from absl import flags

    flags.disclaim_key_flags()
    values = flags.FLAGS if flag_values is None else flag_values
    if flag_kind == "str" and enum_values is not None:
        flags.DEFINE_enum(name, value, list(enum_values), text, flag_values=values)
    elif flag_kind == "dict":
        flags.DEFINE_multi_string(name, [], text, flag_values=values)
    else:
        define = {
            "int": flags.DEFINE_integer,
            "float": flags.DEFINE_float,
            "bool": flags.DEFINE_bool,
            "str": flags.DEFINE_string,
            "list": flags.DEFINE_list,
        }[flag_kind]
        define(name, value, text, flag_values=values)


def add_argument(
    parser: argparse.ArgumentParser,
    field: dataclasses.Field,
    default: Any = dataclasses.MISSING,
    help: str | None = None,  # noqa: A002
    **extra: Any,
) -> None:
    """An argparse option ``--<flag name>`` for ``field`` (default and help: the field's unless
    given; ``extra``: more keywords of ``add_argument``, e.g. ``required``). A ``dict`` field is
    a repeatable ``KEY=VALUE`` option (a list of strings)."""
    name = flag_name(field)
    value = field_default(field) if default is dataclasses.MISSING else default
    options: dict[str, Any] = {"help": help_text(field) if help is None else help}
    flag_kind = kind(field)
    if flag_kind == "dict":
        options.update(action="append", default=[], metavar="KEY=VALUE")
    elif flag_kind == "bool":
        options.update(action=argparse.BooleanOptionalAction if value else "store_true")
        options["default"] = bool(value)
    else:
        options.update(type={"int": int, "float": float, "str": str}[flag_kind], default=value)
        allowed = choices(field)
        if allowed is not None and field.metadata.get(ENUM, True):
            options["choices"] = allowed
    parser.add_argument(f"--{name}", dest=field.name, **options, **extra)


def flag_values(
    cls,
    values: Any,
    parse_options: Callable[[list[str], str], dict] | None = None,
    skip: Iterable[str] = (),
) -> dict[str, Any]:
    """The keyword arguments of ``cls`` read from parsed flags.

    Args:
        cls: The dataclass.
        values: The parsed flags: ``absl.flags.FLAGS`` (read by flag name) or an
            ``argparse.Namespace`` (read by field name, as `add_argument` stores them).
        parse_options: Turns a ``dict`` field's ``["KEY=VALUE", ...]`` into a dict (its second
            argument is the flag's name, for the error message); needed if ``cls`` has one.
        skip: Field names to leave out.
    """
    result = {}
    for field in flag_fields(cls):
        if field.name in skip:
            continue
        name = flag_name(field)
        if isinstance(values, argparse.Namespace):
            if not hasattr(values, field.name):
                continue
            value = getattr(values, field.name)
        else:
            value = getattr(values, name)
        result[field.name] = parse_options(value, name) if kind(field) == "dict" else value
    return result
