"""Artifacts built once per test run and shared by the pytest-xdist workers.

With ``pytest -n 2 --dist loadfile`` every worker is its own session, so a session fixture that
trains a model or writes a dataset runs once per worker that needs it, both at the same time
on a 2-core machine. `build_once` builds into the run's base temporary directory (the parent
of the workers' own ones) under a file lock: the first worker to ask builds, the others wait
for it and reuse the result. Every run starts in a new base directory, so a change of the code
under test never meets an artifact of an earlier run.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


def run_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The base temporary directory of this run, the same for every xdist worker."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    shared = root / "shared"
    shared.mkdir(exist_ok=True)
    return shared


@contextlib.contextmanager
def locked(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Path]:
    """Holds the run-wide lock ``name``; yields the shared directory."""
    root = run_root(tmp_path_factory)
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield root
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build_once(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    build: Callable[[Path], object],
    lock: str | None = None,
):
    """``build(directory)`` run once per test run; its result as JSON gives it, in every worker.

    ``directory`` (``<shared>/<name>``) is new and empty. The build holds the lock ``lock``
    (default ``name``): builds that write into one place share a lock name. A build that
    raised leaves no result behind, so the next worker to ask tries again (and fails alike).
    """
    with locked(tmp_path_factory, lock or name) as root:
        result_file = root / f"{name}.json"
        if not result_file.exists():
            directory = root / name
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir()
            partial = result_file.with_suffix(".partial")
            partial.write_text(json.dumps(build(directory)))
            partial.replace(result_file)
        return json.loads(result_file.read_text())
