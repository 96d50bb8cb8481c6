"""Fixtures of the prediction tests: the prepared synthetic dataset and the real KTH slice of
the training tests (shared, not rebuilt)."""

from __future__ import annotations

from tests.training.conftest import (  # noqa: F401 - pytest finds fixtures by name
    kth_dir,
    synthetic_data_dir,
    synthetic_prepared,
)
