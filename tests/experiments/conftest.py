"""Fixtures of the experiment-runner tests: a tiny prepared synthetic dataset and tiny run
settings (XwiseNet width 0.5, stages (1, 2, 1), 8x32x32 clips, 2 steps per epoch)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
KTH_DIR = REPO / ".." / "shared" / "data" / "kth"
SYNTHETIC_OPTIONS = {"videos_per_class": 4, "eval_videos_per_class": 1}
TINY_MODEL = {"width": 0.5, "stage_repeats": "1,2,1"}


def tiny_settings(data_dir, output_dir, epochs: int = 1, **changes):
    """`RunSettings` of a tiny run on the synthetic dataset."""
    from xwisenet_tf.experiments import RunSettings

    values = dict(
        dataset="synthetic",
        data_dir=str(data_dir),
        output_dir=str(output_dir),
        dataset_options=dict(SYNTHETIC_OPTIONS),
        model_options=dict(TINY_MODEL),
        epochs=epochs,
        num_frames=8,
        image_size=32,
        batch_size=4,
        steps_per_epoch=2,
        verbose=0,
    )
    values.update(changes)
    return RunSettings(**values)


@pytest.fixture(scope="session")
def synthetic_data_dir(tmp_path_factory) -> Path:
    """A cache directory holding the tiny prepared synthetic dataset."""
    from xwisenet_tf.data import prepare_data

    data_dir = tmp_path_factory.mktemp("experiments_data")
    prepare_data("synthetic", str(data_dir), dict(SYNTHETIC_OPTIONS, progress=False))
    return data_dir


@pytest.fixture(scope="session")
def kth_dir() -> Path:
    """The real KTH slice beside the repository (skips when absent)."""
    if not (KTH_DIR / "00sequences.txt").is_file():
        pytest.skip(f"real KTH slice not found at {KTH_DIR.resolve()}")
    return KTH_DIR.resolve()
