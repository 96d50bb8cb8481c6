"""The one root of the package's errors, and what a command line does with them.

Every error a user can act on (a bad option, a missing or unreadable file, data or a model that
is not what was expected, a failed export) derives from `XwiseNetError`: `TrainingError`
(`xwisenet_tf.training`), `DataError` (`xwisenet_tf.data`), `ExportError`
(`xwisenet_tf.export`), `WeightImportError` (`xwisenet_tf.weights`). The command-line tools
print such an error as one line ``error: <message>`` on stderr and exit with `EXIT_ERROR`
through `run_command` (docs/architecture.md, "Command lines: errors and exit status").

This module imports nothing of the package, so every layer can import it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

EXIT_OK = 0
EXIT_PARTIAL = 1  # the command ran, but some of its inputs failed (listed on stderr)
EXIT_ERROR = 2  # the command could not do what was asked: bad option, input or file
EXIT_INTERRUPTED = 130  # Ctrl-C


class XwiseNetError(ValueError):
    """An option, file, dataset or model the user can fix.

    The message is one line that names the file or value at fault and what was expected, so a
    command line can print it instead of a traceback.
    """


def one_line(error: BaseException) -> str:
    """The message of ``error`` on one line (its type's name when it has none)."""
    return " ".join(str(error).split()) or type(error).__name__


def print_error(message: str) -> None:
    """Prints ``error: <message>`` (on one line) on stderr."""
    print(f"error: {' '.join(str(message).split())}", file=sys.stderr, flush=True)


def usage_error(message: str) -> None:
    """Reports a bad command line (`print_error`) and exits with `EXIT_ERROR`."""
    print_error(message)
    sys.exit(EXIT_ERROR)


def run_command(fn: Callable[[], int | None]) -> int:
    """Runs a command line's work; the one place its errors become an exit status.

    Returns:
        ``fn``'s status (`EXIT_OK` when it returns ``None``; `EXIT_PARTIAL` when it says some
        inputs failed), `EXIT_ERROR` after an `XwiseNetError` (printed as one line
        ``error: <message>``), `EXIT_INTERRUPTED` on Ctrl-C.
    """
    try:
        status = fn()
    except XwiseNetError as e:
        print_error(one_line(e))
        return EXIT_ERROR
    except KeyboardInterrupt:
        print_error("interrupted")
        return EXIT_INTERRUPTED
    return EXIT_OK if status is None else int(status)


def parse_flags(argv: list[str]) -> list[str]:
    """absl's flag parsing for ``app.run(main, flags_parser=parse_flags)``: a bad flag (unknown,
    or a value of the wrong type) is one line ``error: <message>`` and exit status 2; ``--help``
    (``--helpfull``, ``--helpshort``, ``--helpxml``) prints the help and exits with `EXIT_OK`."""
    from absl import flags

    try:
        return flags.FLAGS(argv)
    except flags.Error as e:
        usage_error(f"{one_line(e)} (see --help)")
        raise  # not reached: usage_error exits
    except SystemExit as e:
        # absl's help flags print the help and exit with status 1 while they are parsed (the
        # only exit during parsing); the help asked for is done: status 0.
        if e.code == 1:
            sys.exit(EXIT_OK)
        raise


class ArgumentParser(argparse.ArgumentParser):
    """`argparse.ArgumentParser` whose usage error is `usage_error`'s one line (status 2).

    Its sub-command parsers (``add_subparsers``) are of this class too.
    """

    def error(self, message: str):
        usage_error(f"{message} (see --help)")
