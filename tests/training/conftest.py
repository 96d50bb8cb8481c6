"""Fixtures of the training tests: a small prepared synthetic dataset, tiny model settings and
a runner for the command-line tools in a subprocess."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
KTH_DIR = REPO / ".." / "shared" / "data" / "kth"
PYTHON = sys.executable

# The synthetic dataset of these tests: 6 classes, 4 training and 1 validation/test video each.
SYNTHETIC_OPTIONS = {"videos_per_class": 4, "eval_videos_per_class": 1}
# A tiny XwiseNet (one SS block in stage 3) on tiny clips: an epoch takes a second.
TINY_MODEL = {"width": 0.5, "stage_repeats": (1, 2, 1)}
TINY_CLIP = {"num_frames": 8, "image_size": 32}
TINY_FLAGS = ["--width=0.5", "--stage_repeats=1,2,1", "--num_frames=8", "--image_size=32"]


def synthetic_flags(data_dir) -> list[str]:
    """Command-line flags selecting the prepared synthetic dataset in ``data_dir``."""
    return [
        "--dataset=synthetic",
        f"--data_dir={data_dir}",
        *(f"--dataset_option={k}={v}" for k, v in SYNTHETIC_OPTIONS.items()),
    ]


@pytest.fixture(scope="session")
def synthetic_data_dir(tmp_path_factory) -> Path:
    """A cache directory holding the prepared synthetic dataset (as ``train`` prepares it)."""
    from xwisenet_tf.data import prepare_data

    data_dir = tmp_path_factory.mktemp("training_data")
    prepare_data("synthetic", str(data_dir), dict(SYNTHETIC_OPTIONS, progress=False))
    return data_dir


@pytest.fixture(scope="session")
def synthetic_prepared(synthetic_data_dir) -> Path:
    """The prepared directory itself (with ``manifest.json``)."""
    from xwisenet_tf.data import prepare_data

    return Path(prepare_data("synthetic", str(synthetic_data_dir), dict(SYNTHETIC_OPTIONS)))


@pytest.fixture(scope="session")
def kth_dir() -> Path:
    """The real KTH slice beside the repository (skips when absent)."""
    if not (KTH_DIR / "00sequences.txt").is_file():
        pytest.skip(f"real KTH slice not found at {KTH_DIR.resolve()}")
    return KTH_DIR.resolve()


def cli_env(**extra) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1")
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


def run_cli(script: str, *args: str, timeout: float = 240, **env) -> subprocess.CompletedProcess:
    """Runs ``python <repo>/<script> args...`` and returns the finished process (text output)."""
    return subprocess.run(
        [PYTHON, str(REPO / script), *args],
        cwd=REPO,
        env=cli_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def tree_digest(root) -> dict[str, str]:
    """``{relative path: sha256}`` of every file below ``root`` (to prove nothing changed)."""
    digests = {}
    for path in sorted(Path(root).rglob("*")):
        if path.is_file():
            digests[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def error_line(process: subprocess.CompletedProcess) -> str:
    """The last stderr line; asserts it is a one-line ``error:`` message (no traceback)."""
    lines = [line for line in process.stderr.splitlines() if line.strip()]
    assert lines, f"no error message; stdout:\n{process.stdout}"
    assert "Traceback" not in process.stderr, process.stderr
    assert lines[-1].startswith("error: "), process.stderr
    return lines[-1]


MOTION_CLASSES = ("down", "still", "up")


def write_motion_dataset(root, per_split=(("train", 40), ("validation", 5), ("test", 6)), seed=0):
    """A tiny folder dataset only temporal modelling can solve, written as MJPEG AVI files.

    Every video shows horizontal stripes (random period, phase and colours) moving down, up, or
    standing still: any single frame looks the same for all classes, two frames tell them
    apart. Horizontal flips (a training augmentation) do not change the class.
    Layout: ``root/<split>/<class>/<class>_NN.avi``.
    """
    import av
    import numpy as np

    rng = np.random.default_rng(seed)
    height, width = 48, 64
    rows = np.arange(height, dtype=np.float32)[:, None, None]
    for split, count in per_split:
        for label, name in enumerate(MOTION_CLASSES):
            folder = Path(root) / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                period = rng.uniform(16, 28)
                speed = (label - 1) * rng.uniform(1.5, 3.0)
                phase = rng.uniform(0, period)
                low, high = rng.uniform(0, 110, 3), rng.uniform(150, 255, 3)
                num_frames = int(rng.integers(24, 33))
                path = folder / f"{name}_{i:02d}.avi"
                with av.open(str(path), "w", format="avi") as out:
                    stream = out.add_stream("mjpeg", rate=25)
                    stream.width, stream.height = width, height
                    stream.pix_fmt = "yuvj420p"
                    stream.options = {"q:v": "3"}
                    for t in range(num_frames):
                        wave = 0.5 + 0.5 * np.sin(2 * np.pi * (rows - phase - speed * t) / period)
                        frame = low + (high - low) * wave + rng.normal(0, 4, (height, width, 3))
                        image = np.clip(frame, 0, 255).astype(np.uint8)
                        out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
                    out.mux(stream.encode(None))
    return Path(root)


@pytest.fixture(scope="session")
def motion_videos(tmp_path_factory) -> Path:
    """`write_motion_dataset` in a temporary folder."""
    return write_motion_dataset(tmp_path_factory.mktemp("motion") / "videos")
