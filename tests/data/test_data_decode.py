"""PyAV decoding: containers, grayscale, frame ranges, resizing, and clear errors."""

import os

import numpy as np
import pytest
from conftest import known_frames, write_video

from xwisenet_tf.data import DataError
from xwisenet_tf.data.decode import probe_video, read_video


def test_real_kth_avi_and_mp4(kth_dir):
    avi = read_video(kth_dir / "walking" / "person01_walking_d1_uncomp.avi", 10, 20)
    mp4 = read_video(kth_dir / "boxing" / "person01_boxing_d2_uncomp.mp4", short_side=60)
    assert avi.shape == (10, 120, 160, 3) and avi.dtype == np.uint8
    assert mp4.shape == (390, 60, 80, 3)
    # KTH is grayscale: the three channels carry the same picture.
    assert np.abs(avi[..., 0].astype(int) - avi[..., 2]).mean() < 3
    assert avi.std() > 10
    info = probe_video(kth_dir / "handclapping" / "person01_handclapping_d2_uncomp.avi")
    assert (info.width, info.height, info.fps, info.num_frames) == (160, 120, 25.0, 550)
    assert info.codec == "mpeg4"


@pytest.mark.parametrize(
    "name,fmt,codec,pix",
    [
        ("v.avi", "avi", "mjpeg", "yuvj420p"),
        ("v.mp4", "mp4", "libx264", "yuv420p"),
        ("v.webm", "webm", "libvpx", "yuv420p"),
        ("v.mkv", "matroska", "ffv1", "yuv444p"),
    ],
)
def test_containers_ranges_and_resize(tmp_path, name, fmt, codec, pix):
    frames = known_frames(12, 48, 64)
    path = write_video(tmp_path / name, frames, fmt, codec, pix)
    video = read_video(path)
    assert video.shape == (12, 48, 64, 3)
    # Frame order and content survive the codec (R encodes the frame index).
    np.testing.assert_allclose(video[:, 24, 32, 0], 4 * np.arange(12), atol=6)
    part = read_video(path, start=3, end=7, short_side=24)
    assert part.shape == (4, 24, 32, 3)
    np.testing.assert_allclose(part[:, 12, 16, 0], 4 * np.arange(3, 7), atol=6)


def test_grayscale_source_gives_three_channels(tmp_path):
    gray = np.tile(np.arange(0, 256, 4, dtype=np.uint8)[None, None, :], (5, 32, 1))
    path = write_video(tmp_path / "gray.mkv", gray, "matroska", "ffv1", "gray")
    video = read_video(path)
    assert video.shape == (5, 32, 64, 3)
    for c in range(3):
        np.testing.assert_array_equal(video[..., c], gray)


def _bad_files(tmp_path, source_avi):
    data = open(source_avi, "rb").read()
    (tmp_path / "truncated.avi").write_bytes(data[: len(data) // 3])
    (tmp_path / "empty.avi").write_bytes(b"")
    (tmp_path / "text.avi").write_text("this is not a video\n")
    zero = tmp_path / "zero_frames.avi"
    write_video(zero, np.zeros((0, 16, 16, 3), np.uint8))
    return {
        "truncated.avi": "truncated",
        "empty.avi": "empty",
        "text.avi": "not a readable video",
        "zero_frames.avi": "at least one frame",
        "missing.avi": "no such file",
    }


def test_bad_inputs_raise_clear_errors(tmp_path):
    good = write_video(tmp_path / "good.avi", known_frames(40))
    for name, expected in _bad_files(tmp_path, good).items():
        with pytest.raises(DataError) as info:
            read_video(tmp_path / name)
        message = str(info.value)
        assert os.fspath(tmp_path / name) in message, message
        assert expected in message, message
    assert read_video(good).shape == (40, 48, 64, 3)
