"""A dataset cache shared by several processes: `ensure_dataset` under a lock file."""

from __future__ import annotations

import contextlib
import os

from xwisenet_tf.data.convert import ensure_dataset
from xwisenet_tf.data.dataset_kinds import PREPARED

LOCK_FILE = ".prepare.lock"


def prepare_data(dataset: str, data_dir: str, options: dict | None = None) -> str:
    """`ensure_dataset` under a lock file in ``data_dir``.

    Several processes (workers of one machine, runs sharing a cache) may start at once; the
    first converts, the others wait and then reuse the result.

    A ``prepared:PATH`` dataset converts nothing: it needs neither the lock nor ``data_dir``.

    Returns:
        The prepared directory, as `ensure_dataset` returns it.
    """
    if dataset.partition(":")[0] == PREPARED:
        return ensure_dataset(dataset, data_dir, **dict(options or {}))
    os.makedirs(data_dir, exist_ok=True)
    with open(os.path.join(data_dir, LOCK_FILE), "a+") as lock:
        with contextlib.suppress(ImportError):
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
        return ensure_dataset(dataset, data_dir, **dict(options or {}))
