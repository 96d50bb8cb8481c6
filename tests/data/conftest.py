"""Fixtures of the data-path tests: the real KTH slice, small generated videos and datasets."""

from __future__ import annotations

import io
import os
from pathlib import Path

import av
import numpy as np
import pytest

KTH_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "kth"


@pytest.fixture(scope="session")
def kth_dir() -> Path:
    """The real KTH slice beside the repository (skips when absent)."""
    if not (KTH_DIR / "00sequences.txt").is_file():
        pytest.skip(f"real KTH slice not found at {KTH_DIR.resolve()}")
    return KTH_DIR.resolve()


def write_video(path, frames: np.ndarray, fmt: str = "avi", codec: str = "mjpeg", pix="yuvj420p"):
    """Writes ``frames`` (T, H, W, 3 uint8, or T, H, W for gray) with PyAV, near-lossless."""
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=25)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = pix
        stream.options = _QUALITY.get(codec, {})
        out.start_encoding()
        for frame in frames:
            kind = "gray" if frame.ndim == 2 else "rgb24"
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format=kind)))
        out.mux(stream.encode(None))
    return path


_QUALITY = {
    "mjpeg": {"q:v": "2"},
    "libx264": {"crf": "10"},
    "libvpx": {"crf": "4", "b:v": "0"},
}


@pytest.fixture
def make_video():
    return write_video


def known_frames(num_frames: int, height: int = 48, width: int = 64) -> np.ndarray:
    """Frames whose content says where a pixel came from: R = 4 * frame index (< 64 frames), G = 4 * x,
    B = 5 * y (smooth, so JPEG keeps the values within a few levels)."""
    t = np.arange(num_frames)[:, None, None]
    y = np.arange(height)[None, :, None]
    x = np.arange(width)[None, None, :]
    frames = np.zeros((num_frames, height, width, 3), np.uint8)
    frames[..., 0] = np.broadcast_to(4 * t, (num_frames, height, width))
    frames[..., 1] = np.broadcast_to(4 * x, (num_frames, height, width))
    frames[..., 2] = np.broadcast_to(5 * y, (num_frames, height, width))
    return frames


def _jpeg(frame: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="JPEG", quality=100, subsampling=0)
    return buffer.getvalue()


def write_known_dataset(root, lengths, split="train", height=48, width=64, garbage_after=None):
    """A prepared directory written directly (no video codec in between): one record per
    entry of ``lengths`` holding `known_frames`; label = position % 2.

    ``garbage_after``: frames from this index on are stored as invalid JPEG bytes.
    """
    from xwisenet_tf.data import tfrecord
    from xwisenet_tf.files import write_json

    os.makedirs(root, exist_ok=True)
    videos, records = [], []
    for i, n in enumerate(lengths):
        frames = known_frames(n, height, width)
        jpegs = [_jpeg(f) for f in frames]
        if garbage_after is not None:
            jpegs[garbage_after:] = [b"not a jpeg"] * (n - garbage_after)
        vid = f"video{i:03d}"
        records.append(
            tfrecord.make_sequence_example(
                video_id=vid,
                source=f"{vid}.avi",
                frame_start=0,
                fps=25.0,
                label_index=i % 2,
                label_name=f"class{i % 2}",
                height=height,
                width=width,
                jpeg_frames=jpegs,
            )
        )
        videos.append({"id": vid, "label": i % 2, "num_frames": n, "frame_start": 0, "source": ""})
    name = f"{split}-00000-of-00001.tfrecord"
    size = tfrecord.write_records(os.path.join(root, name), records)
    manifest = {
        "format_version": 1,
        "classes": ["class0", "class1"],
        "splits": {
            split: {
                "num_videos": len(lengths),
                "shards": [{"file": name, "size": size, "records": len(lengths)}],
                "videos": videos,
            }
        },
    }
    write_json(os.path.join(root, "manifest.json"), manifest)
    return root


@pytest.fixture(scope="session")
def synthetic_videos(tmp_path_factory) -> Path:
    """A tiny synthetic dataset (videos only): 2 train, 1 validation, 1 test video per class."""
    from xwisenet_tf.data import synthetic

    root = tmp_path_factory.mktemp("synthetic") / "videos"
    synthetic.generate(root, videos_per_class=2, eval_videos_per_class=1, progress=False)
    return root


@pytest.fixture(scope="session")
def synthetic_prepared(synthetic_videos, tmp_path_factory) -> Path:
    """`synthetic_videos` converted to TFRecords at short side 64."""
    from xwisenet_tf.data import prepare_dataset

    out = tmp_path_factory.mktemp("synthetic_tfrecords") / "prepared"
    prepare_dataset(
        "synthetic",
        synthetic_videos,
        out,
        short_side=64,
        progress=False,
        videos_per_class=2,
        eval_videos_per_class=1,
        videos_per_shard=4,
    )
    return out
