"""A quiet start for the command-line tools: no TensorFlow or CUDA start-up lines on stderr.

Imported first by ``train.py``, ``evaluate.py``, ``predict.py``, ``export.py`` and
``python -m xwisenet_tf.data.prepare``, before anything imports TensorFlow. Unless the user set
``TF_CPP_MIN_LOG_LEVEL`` (then their value rules and nothing is filtered), it sets it to 2 and
filters stderr while TensorFlow loads and finds its devices, dropping the start-up notices a CPU
machine prints anyway: the oneDNN notice, "Could not find cuda drivers", "failed call to cuInit",
and absl's "All log messages before absl::InitializeLog()". Every other line is written back.

Importing the module is the switch; it loads nothing heavy, and TensorFlow still loads only
when a tool first needs it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import sys
import tempfile
from collections.abc import Iterator

LOG_LEVEL_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"
DEFAULT_LOG_LEVEL = "2"  # C++ warnings and info off, errors on
# TensorFlow 2.19+ logs these while its libraries load, before it reads TF_CPP_MIN_LOG_LEVEL,
# and logs the cuInit failure (an error) at device discovery on every machine without a GPU.
NOISE = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called"
    r"|oneDNN custom operations are on"
    r"|Could not find cuda drivers on your machine"
    r"|failed call to cuInit"
    r"|This TensorFlow binary is optimized to use available CPU instructions"
    r"|rebuild TensorFlow with the appropriate compiler flags"
)


def is_noise(line: str) -> bool:
    """Whether ``line`` of stderr is one of TensorFlow's start-up notices."""
    return NOISE.search(line) is not None


@contextlib.contextmanager
def filtered_stderr() -> Iterator[None]:
    """Captures file descriptor 2 (native libraries write there) and writes back all but noise."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines = capture.read().decode("utf-8", "replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines if not is_noise(line)))
            sys.stderr.flush()


class _QuietLoader:
    """Runs TensorFlow's own loader, then its device discovery, with stderr filtered."""

    def __init__(self, loader):
        self._loader = loader

    def __getattr__(self, name: str):
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        with filtered_stderr():
            self._loader.exec_module(module)
            # Device discovery (not device set-up: logical devices can still be configured).
            module.config.list_physical_devices()


class _QuietTensorFlowFinder:
    """Finds ``tensorflow`` as Python would, once, and hands it to `_QuietLoader`."""

    def find_spec(self, name: str, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def install() -> bool:
    """Quiets TensorFlow's start-up unless the user chose a log level or it already loaded.

    Returns:
        Whether the start-up will be filtered.
    """
    if LOG_LEVEL_VARIABLE in os.environ or "tensorflow" in sys.modules:
        return False
    os.environ[LOG_LEVEL_VARIABLE] = DEFAULT_LOG_LEVEL
    if not any(isinstance(f, _QuietTensorFlowFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowFinder())
    return True


install()
