"""The clip pipeline on clips of known content (R = 4 * frame, G = 4 * x, B = 5 * y)."""

import functools

import numpy as np
import pytest
import tensorflow as tf
from conftest import write_known_dataset

from xwisenet_tf.data import (
    MEAN_RGB,
    POSITIONS,
    SCALES,
    STD_RGB,
    DataError,
    count_eval_clips,
    load,
    normalize_frames,
    pipeline,
)

H, W = 48, 64


def _rgb(clips):
    return clips.numpy() * np.array(STD_RGB) + np.array(MEAN_RGB)


def _frame_indices(clip_rgb):
    """Frame index per frame of one clip, read from the R channel."""
    return np.rint(clip_rgb[:, :, :, 0].mean(axis=(1, 2)) / 4).astype(int)


def _window_and_flip(clip_rgb, size):
    """Infers the crop window [y, x, side] and the flip from the G (x) and B (y) channels.

    TF's bilinear resize samples output pixel i at source (i + 0.5) * side / size - 0.5.
    """
    g = clip_rgb[0, size // 2, :, 1] / 4
    b = clip_rgb[0, :, size // 2, 2] / 5
    flipped = g[0] > g[-1]
    if flipped:
        g = g[::-1]
    side = (g[-1] - g[0]) / (1 - 1 / size)
    x = g[0] - 0.5 * side / size + 0.5
    y = b[0] - 0.5 * side / size + 0.5
    # JPEG keeps values within a few levels: snap to the nearest possible window.
    nearest = min(_all_windows(), key=lambda w: max(abs(w[0] - y), abs(w[1] - x), abs(w[2] - side)))
    assert max(abs(nearest[0] - y), abs(nearest[1] - x), abs(nearest[2] - side)) < 1.5, (y, x, side)
    return nearest, bool(flipped)


@functools.cache
def _all_windows():
    windows = set()
    for s in range(len(SCALES)):
        for p in range(len(POSITIONS)):
            y, x, side, _ = pipeline.crop_window(H, W, s, p).numpy()
            windows.add((int(y), int(x), int(side)))
    return windows


def test_crop_window_values():
    sides = [int(pipeline.crop_window(H, W, s, 0)[2]) for s in range(5)]
    assert sides == [48, 40, 33, 28, 24]  # floor(scale * 48)
    assert pipeline.crop_window(H, W, 4, 0).numpy().tolist() == [12, 20, 24, 24]  # centre
    assert pipeline.crop_window(H, W, 4, 1).numpy().tolist() == [0, 0, 24, 24]
    assert pipeline.crop_window(H, W, 4, 2).numpy().tolist() == [0, 40, 24, 24]
    assert pipeline.crop_window(H, W, 4, 3).numpy().tolist() == [24, 0, 24, 24]
    assert pipeline.crop_window(H, W, 4, 4).numpy().tolist() == [24, 40, 24, 24]
    for height, width in [(48, 64), (64, 48), (120, 160), (7, 5)]:
        for s in range(5):
            for p in range(5):
                y, x, h, w = pipeline.crop_window(height, width, s, p).numpy()
                assert h == w >= 1 and 0 <= y and y + h <= height and 0 <= x and x + w <= width


def test_loop_padding_and_eval_starts():
    pad = pipeline.loop_pad_indices(tf.range(16), 6).numpy().tolist()
    assert pad == [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5, 0, 1, 2, 3]
    strided = pipeline.loop_pad_indices(tf.range(8) * 3, 10).numpy().tolist()
    assert strided == [0, 3, 6, 9, 0, 3, 6, 9]
    for n, expected in [(1, [0]), (15, [0]), (16, [0]), (33, [0, 16]), (64, [0, 16, 32, 48])]:
        assert pipeline.eval_clip_starts(n).numpy().tolist() == expected
    starts = {
        int(pipeline.train_clip_indices(20, 16, 1, tf.constant([i, 7]))[0]) for i in range(200)
    }
    assert starts == {0, 1, 2, 3, 4}  # uniform over every valid start


def test_training_augmentation_properties(tmp_path):
    data = write_known_dataset(tmp_path / "d", [30, 5, 40])
    size, frames = 32, 8
    ds = load(
        data,
        "train",
        training=True,
        batch_size=30,
        num_frames=frames,
        image_size=size,
        seed=5,
        repeat=True,
    )
    windows, flips, starts = set(), set(), []
    for clips, labels in ds.take(10):
        assert clips.shape == (30, frames, size, size, 3) and clips.dtype == tf.float32
        assert labels.dtype == tf.int32
        for clip in _rgb(clips):
            # Crop inside the frame, same crop and flip on every frame.
            window, flipped = _window_and_flip(clip, size)
            for t in range(1, frames):
                np.testing.assert_allclose(clip[t, :, :, 1:], clip[0, :, :, 1:], atol=8)
            windows.add(window)
            flips.add(flipped)
            # Consecutive frames from a valid start, or loop-padded in order for short videos.
            idx = _frame_indices(clip)
            if idx.max() <= 4:
                assert idx.tolist() == [0, 1, 2, 3, 4, 0, 1, 2]
            else:
                assert np.all(np.diff(idx) == 1) and idx[-1] <= 39
                starts.append(idx[0])
    assert windows == _all_windows()  # every scale and position is reached
    assert flips == {True, False}
    assert min(starts) == 0 and max(starts) >= 30


@pytest.mark.parametrize(
    "crop, expected_sides",
    [("centre_multiscale", {48, 40, 33, 28, 24}), ("centre", {48})],
)
def test_training_crops_centred(tmp_path, crop, expected_sides):
    data = write_known_dataset(tmp_path / "d", [20])
    ds = load(
        data,
        "train",
        training=True,
        batch_size=20,
        num_frames=2,
        image_size=32,
        seed=3,
        repeat=True,
        crop=crop,
    )
    windows, flips = set(), set()
    for clips, _ in ds.take(4):
        for clip in _rgb(clips):
            window, flipped = _window_and_flip(clip, 32)
            windows.add(window)
            flips.add(flipped)
    assert all((y, x) == ((H - side) // 2, (W - side) // 2) for y, x, side in windows)
    assert {side for _, _, side in windows} == expected_sides
    assert flips == {True, False}  # the flip is kept


def test_corner_crop_shifts_without_zooming(tmp_path):
    data = write_known_dataset(tmp_path / "d", [20])
    ds = load(
        data, "train", training=True, batch_size=20, num_frames=2, image_size=32, seed=3,
        repeat=True, crop="corner",
    )  # fmt: skip
    windows = set()
    for clips, _ in ds.take(4):
        windows |= {_window_and_flip(clip, 32)[0] for clip in _rgb(clips)}
    # H x W = 48 x 64: a 48-pixel window at x = 0, 8 (centre) and 16, always the full height.
    assert windows == {(0, 0, 48), (0, 8, 48), (0, 16, 48)}


def test_train_crop_names_match_the_config():
    """The pipeline implements the crops `clip_choices` names, which TrainConfig checks."""
    from xwisenet_tf.data import clip_choices
    from xwisenet_tf.training.config import MAX_COLOUR_JITTER, TRAIN_CROPS

    assert tuple(pipeline.TRAIN_CROPS) == clip_choices.TRAIN_CROP_NAMES == TRAIN_CROPS
    assert pipeline.DEFAULT_TRAIN_CROP in pipeline.TRAIN_CROPS
    assert pipeline.MAX_COLOUR_JITTER == clip_choices.MAX_COLOUR_JITTER == MAX_COLOUR_JITTER


def _colour_clip():
    rng = np.random.default_rng(0)
    return tf.constant(rng.uniform(20, 235, (3, 8, 8, 3)), tf.float32)


def test_colour_jitter_off_is_identity():
    clip = _colour_clip()
    assert pipeline.jitter_colours(clip, 0.0, [1, 2]) is clip


@pytest.mark.parametrize("seed", [[0, 1], [5, 7], [11, 3]])
def test_colour_jitter_matches_its_definition(seed):
    """Brightness x b, contrast c about the clip's mean grey, saturation s about each pixel's
    grey, then a hue shift: recomputed here from the factors the same seeds draw."""
    clip, strength = _colour_clip(), 0.5
    out = pipeline.jitter_colours(clip, strength, seed).numpy()
    seeds = tf.random.experimental.stateless_split(seed, 4)
    r = [x * strength for x in pipeline.COLOUR_JITTER_RANGES]
    b, c, s = (
        float(tf.random.stateless_uniform([], seeds[i], 1 - r[i], 1 + r[i])) for i in range(3)
    )
    shift = float(tf.random.stateless_uniform([], seeds[3], -r[3], r[3]))
    weights = np.array([0.2989, 0.587, 0.114])
    x = clip.numpy() * b
    x = (x @ weights).mean() + (x - (x @ weights).mean()) * c
    grey = (x @ weights)[..., None]
    x = np.clip(grey + (x - grey) * s, 0, 255)
    expected = np.clip(tf.image.adjust_hue(x / 255, shift).numpy() * 255, 0, 255)
    np.testing.assert_allclose(out, expected, atol=0.05)
    assert max(abs(b - 1), abs(c - 1), abs(s - 1)) > 0.01  # the draw did change the clip


def test_colour_jitter_is_one_draw_per_clip():
    """Every frame of a clip gets the same transform: identical frames stay identical."""
    frame = _colour_clip()[:1]
    out = pipeline.jitter_colours(tf.repeat(frame, 4, axis=0), 1.0, [3, 4]).numpy()
    np.testing.assert_allclose(out, np.repeat(out[:1], 4, axis=0), atol=1e-4)
    assert np.abs(out[0] - frame.numpy()[0]).max() > 1.0


def test_training_clips_get_colour_jitter(tmp_path):
    data = write_known_dataset(tmp_path / "d", [20])
    common = dict(batch_size=4, num_frames=2, image_size=16, seed=3, crop="centre")
    plain = next(iter(load(data, "train", training=True, **common)))[0].numpy()
    jittered = next(iter(load(data, "train", training=True, colour_jitter=1.0, **common)))
    assert np.abs(jittered[0].numpy() - plain).max() > 0.05
    with pytest.raises(DataError, match="colour_jitter"):
        load(data, "train", training=True, colour_jitter=2.5, **common)


def test_frame_stride(tmp_path):
    data = write_known_dataset(tmp_path / "d", [40])
    ds = load(
        data,
        "train",
        training=True,
        batch_size=1,
        num_frames=4,
        image_size=16,
        frame_stride=3,
        seed=0,
        repeat=True,
    )
    for clips, _ in ds.take(5):
        idx = _frame_indices(_rgb(clips)[0])
        assert np.all(np.diff(idx) == 3) and idx[-1] <= 39


def test_evaluation_clips(tmp_path):
    lengths = [5, 16, 33, 47, 63]
    data = write_known_dataset(tmp_path / "d", lengths, split="test")
    ds = load(data, "test", training=False, batch_size=4, image_size=24, with_video_id=True)
    clips, labels, ids = (np.concatenate(x) for x in zip(*[tuple(e) for e in ds], strict=True))
    expected_ids = [i for i, n in enumerate(lengths) for _ in range(max(1, n // 16))]
    assert ids.tolist() == expected_ids
    assert labels.tolist() == [i % 2 for i in expected_ids]
    assert len(clips) == count_eval_clips(data, "test") == 1 + 1 + 2 + 2 + 3
    rgb = clips * np.array(STD_RGB) + np.array(MEAN_RGB)
    per_video_starts = {}
    for clip, vid in zip(rgb, ids, strict=True):
        idx = _frame_indices(clip)
        per_video_starts.setdefault(int(vid), []).append(int(idx[0]))
        window, flipped = _window_and_flip(clip, 24)
        assert window == (0, 8, 48) and not flipped  # centre crop at scale 1
        if lengths[vid] < 16:
            assert idx.tolist() == [0, 1, 2, 3, 4] * 3 + [0]
        else:
            assert np.all(np.diff(idx) == 1)
    assert per_video_starts == {0: [0], 1: [0], 2: [0, 16], 3: [0, 16], 4: [0, 16, 32]}
    # Default: (clips, labels) for model.evaluate.
    element = next(iter(load(data, "test", training=False, batch_size=2, image_size=24)))
    assert len(element) == 2


def test_only_needed_frames_are_decoded(tmp_path):
    # Frames 16.. are not valid JPEG; the single evaluation clip (frames 0-15) must not touch them.
    data = write_known_dataset(tmp_path / "d", [20], split="test", garbage_after=16)
    clips, _ = next(iter(load(data, "test", training=False, batch_size=1, image_size=16)))
    assert _frame_indices(_rgb(clips)[0]).tolist() == list(range(16))


def test_deterministic_given_seed(tmp_path):
    data = write_known_dataset(tmp_path / "d", [20, 30, 25, 18, 40, 22])

    def first_epoch(seed):
        ds = load(
            data, "train", training=True, batch_size=3, num_frames=4, image_size=16, seed=seed
        )
        return [(c.numpy(), y.numpy()) for c, y in ds]

    a, b, c = first_epoch(1), first_epoch(1), first_epoch(2)
    assert len(a) == 2
    for (ca, ya), (cb, yb) in zip(a, b, strict=True):
        np.testing.assert_array_equal(ca, cb)
        np.testing.assert_array_equal(ya, yb)
    assert any(not np.array_equal(x[0], y[0]) for x, y in zip(a, c, strict=True))
    # Two epochs of the same dataset differ (new shuffle, new augmentation).
    ds = load(data, "train", training=True, batch_size=6, num_frames=4, image_size=16, seed=1)
    e1, e2 = (next(iter(ds))[0].numpy() for _ in range(2))
    assert not np.array_equal(e1, e2)
    ds = load(
        data,
        "train",
        training=True,
        batch_size=6,
        num_frames=4,
        image_size=16,
        seed=1,
        with_video_id=True,
    )
    clips, labels, ids = next(iter(ds))
    assert sorted(ids.numpy().tolist()) == list(range(6))
    assert labels.numpy().tolist() == [i % 2 for i in ids.numpy()]


def test_normalize_frames():
    frames = np.array([[MEAN_RGB, [0, 0, 0], [255, 255, 255]]], np.float32)
    out = normalize_frames(frames.astype(np.uint8)).numpy()
    assert out.dtype == np.float32
    np.testing.assert_allclose(
        out[0, 0], (np.floor(MEAN_RGB) - MEAN_RGB) / np.array(STD_RGB), rtol=1e-4
    )
    np.testing.assert_allclose(out[0, 1], -np.array(MEAN_RGB) / STD_RGB, rtol=1e-6)
    np.testing.assert_allclose(normalize_frames(frames).numpy()[0, 0], 0, atol=1e-6)


def test_unreadable_shards_and_bad_arguments(tmp_path):
    data = write_known_dataset(tmp_path / "d", [20, 20])
    shard = data / "train-00000-of-00001.tfrecord"
    content = shard.read_bytes()
    shard.write_bytes(content[:-100])
    with pytest.raises(DataError, match=f"{shard}.*truncated"):
        load(data, "train", training=True, batch_size=2)
    shard.write_bytes(b"garbage!" * (len(content) // 8) + b"x" * (len(content) % 8))
    with pytest.raises(DataError, match=f"{shard}: unreadable TFRecord shard"):
        load(data, "train", training=True, batch_size=2)
    shard.unlink()
    with pytest.raises(DataError, match=f"{shard}: TFRecord shard is missing"):
        load(data, "train", training=True, batch_size=2)
    with pytest.raises(DataError, match="has no split 'validation'; available: \\['train'\\]"):
        load(data, "validation", training=False, batch_size=2)
    with pytest.raises(DataError, match="unknown crop 'corners'; expected one of"):
        load(data, "train", training=True, batch_size=2, crop="corners")
    with pytest.raises(DataError, match="num_frames=0"):
        load(data, "train", training=True, batch_size=2, num_frames=0)
    with pytest.raises(DataError, match="not found"):
        load(tmp_path / "nowhere", "train", training=True, batch_size=2)
    from xwisenet_tf.data.tfrecord import verify_shard

    other = write_known_dataset(tmp_path / "e", [3]) / "train-00000-of-00001.tfrecord"
    assert verify_shard(other) == 1
    raw = bytearray(other.read_bytes())
    raw[40] ^= 0xFF  # payload corrupted, headers intact
    other.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=f"{other}: unreadable TFRecord shard: record 0"):
        verify_shard(other)
