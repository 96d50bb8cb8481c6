"""The synthetic KTH-like dataset and `ensure_dataset` caching."""

import os

import numpy as np
import pytest

from xwisenet_tf.data import DataError, ensure_dataset, load, read_manifest, synthetic
from xwisenet_tf.data.decode import probe_video, read_video


def _figure_track(frames):
    """Horizontal centre of the moving figure per frame (pixels differing from the median)."""
    background = np.median(frames.astype(np.float32), axis=0)
    mask = np.abs(frames.astype(np.float32) - background).sum(-1) > 60
    xs = np.arange(frames.shape[2])
    return np.array([xs[m.any(0)].mean() if m.any() else np.nan for m in mask])


def test_locomotion_classes_differ_only_in_speed():
    speeds = {}
    for action in ("walking", "jogging", "running", "boxing", "handwaving", "handclapping"):
        measured = []
        for k in range(3):
            rng = np.random.default_rng([7, k])
            # Same rng -> same background, figure, size, position, direction and phase.
            frames = synthetic.render_video(action, rng, 48)
            assert frames.shape == (48, 72, 96, 3) and frames.dtype == np.uint8
            track = _figure_track(frames)
            assert not np.isnan(track).any()  # the figure is in every frame (turns at edges)
            # Pixels per frame over 8-frame spans (a turn at an edge shortens only a few spans).
            measured.append(np.median(np.abs(track[8:] - track[:-8])) / 8)
        speeds[action] = np.median(measured)
    assert speeds["walking"] < speeds["jogging"] < speeds["running"]
    assert speeds["running"] > 2 * speeds["walking"]
    assert max(speeds["boxing"], speeds["handwaving"], speeds["handclapping"]) < 0.3
    # One frame of a walker and of a runner drawn from the same random state look alike.
    walk = synthetic.render_video("walking", np.random.default_rng(3), 1)
    run = synthetic.render_video("running", np.random.default_rng(3), 1)
    assert np.abs(walk.astype(int) - run).mean() < 3


def test_generated_files(synthetic_videos):
    for split, count in (("train", 2), ("validation", 1), ("test", 1)):
        for action in synthetic.CLASSES:
            names = sorted(os.listdir(synthetic_videos / split / action))
            assert names == [f"{action}_{i:04d}.mp4" for i in range(count)]
    path = synthetic_videos / "train" / "running" / "running_0001.mp4"
    info = probe_video(path)
    assert (info.width, info.height, info.fps, info.codec) == (96, 72, 25.0, "h264")
    assert 40 <= read_video(path).shape[0] <= 64
    params = synthetic.read_params(synthetic_videos)
    assert params["complete"] and params["seed"] == 0
    stamp = os.path.getmtime(path)
    synthetic.generate(
        synthetic_videos, videos_per_class=2, eval_videos_per_class=1, progress=False
    )
    assert os.path.getmtime(path) == stamp  # idempotent
    with pytest.raises(DataError, match="other parameters"):
        synthetic.generate(synthetic_videos, videos_per_class=3, progress=False)


def test_mjpeg_avi_and_determinism(tmp_path):
    """The same seed gives the same videos, rendered in one process or in several."""
    a = synthetic.generate(
        tmp_path / "a", 1, 1, seed=4, codec="mjpeg", progress=False, num_workers=1
    )
    b = synthetic.generate(
        tmp_path / "b", 1, 1, seed=4, codec="mjpeg", progress=False, num_workers=2
    )
    names = sorted(os.path.relpath(os.path.join(d, f), a) for d, _, fs in os.walk(a) for f in fs)
    assert len([n for n in names if n.endswith(".avi")]) == 3 * len(synthetic.CLASSES)
    assert names == sorted(
        os.path.relpath(os.path.join(d, f), b) for d, _, fs in os.walk(b) for f in fs
    )
    for name in names:
        if name.endswith(".avi"):
            np.testing.assert_array_equal(
                read_video(os.path.join(a, name)), read_video(os.path.join(b, name))
            )


def test_prepared_synthetic(synthetic_prepared):
    manifest = read_manifest(synthetic_prepared)
    assert manifest["dataset"] == "synthetic"
    assert manifest["classes"] == list(synthetic.CLASSES)
    assert {s: e["num_videos"] for s, e in manifest["splits"].items()} == {
        "train": 12,
        "validation": 6,
        "test": 6,
    }
    assert all(n == 2 for n in manifest["splits"]["train"]["per_class"].values())
    assert len(manifest["splits"]["train"]["shards"]) == 3
    clips, labels = next(
        iter(
            load(
                synthetic_prepared,
                "train",
                training=True,
                batch_size=12,
                num_frames=8,
                image_size=32,
                seed=0,
            )
        )
    )
    assert clips.shape == (12, 8, 32, 32, 3)
    assert sorted(labels.numpy().tolist()) == sorted(list(range(6)) * 2)


def test_ensure_dataset_synthetic_and_folder_cache(tmp_path, synthetic_videos):
    options = dict(videos_per_class=1, eval_videos_per_class=1, short_side=48, progress=False)
    out = ensure_dataset("synthetic", tmp_path, **options)
    assert (
        out.startswith(str(tmp_path)) and read_manifest(out)["splits"]["train"]["num_videos"] == 6
    )
    stamp = os.path.getmtime(os.path.join(out, "manifest.json"))
    assert ensure_dataset("synthetic", tmp_path, **options) == out
    assert os.path.getmtime(os.path.join(out, "manifest.json")) == stamp
    folder = ensure_dataset(f"folder:{synthetic_videos}", tmp_path, short_side=48, progress=False)
    assert os.path.basename(folder).startswith("folder-videos-")
    assert read_manifest(folder)["splits"]["validation"]["num_videos"] == 6
    assert ensure_dataset(f"folder:{synthetic_videos}", tmp_path, short_side=48) == folder
    with pytest.raises(DataError, match="unknown dataset spec"):
        ensure_dataset("imagenet", tmp_path)


def test_splits_never_share_an_appearance():
    """The test split measures generalisation: every appearance attribute of a test video lies
    in bands (and background textures) no training or validation video uses."""
    looks = {
        split: [synthetic.draw_appearance(np.random.default_rng([5, i]), split) for i in range(300)]
        for split in ("train", "validation", "test")
    }
    ranges = {"size": (0.5, 0.92), "position": (0.3, 0.7), "hue": (0.0, 1.0),
              "thickness": (0.035, 0.07)}  # fmt: skip
    for name, (low, high) in ranges.items():
        bands = {
            split: {int((look[name] - low) / (high - low) * synthetic.NUM_BANDS) for look in items}
            for split, items in looks.items()
        }
        assert bands["train"] == set(synthetic.SPLIT_BANDS["train"]), name  # all used
        assert not bands["train"] & bands["test"] and not bands["validation"] & bands["test"]
        assert not bands["train"] & bands["validation"], name
    textures = {split: {look["texture"] for look in items} for split, items in looks.items()}
    assert (
        not textures["train"] & textures["test"] and not textures["validation"] & textures["test"]
    )
    with pytest.raises(DataError, match="unknown synthetic split"):
        synthetic.render_video("boxing", np.random.default_rng(0), 2, split="holdout")
