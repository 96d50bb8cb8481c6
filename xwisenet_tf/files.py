"""Atomic writes: an existing output is replaced whole or left as it was, never half-written.

The package's one `write_json` (checkpoint sidecars, run configs, manifests, reports,
benchmark results) and the writers of the export's models. Imports nothing of the package, so
every layer can use it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable


def _tmp_name(path: str) -> str:
    return f"{path}.tmp{os.getpid()}"


def write_bytes(path: str | os.PathLike, content: bytes) -> str:
    """Writes ``content`` to a temporary file beside ``path``, then renames it over ``path``."""
    path = os.fspath(path)
    tmp = _tmp_name(path)
    try:
        with open(tmp, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    return path


def write_text(path: str | os.PathLike, text: str) -> str:
    """`write_bytes` of UTF-8 text."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, data) -> str:
    """`write_bytes` of JSON (indent 1, keys in insertion order, a final newline)."""
    return write_text(path, json.dumps(data, indent=1) + "\n")


def write_directory(path: str | os.PathLike, fill: Callable[[str], None]) -> str:
    """Builds a directory with ``fill(tmp_dir)`` beside ``path``, then swaps it in.

    An existing ``path`` is moved aside only once the new directory is complete, and deleted
    after the new one took its place; if ``fill`` fails, ``path`` is untouched.
    """
    path = os.path.normpath(os.fspath(path))
    tmp = _tmp_name(path)
    old = f"{path}.old{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        fill(tmp)
        if os.path.lexists(path):
            os.replace(path, old)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if os.path.lexists(old) and not os.path.lexists(path):
            os.replace(old, path)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return path


def directory_size(path: str | os.PathLike) -> int:
    """Total bytes of the files under ``path``."""
    total = 0
    for root, _, files in os.walk(os.fspath(path)):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total
