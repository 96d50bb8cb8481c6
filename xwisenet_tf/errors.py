"""The one root of the package's errors, and what a command line does with them.

Every error a user can act on (a bad option, a missing or unreadable file, data or a model that
is not what was expected, a failed export) derives from `XwiseNetError`: `TrainingError`
(`xwisenet_tf.training`), `DataError` (`xwisenet_tf.data`), `ExportError`
(`xwisenet_tf.export`), `WeightImportError` (`xwisenet_tf.weights`). The command-line tools
print such an error as one line ``error: <message>`` on stderr and exit with `EXIT_ERROR`
(docs/architecture.md, "Command lines: errors and exit status").

This module imports nothing, so every layer can import it.
"""

from __future__ import annotations

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
