"""Folder and CSV datasets, bad files, the CLI exit status, and resumable conversion."""

import csv
import glob
import json
import os

import numpy as np
import pytest
from conftest import known_frames, write_video

from xwisenet_tf.data import DataError, load, prepare_dataset, read_manifest
from xwisenet_tf.data import folder as folder_lib
from xwisenet_tf.data import prepare as prepare_cli
from xwisenet_tf.data.tfrecord import check_shard


def _tree(root, spec, frames=12):
    """spec: {"rel/dir": number_of_videos}; videos are tiny MJPEG AVIs."""
    clip = known_frames(frames, 32, 48)
    for rel, count in spec.items():
        os.makedirs(root / rel, exist_ok=True)
        for i in range(count):
            write_video(root / rel / f"v{i}.avi", clip)
    return root


def test_seeded_split_without_split_folders(tmp_path):
    root = _tree(tmp_path / "ds", {"cat": 10, "dog": 5, "eel": 1})
    (root / "cat" / "notes.txt").write_text("ignored")
    (root / "cat" / ".hidden.avi").write_text("ignored")
    plan = folder_lib.plan_folder(root, seed=3)
    assert plan.classes == ["cat", "dog", "eel"]
    splits = {(j.samples[0].label, j.samples[0].split) for j in plan.jobs}
    counts = {
        key: sum((j.samples[0].label, j.samples[0].split) == key for j in plan.jobs)
        for key in splits
    }
    assert counts == {
        ("cat", "train"): 8,
        ("cat", "test"): 2,
        ("dog", "train"): 4,
        ("dog", "test"): 1,
        ("eel", "train"): 1,
    }
    again = folder_lib.plan_folder(root, seed=3)
    assert [j.samples for j in again.jobs] == [j.samples for j in plan.jobs]

    def test_ids(p):
        return {s.id for j in p.jobs for s in j.samples if s.split == "test"}

    assert any(
        test_ids(folder_lib.plan_folder(root, seed=s)) != test_ids(plan) for s in range(4, 8)
    )
    subset = folder_lib.plan_folder(root, classes=["dog", "cat"])
    assert subset.classes == ["dog", "cat"] and len(subset.jobs) == 15
    with pytest.raises(DataError, match="requested classes \\['fox'\\] not found"):
        folder_lib.plan_folder(root, classes=["fox"])


def test_split_folders_are_used(tmp_path):
    root = _tree(tmp_path / "ds", {"train/a": 2, "train/b": 2, "val/a": 1, "test/b": 1})
    plan = folder_lib.plan_folder(root)
    assert sorted((s.split, s.label, s.id) for j in plan.jobs for s in j.samples) == [
        ("test", "b", "test/b/v0"),
        ("train", "a", "train/a/v0"),
        ("train", "a", "train/a/v1"),
        ("train", "b", "train/b/v0"),
        ("train", "b", "train/b/v1"),
        ("validation", "a", "val/a/v0"),
    ]
    (root / "extra").mkdir()
    with pytest.raises(DataError, match="mixes split folders"):
        folder_lib.plan_folder(root)


def test_csv_layouts_subset_and_missing(tmp_path):
    root = tmp_path / "kinetics"
    _tree(root, {"train/air drumming": 0, "train/abseiling": 0, "val/abseiling": 0, "juggling": 0})
    clip = known_frames(10, 32, 48)
    write_video(root / "train" / "air drumming" / "aaa_000010_000020.avi", clip)
    write_video(root / "train" / "abseiling" / "bbb_000000_000010.avi", clip)
    write_video(root / "val" / "abseiling" / "ccc_000005_000015.avi", clip)
    write_video(root / "juggling" / "ddd_000001_000011.avi", clip)
    rows = [
        ("air drumming", "aaa", 10, 20, "train"),
        ("abseiling", "bbb", 0, 10, "train"),
        ("abseiling", "ccc", 5, 15, "validate"),
        ("juggling", "ddd", 1, 11, "test"),
        ("juggling", "gone", 0, 10, "train"),
    ]
    path = root / "list.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["label", "youtube_id", "time_start", "time_end", "split", "is_cc"])
        writer.writerows([(*r, 0) for r in rows])
    plan = folder_lib.plan_csv(path)
    assert plan.classes == ["abseiling", "air drumming", "juggling"]
    assert sorted((s.split, s.id) for j in plan.jobs for s in j.samples) == [
        ("test", "juggling/ddd_000001_000011"),
        ("train", "abseiling/bbb_000000_000010"),
        ("train", "air drumming/aaa_000010_000020"),
        ("validation", "abseiling/ccc_000005_000015"),
    ]
    assert plan.missing == [
        {"name": "juggling/gone_000000_000010", "reason": "video file not found"}
    ]
    manifest = prepare_dataset(
        "csv", path, tmp_path / "out", classes=["juggling", "abseiling"], progress=False
    )
    assert manifest["classes"] == ["juggling", "abseiling"]
    assert {s: e["num_videos"] for s, e in manifest["splits"].items()} == {
        "train": 1,
        "validation": 1,
        "test": 1,
    }
    bad = tmp_path / "bad.csv"
    bad.write_text("label,youtube_id\nx,y\n")
    with pytest.raises(DataError, match="lacks \\['time_start', 'time_end', 'split'\\]"):
        folder_lib.plan_csv(bad)


def _bad_folder(tmp_path):
    root = _tree(tmp_path / "ds", {"train/a": 2, "train/b": 2, "test/a": 1, "test/b": 1}, frames=20)
    good = open(root / "train" / "a" / "v0.avi", "rb").read()
    (root / "train" / "a" / "truncated.avi").write_bytes(good[: len(good) // 3])
    (root / "train" / "b" / "empty.avi").write_bytes(b"")
    (root / "test" / "b" / "text.avi").write_text("not a video")
    write_video(root / "test" / "a" / "zero.avi", np.zeros((0, 32, 48, 3), np.uint8))
    return root


def test_bad_files_are_listed_and_good_ones_converted(tmp_path, capfd):
    root = _bad_folder(tmp_path)
    out = tmp_path / "out"
    status = prepare_cli.main(
        [
            "--dataset=folder",
            f"--source={root}",
            f"--output={out}",
            "--short_side=0",
            "--no_progress",
        ]
    )
    assert status == 1
    manifest = read_manifest(out)
    failed = sorted(os.path.basename(f["path"]) for f in manifest["failed"])
    assert failed == ["empty.avi", "text.avi", "truncated.avi", "zero.avi"]
    assert {s: e["num_videos"] for s, e in manifest["splits"].items()} == {"train": 4, "test": 2}
    err = capfd.readouterr().err
    for name in failed:
        assert os.fspath(root) in err and name in err
    for f in manifest["failed"]:
        assert f["path"] in f["error"]
    clips, labels = next(
        iter(load(out, "train", training=True, batch_size=4, num_frames=8, image_size=32, seed=0))
    )
    assert clips.shape == (4, 8, 32, 32, 3)
    ok = tmp_path / "ok"
    _tree(ok, {"a": 2, "b": 2})
    assert (
        prepare_cli.main(
            ["--dataset=folder", f"--source={ok}", f"--output={tmp_path / 'o2'}", "--no_progress"]
        )
        == 0
    )
    assert (
        prepare_cli.main(
            [
                "--dataset=folder",
                f"--source={tmp_path / 'nope'}",
                f"--output={tmp_path / 'o3'}",
                "--no_progress",
            ]
        )
        == 2
    )
    assert "nope: dataset folder not found" in capfd.readouterr().err


def test_interrupted_conversion_resumes_and_never_exposes_partial_shards(tmp_path, monkeypatch):
    root = _tree(tmp_path / "ds", {"train/a": 3, "train/b": 3, "test/a": 1, "test/b": 1})
    out = tmp_path / "out"
    from xwisenet_tf.data import shards

    calls = []
    real = shards.video_records

    def dying(job, *args):
        calls.append(str(job.source))
        if len(calls) == 6:
            raise KeyboardInterrupt
        return real(job, *args)

    monkeypatch.setattr(shards, "video_records", dying)
    with pytest.raises(KeyboardInterrupt):
        prepare_dataset("folder", root, out, videos_per_shard=2, num_workers=1, progress=False)
    finished = sorted(os.path.basename(p) for p in glob.glob(str(out / "*.tfrecord")))
    assert finished == ["train-00000-of-00003.tfrecord", "train-00001-of-00003.tfrecord"]
    with pytest.raises(DataError, match="did not finish"):
        read_manifest(out)
    with pytest.raises(DataError, match="did not finish"):
        load(out, "train", training=True, batch_size=2)
    # A half-written shard left by a crash has the temporary name: no reader takes it.
    (out / "train-00001-of-00003.tfrecord.tmp").write_bytes(b"\x00" * 100)
    stamp = os.path.getmtime(out / "train-00000-of-00003.tfrecord")
    monkeypatch.setattr(shards, "video_records", real)
    calls.clear()
    monkeypatch.setattr(shards, "video_records", lambda job, *a: calls.append(1) or real(job, *a))
    manifest = prepare_dataset(
        "folder", root, out, videos_per_shard=2, num_workers=1, progress=False
    )
    assert len(calls) == 4  # the videos of the two finished shards were skipped
    assert os.path.getmtime(out / "train-00000-of-00003.tfrecord") == stamp
    assert not glob.glob(str(out / "*.tmp"))
    assert manifest["splits"]["train"]["num_videos"] == 6
    assert [s["file"] for s in manifest["splits"]["train"]["shards"]] == [
        f"train-0000{k}-of-00003.tfrecord" for k in range(3)
    ]
    for entry in manifest["splits"].values():
        for shard in entry["shards"]:
            check_shard(out / shard["file"], shard["size"])
    # Same arguments again: nothing to do. Other settings: refused unless overwrite.
    calls.clear()
    prepare_dataset("folder", root, out, videos_per_shard=2, num_workers=1, progress=False)
    assert calls == []
    with pytest.raises(DataError, match="other videos or settings"):
        prepare_dataset("folder", root, out, videos_per_shard=2, short_side=64, progress=False)
    manifest = prepare_dataset("folder", root, out, short_side=64, overwrite=True, progress=False)
    assert manifest["settings"]["short_side"] == 64
    assert json.load(open(out / "manifest.json"))["splits"]["train"]["shards"][0]["records"] == 6
