"""``prepare --runner=beam``: the same records and manifest as the local runner, with Beam's
DirectRunner (in-process and multi_processing), on generated videos and the real KTH files;
a corrupt video in the dead letter, a killed pipeline finished by a rerun, videos and output
on a file system only Beam knows, and the one-line answer without the extra installed."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import known_frames, write_video

from xwisenet_tf.data import DataError, prepare_dataset, read_manifest
from xwisenet_tf.data import prepare as prepare_cli
from xwisenet_tf.data.convert import BEAM_MISSING

# --- helpers ---------------------------------------------------------------------------------


def _videos(root: Path, names: dict[str, int], corrupt: str | None = None) -> Path:
    """Tiny generated videos (32x24, a few frames): ``{relative path: frames}``."""
    for name, frames in names.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_video(path, known_frames(frames, 24, 32))
    if corrupt:
        (root / corrupt).parent.mkdir(parents=True, exist_ok=True)
        (root / corrupt).write_bytes(b"not a video " * 20)
    return root


def _folder_dataset(root: Path, corrupt: str | None = None) -> Path:
    # root/<class>/<video>: one of each class's three to test (test_fraction 0.2).
    return _videos(root, {f"{c}/v{i}.avi": 6 + i for c in ("a", "b") for i in range(3)}, corrupt)


def _contents(out: Path) -> tuple[dict, dict]:
    """The manifest, and every shard's records decoded (context features and JPEG frames)."""
    import tensorflow as tf

    from xwisenet_tf.data.tfrecord import check_shard

    manifest = read_manifest(out)
    shards = {}
    for entry in manifest["splits"].values():
        for shard in entry["shards"]:
            check_shard(out / shard["file"], shard["size"])
            records = []
            for raw in tf.data.TFRecordDataset(str(out / shard["file"])).as_numpy_iterator():
                example = tf.train.SequenceExample.FromString(raw)
                context = {
                    key: list(f.bytes_list.value)
                    + list(f.int64_list.value)
                    + list(f.float_list.value)
                    for key, f in sorted(example.context.feature.items())
                }
                frames = example.feature_lists.feature_list["image/encoded"].feature
                records.append((context, [f.bytes_list.value[0] for f in frames]))
            shards[shard["file"]] = records
    return manifest, shards


def _leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name.endswith(".tmp") or "plan" in p.name)


# --- without the extra -----------------------------------------------------------------------


def test_without_beam_the_runner_fails_at_once_naming_the_install(tmp_path, monkeypatch, capfd):
    monkeypatch.setitem(sys.modules, "apache_beam", None)  # `import apache_beam` fails
    for module in ("beam_prepare", "beam_files"):
        monkeypatch.delitem(sys.modules, f"xwisenet_tf.data.{module}", raising=False)
    argv = [
        "--dataset=folder",
        f"--source={_folder_dataset(tmp_path / 'ds')}",
        f"--output={tmp_path / 'out'}",
        "--runner=beam",
    ]
    start = time.perf_counter()
    status = prepare_cli.main(argv)
    elapsed = time.perf_counter() - start
    assert status == 2
    assert capfd.readouterr().err.splitlines() == [f"error: {BEAM_MISSING}"]
    assert "pip install" in BEAM_MISSING and "[beam]" in BEAM_MISSING
    assert elapsed < 1.0
    assert not (tmp_path / "out").exists()


def test_beam_options_come_from_the_file_and_the_flags(tmp_path, capfd):
    options = tmp_path / "dataflow.txt"
    options.write_text("# where\n--runner=DataflowRunner --project=p\n--region=europe-west1\n")
    args = prepare_cli.build_parser().parse_args(
        [
            "--dataset=folder",
            "--source=s",
            "--output=o",
            "--runner=beam",
            f"--beam_options_file={options}",
            "--beam_option=--num_workers=8",
        ]
    )
    assert prepare_cli._options(args)["beam_options"] == [
        "--runner=DataflowRunner",
        "--project=p",
        "--region=europe-west1",
        "--num_workers=8",
    ]
    argv = ["--dataset=folder", "--source=s", f"--output={tmp_path}", "--beam_option=--x=1"]
    assert prepare_cli.main(argv) == 2
    assert "need --runner=beam" in capfd.readouterr().err


def test_the_prepare_command_line_loads_no_beam():
    code = "import sys, xwisenet_tf.data.prepare as p; p.build_parser(); print('apache_beam' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "False"


# --- the DirectRunner ------------------------------------------------------------------------


def test_beam_writes_the_local_records_and_lists_a_corrupt_video(tmp_path, monkeypatch):
    """In-process DirectRunner: same manifest and records; the corrupt video is in the failed
    list with the local runner's message, the others are written; a rerun starts nothing."""
    pytest.importorskip("apache_beam")
    from xwisenet_tf.data import beam_prepare

    root = _folder_dataset(tmp_path / "ds", corrupt="a/broken.avi")
    options = dict(videos_per_shard=2, short_side=16, progress=False)
    local = prepare_dataset("folder", root, tmp_path / "local", **options)
    manifest = prepare_dataset("folder", root, tmp_path / "beam", runner="beam", **options)
    assert _contents(tmp_path / "beam") == _contents(tmp_path / "local")
    assert manifest == local
    assert [f["path"] for f in manifest["failed"]] == [str(root / "a" / "broken.avi")]
    assert "not a readable video file" in manifest["failed"][0]["error"]
    assert sum(e["num_videos"] for e in manifest["splits"].values()) == 6
    assert _leftovers(tmp_path / "beam") == []

    def no_pipeline(*args, **kwargs):
        raise AssertionError("a finished conversion started a pipeline")

    shards = sorted((tmp_path / "beam").glob("*.tfrecord"))
    stamps = [p.stat().st_mtime_ns for p in shards]
    monkeypatch.setattr(beam_prepare, "run_pipeline", no_pipeline)
    assert prepare_dataset("folder", root, tmp_path / "beam", runner="beam", **options) == local
    assert [p.stat().st_mtime_ns for p in shards] == stamps
    with pytest.raises(DataError, match="other videos or settings"):
        prepare_dataset("folder", root, tmp_path / "beam", runner="beam", videos_per_shard=3)


def test_beam_multi_processing_on_the_real_kth_files(kth_dir, tmp_path):
    """DirectRunner with 2 worker processes on three real KTH videos (12 sequences)."""
    pytest.importorskip("apache_beam")
    source = tmp_path / "kth"
    (source / "boxing").mkdir(parents=True)
    (source / "00sequences.txt").symlink_to(kth_dir / "00sequences.txt")
    for person in ("01_boxing_d2", "03_boxing_d4", "04_boxing_d1"):
        name = f"person{person}_uncomp.mp4"
        (source / "boxing" / name).symlink_to(kth_dir / "boxing" / name)
    options = dict(videos_per_shard=1, short_side=32, progress=False)
    prepare_dataset("kth", source, tmp_path / "local", **options)
    beam_options = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]
    prepare_dataset(
        "kth", source, tmp_path / "beam", runner="beam", beam_options=beam_options, **options
    )
    manifest, shards = _contents(tmp_path / "beam")
    assert (manifest, shards) == _contents(tmp_path / "local")
    assert sorted(shards) == [
        "test-00000-of-00001.tfrecord",
        "train-00000-of-00002.tfrecord",
        "train-00001-of-00002.tfrecord",
    ]
    assert sum(len(records) for records in shards.values()) == 12
    assert manifest["failed"] == [] and len(manifest["missing"]) == 597


_STALLING_RUN = textwrap.dedent(
    """
    import sys, time
    from xwisenet_tf.data import beam_prepare, prepare_dataset
    root, out, stall, marker = sys.argv[1:]
    real = beam_prepare.video_records

    def stalling(job, *args):
        if str(job.source) == stall:
            open(marker, "w").close()
            time.sleep(600)
        return real(job, *args)

    beam_prepare.video_records = stalling
    prepare_dataset("folder", root, out, videos_per_shard=1, short_side=16, runner="beam")
    """
)


def test_a_killed_pipeline_is_finished_by_a_rerun(tmp_path, monkeypatch):
    """The pipeline is killed (SIGKILL, its process group) while it converts the last shard;
    the committed shards stay as they are, and a rerun converts only the others."""
    pytest.importorskip("apache_beam")
    from xwisenet_tf.data import beam_prepare, folder
    from xwisenet_tf.data.shards import assign_shards

    root = _folder_dataset(tmp_path / "ds")
    out, marker = tmp_path / "beam", tmp_path / "stalled"
    shards = assign_shards(folder.plan_folder(root), 1)
    stall = str(shards[-1].jobs[0].source)
    # A killed worker leaves its temporary folder: in the test's own.
    (tmp_path / "tmp").mkdir()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TMPDIR=str(tmp_path / "tmp"))
    with open(tmp_path / "log", "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", _STALLING_RUN, str(root), str(out), stall, str(marker)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 300
            while not marker.exists():
                assert process.poll() is None, (tmp_path / "log").read_text()
                assert time.monotonic() < deadline, "the pipeline never reached the last shard"
                time.sleep(0.2)
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    with pytest.raises(DataError, match="did not finish"):
        read_manifest(out)
    committed = sorted(p.name for p in out.glob("*.tfrecord"))
    # The in-process DirectRunner keeps the plan's order through Reshuffle, so the shards before
    # the last one are committed when it stalls (a runner that reorders would commit fewer).
    assert 1 <= len(committed) < len(shards), committed
    assert shards[-1].name not in committed
    for name in committed:  # a committed shard is whole: its sidecar's size, readable headers
        from xwisenet_tf.data.tfrecord import check_shard

        check_shard(out / name, json.loads((out / f"{name}.json").read_text())["size"])
    stamps = {name: (out / name).stat().st_mtime_ns for name in committed}

    calls = []
    real = beam_prepare.video_records
    monkeypatch.setattr(
        beam_prepare, "video_records", lambda job, *a: calls.append(job) or real(job, *a)
    )
    options = dict(videos_per_shard=1, short_side=16, progress=False)
    manifest = prepare_dataset("folder", root, out, runner="beam", **options)
    assert len(calls) == len(shards) - len(committed)  # one video a shard
    assert {name: (out / name).stat().st_mtime_ns for name in committed} == stamps
    assert _leftovers(out) == []
    local = prepare_dataset("folder", root, tmp_path / "local", **options)
    assert manifest == local
    assert _contents(out) == _contents(tmp_path / "local")


# --- a file system only Beam knows -----------------------------------------------------------


@functools.cache  # Beam finds a FileSystem among the live subclasses: this one stays alive
def _fake_remote_file_system():
    """``xwfake://<local path>``: the local disk under a scheme that neither ``os`` nor FFmpeg
    know, so only Beam's FileSystems can read and write it (as gs:// or s3://)."""
    from apache_beam.io.filesystem import FileMetadata
    from apache_beam.io.localfilesystem import LocalFileSystem

    prefix = "xwfake://"

    def local(path: str) -> str:
        assert path.startswith(prefix), path
        return path[len(prefix) :]

    disk = LocalFileSystem(pipeline_options=None)

    class FakeRemoteFileSystem(LocalFileSystem):
        @classmethod
        def scheme(cls):
            return "xwfake"

        def join(self, base, *paths):
            return prefix + disk.join(local(base), *paths)

        def split(self, path):
            head, tail = disk.split(local(path))
            return prefix + head, tail

        def mkdirs(self, path):
            disk.mkdirs(local(path))

        def _list(self, dir_or_prefix):
            for m in disk._list(local(dir_or_prefix)):
                yield FileMetadata(prefix + m.path, m.size_in_bytes, m.last_updated_in_seconds)

        def create(self, path, *args, **kwargs):
            return disk.create(local(path), *args, **kwargs)

        def open(self, path, *args, **kwargs):
            return disk.open(local(path), *args, **kwargs)

        def copy(self, sources, destinations):
            disk.copy([local(p) for p in sources], [local(p) for p in destinations])

        def rename(self, sources, destinations):
            disk.rename([local(p) for p in sources], [local(p) for p in destinations])

        def exists(self, path):
            return disk.exists(local(path))

        def size(self, path):
            return disk.size(local(path))

        def last_updated(self, path):
            return disk.last_updated(local(path))

        def checksum(self, path):
            return disk.checksum(local(path))

        def metadata(self, path):
            m = disk.metadata(local(path))
            return FileMetadata(path, m.size_in_bytes, m.last_updated_in_seconds)

        def delete(self, paths):
            disk.delete([local(p) for p in paths])

    return FakeRemoteFileSystem


def test_a_kinetics_csv_read_and_written_through_beam_file_systems(tmp_path):
    """The Kinetics CSV layout, listed, read and written only through Beam's FileSystems: the
    records and manifest of the local runner on the same files, paths under the scheme."""
    pytest.importorskip("apache_beam")
    _fake_remote_file_system()  # registered with Beam's FileSystems by being defined
    root = _videos(
        tmp_path / "kinetics",
        {
            "train/abseiling/aaa_000000_000010.avi": 6,
            "train/air_drumming/bbb_000005_000015.avi": 7,
            "train/air_drumming/ccc_000001_000011.avi": 5,
            "val/abseiling/ddd_000002_000012.avi": 6,
        },
        corrupt="val/air_drumming/eee_000000_000010.avi",
    )
    rows = [
        "abseiling,aaa,0,10,train",
        "air drumming,bbb,5,15,train",
        "air drumming,ccc,1,11,train",
        "abseiling,ddd,2,12,val",
        "air drumming,eee,0,10,val",
        "abseiling,gone,0,10,train",
    ]
    csv = root / "annotations.csv"
    csv.write_text("label,youtube_id,time_start,time_end,split,is_cc\n" + "\n".join(rows) + "\n")
    options = dict(videos_per_shard=2, short_side=16, progress=False)
    prepare_dataset("csv", csv, tmp_path / "local", **options)
    prepare_dataset(
        "csv", f"xwfake://{csv}", f"xwfake://{tmp_path / 'beam'}", runner="beam", **options
    )
    manifest, shards = _contents(tmp_path / "beam")
    local_manifest, local_shards = _contents(tmp_path / "local")
    # The records name their source, so a shard is longer by the prefixes: sizes aside, equal.
    unprefixed = json.loads(json.dumps(manifest).replace("xwfake://", ""))
    for m in (unprefixed, local_manifest):
        for entry in m["splits"].values():
            for shard in entry["shards"]:
                del shard["size"]
    assert unprefixed == local_manifest
    assert manifest["source"] == f"xwfake://{csv}"
    assert [f["path"] for f in manifest["failed"]] == [
        f"xwfake://{root}/val/air_drumming/eee_000000_000010.avi"
    ]
    assert manifest["missing"] == [
        {"name": "abseiling/gone_000000_000010", "reason": "video file not found"}
    ]
    for records in shards.values():
        for context, _ in records:
            source = context["video/source"][0]
            assert source.startswith(b"xwfake://")
            context["video/source"] = [source[len(b"xwfake://") :]]
    assert shards == local_shards
    assert _leftovers(tmp_path / "beam") == []


def test_kth_zips_planned_and_read_through_beam_file_systems(tmp_path, capfd):
    """KTH's zips on a file system only Beam knows: the plan of the local files (paths under
    the scheme) from the zips' member names, and a member fetched for FFmpeg. No pipeline."""
    pytest.importorskip("apache_beam")
    import zipfile

    from xwisenet_tf.data import beam_files, kth
    from xwisenet_tf.data.dataset_kinds import KINDS

    _fake_remote_file_system()
    root = tmp_path / "kth"
    video = write_video(tmp_path / "person01_boxing_d1_uncomp.avi", known_frames(8, 24, 32))
    root.mkdir()
    with zipfile.ZipFile(root / "boxing.zip", "w") as archive:
        archive.write(video, "boxing/person01_boxing_d1_uncomp.avi")
    (root / "00sequences.txt").write_text(
        "person01_boxing_d1\t\tframes\t1-4, 5-8\nperson01_boxing_d2\t\tframes\t1-4\n"
    )
    plan = beam_files.plan_dataset("kth", KINDS["kth"], f"xwfake://{root}", "out", {}, False)
    local = kth.plan_kth(root)
    assert plan.source == f"xwfake://{root}" and plan.missing == local.missing
    assert [j.samples for j in plan.jobs] == [j.samples for j in local.jobs]
    (job,) = plan.jobs
    assert job.source.path == f"xwfake://{root}/boxing.zip"
    assert job.source.member == "boxing/person01_boxing_d1_uncomp.avi"
    with beam_files.fetch_video(job.source, str(tmp_path)) as path:
        assert Path(path).read_bytes() == video.read_bytes()
    assert not os.path.exists(path)
    # Workers cannot read videos a remote output's planner would make on this machine.
    for dataset, source in (("kth", None), ("synthetic", str(root))):
        with pytest.raises(DataError, match="remote --output needs a --source"):
            beam_files.plan_dataset(dataset, KINDS[dataset], source, "xwfake://out", {}, False)
    # Options Beam refuses stop the command before anything is planned or written.
    argv = ["--dataset=kth", f"--source={root}", f"--output={tmp_path / 'out'}", "--runner=beam"]
    assert prepare_cli.main([*argv, "--beam_option=--runner=NoSuchRunner"]) == 2
    (line,) = capfd.readouterr().err.splitlines()
    assert line.startswith("error: Beam pipeline options ['--runner=NoSuchRunner'] refused")
    assert not (tmp_path / "out").exists()
