"""The small-data augmentations (`xwisenet_tf.data.clip_augment`): what each must do, and that
`load` applies them inside the tf.data graph (no Python function per clip)."""

import math

import numpy as np
import pytest
import tensorflow as tf
from conftest import write_known_dataset

from xwisenet_tf.data import MEAN_RGB, STD_RGB, DataError, load
from xwisenet_tf.data.clip_augment import (
    ERASE_AREA,
    mix_batch,
    random_erase,
    random_grayscale,
    resized_crop_window,
    speed_clip_indices,
)
from xwisenet_tf.data.clip_choices import ClipAugmentation


def _seeds(n):
    return [tf.constant([i, 7], tf.int64) for i in range(n)]


@pytest.mark.parametrize("height, width", [(120, 160), (160, 120), (48, 64)])
def test_resized_crop_keeps_the_requested_area_and_aspect_inside_the_frame(height, width):
    short = min(height, width)
    areas, aspects, xs = [], [], set()
    for seed in _seeds(300):
        y, x, h, w = resized_crop_window(height, width, 0.35, 4 / 3, seed).numpy()
        assert 0 <= y and y + h <= height and 0 <= x and x + w <= width
        areas.append(h * w / short**2)
        aspects.append(w / h)
        xs.add(int(x))
    # Rounding to whole pixels moves the area and aspect by a pixel's worth.
    tolerance = 2.5 / short
    assert min(areas) >= 0.35 - 2 * tolerance and max(areas) <= 1 + 2 * tolerance
    assert min(aspects) >= 3 / 4 - tolerance and max(aspects) <= 4 / 3 + tolerance
    assert min(areas) < 0.45 and max(areas) > 0.9  # the range is used, not one corner of it
    assert len(xs) > 10  # translation along the frame


def test_speed_indices_stay_in_the_video_and_step_within_the_range():
    steps = []
    for seed in _seeds(200):
        idx = speed_clip_indices(120, 16, 1, 1.5, seed).numpy()
        assert idx.min() >= 0 and idx.max() < 120 and np.all(np.diff(idx) >= 0)
        steps.append((idx[-1] - idx[0]) / 15)
    assert min(steps) >= 1 / 1.5 - 0.07 and max(steps) <= 1.5
    assert min(steps) < 0.75 and max(steps) > 1.35
    short = speed_clip_indices(5, 16, 1, 2.0, _seeds(1)[0]).numpy()
    assert short.max() < 5  # loop-padded, as the paper's sampling


def test_grayscale_makes_equal_channels_with_the_luma():
    clip = tf.random.uniform([4, 8, 8, 3], 0, 255, seed=1)
    grey = random_grayscale(clip, 1.0, _seeds(1)[0]).numpy()
    assert np.allclose(grey[..., 0], grey[..., 1]) and np.allclose(grey[..., 1], grey[..., 2])
    luma = clip.numpy() @ np.array([0.2989, 0.587, 0.114])
    assert np.allclose(grey[..., 0], luma, atol=0.5)
    assert random_grayscale(clip, 0.0, _seeds(1)[0]) is clip


def test_erase_blanks_one_rectangle_in_every_frame():
    clip = tf.ones([4, 32, 32, 3])
    for seed in _seeds(50):
        out = random_erase(clip, 1.0, seed).numpy()
        erased = out[..., 0] == 0
        assert np.all(erased == erased[:1])  # a tube: the same in every frame
        rows, cols = np.nonzero(erased[0])
        share = erased[0].sum() / 32**2
        assert ERASE_AREA[0] / 2 <= share <= ERASE_AREA[1] * 1.3
        assert erased[0].sum() == (np.ptp(rows) + 1) * (np.ptp(cols) + 1)  # one rectangle
    assert np.array_equal(random_erase(clip, 0.0, _seeds(1)[0]), clip)


@pytest.mark.parametrize("mixup, cutmix", [(0.4, 0.0), (0.0, 1.0), (0.4, 1.0)])
def test_mix_batch_mixes_clips_and_labels_with_the_same_weight(mixup, cutmix):
    clips = tf.stack([tf.fill([2, 8, 8, 3], float(i)) for i in range(4)])
    labels = tf.constant([0, 1, 2, 0])
    for seed in _seeds(20):
        mixed, soft = mix_batch(clips, labels, 3, mixup, cutmix, seed)
        mixed, soft = mixed.numpy(), soft.numpy()
        assert mixed.shape == (4, 2, 8, 8, 3) and soft.shape == (4, 3)
        assert np.allclose(soft.sum(axis=1), 1) and soft.min() >= 0
        # Clip i is mixed with clip 3 - i: its mean is lam * i + (1 - lam) * (3 - i), and lam
        # is the weight of its own label.
        lam = soft[1, 1]  # clip 1 (label 1) mixed with clip 2 (label 2)
        assert math.isclose(mixed[1].mean(), lam * 1 + (1 - lam) * 2, abs_tol=1e-5)


def test_load_applies_the_augmentations_in_the_tf_data_graph(tmp_path):
    root = str(tmp_path / "known")
    write_known_dataset(root, [40, 40, 40, 40])
    augment = ClipAugmentation(speed=1.5, grayscale=1.0, erase=1.0)
    ds = load(
        root, "train", training=True, batch_size=4, image_size=24, seed=0, crop="resized",
        augment=augment,
    )  # fmt: skip
    graph = ds._as_serialized_graph().numpy()
    assert b"PyFunc" not in graph and b"py_func" not in graph.lower()
    clips, labels = next(iter(ds))
    assert clips.shape == (4, 16, 24, 24, 3) and labels.shape == (4,)
    rgb = clips.numpy() * np.array(STD_RGB) + np.array(MEAN_RGB)
    kept = clips.numpy()[..., 0] != 0  # the erased tube is 0 after normalisation
    assert np.allclose(rgb[..., 0][kept], rgb[..., 1][kept], atol=1e-3)  # grey
    assert (~kept).any()
    with pytest.raises(DataError, match="speed must be in"):
        load(root, "train", training=True, batch_size=2, augment=ClipAugmentation(speed=9))
