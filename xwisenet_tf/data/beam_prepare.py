"""``prepare --runner=beam``: the conversion of `shards.convert` as an Apache Beam pipeline.

The launcher (this process) plans the conversion with the dataset's planner and cuts it into
shards by the local runner's rules (`shards.assign_shards`); the pipeline then converts every
shard not yet written::

    ReadFromText(<output>/.prepare_plan.jsonl)   one line per missing shard: its videos
    | Reshuffle                                  spread over the workers
    | ParDo(ConvertShard)                        decode the shard's videos
                                                 (`records.video_records`), write the shard
        main output: the shards written
        "failed" (dead letter): each video or sample that could not be converted, with its
        message; the others are written. Logged by the workers ("FAILED ...").

and the launcher writes ``manifest.json`` from the shards' sidecars (`shards.build_manifest`).
So the records, the shard layout and the manifest are the local runner's for the same input,
and either runner resumes a conversion the other one started (same ``.prepare_state.json``).

Files go through `apache_beam.io.filesystems.FileSystems`: the source and the output may be
local paths or on any file system Beam has (gs:// with ``apache-beam[gcp]``, s3:// with
``apache-beam[aws]``...). A remote dataset is planned from a listing: its tree is mirrored in a
local temporary folder (empty files; the text files, KTH's ``00sequences.txt`` or a CSV, copied;
a KTH zip as the names of its members), the dataset's planner runs on the mirror and the plan's
paths are mapped back. A worker copies a remote video to a local temporary file for FFmpeg.

Guarantees (docs/scaling.md): a shard is written under a temporary name
``<shard>.<random>.tmp``, then its sidecar ``<shard>.json``, then it is renamed to its name, the
commit point (a reader, or a retried bundle, takes only committed shards). A bad video never
fails the pipeline. A rerun of a finished conversion starts no pipeline; a rerun after a failed
or killed one converts only the shards not committed.

Apache Beam is the optional extra ``pip install "xwisenet_tf[beam]"``; only
`convert.prepare_dataset` with ``runner="beam"`` imports this module.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import posixpath
import shutil
import sys
import tempfile
import uuid
import zipfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, replace


class _DropBeamImportNotice(logging.Filter):
    # apache_beam's import warns on the root logger when the optional BigQuery client is absent.
    def filter(self, record: logging.LogRecord) -> bool:
        return "apitools not found" not in record.getMessage()


_notice = _DropBeamImportNotice()
logging.getLogger().addFilter(_notice)
try:
    import apache_beam as beam
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
finally:
    logging.getLogger().removeFilter(_notice)

from xwisenet_tf.data.dataset_kinds import DatasetKind  # noqa: E402
from xwisenet_tf.data.errors import DataError  # noqa: E402
from xwisenet_tf.data.manifest import MANIFEST  # noqa: E402
from xwisenet_tf.data.plan import Plan, Sample, Settings, VideoJob, VideoSource  # noqa: E402
from xwisenet_tf.errors import one_line  # noqa: E402
from xwisenet_tf.files import write_bytes  # noqa: E402
from xwisenet_tf.quiet_start import filtered_stderr  # noqa: E402

# A Beam worker process loads TensorFlow here, when it unpickles ConvertShard: without its
# start-up notices (the launcher loaded it already, quietly).
with contextlib.nullcontext() if "tensorflow" in sys.modules else filtered_stderr():
    from xwisenet_tf.data.records import video_records
    from xwisenet_tf.data.shards import (
        STATE_FILE,
        Shard,
        assign_shards,
        build_manifest,
        checked_settings,
        fingerprint,
        gather_results,
        other_conversion,
        report,
        shard_meta,
        summarize,
    )

PLAN_FILE = ".prepare_plan.jsonl"
FAILED = "failed"  # the dead-letter output of ConvertShard
# Datasets whose videos may be listed remotely (synthetic videos are generated here).
REMOTE_DATASETS = ("kth", "folder", "csv")
_TEXT_FILES = (".txt", ".csv")  # copied into a remote dataset's mirror; other files are empty
_UNCOMPRESSED = CompressionTypes.UNCOMPRESSED
_LISTING_THREADS = 16

logger = logging.getLogger(__name__)


# --- files through Beam's file systems ------------------------------------------------------


def is_remote(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a file system by a scheme (``gs://``, ``s3://``...)."""
    return FileSystems.get_scheme(os.fspath(path)) is not None


def _join(base: str, name: str) -> str:
    return FileSystems.join(base, name)


def _read_bytes(path: str) -> bytes:
    with FileSystems.open(path, compression_type=_UNCOMPRESSED) as f:
        return f.read()


def _write_bytes(path: str, content: bytes) -> None:
    """Writes a whole file: under a temporary name, then renamed (a reader sees all or none)."""
    if not is_remote(path):
        write_bytes(path, content)
        return
    tmp = f"{path}.{uuid.uuid4().hex}.tmp"
    with FileSystems.create(tmp, compression_type=_UNCOMPRESSED) as f:
        f.write(content)
    FileSystems.rename([tmp], [path])


def _write_json(path: str, data) -> None:
    # The bytes of `xwisenet_tf.files.write_json`, which the local runner writes.
    _write_bytes(path, (json.dumps(data, indent=1) + "\n").encode("utf-8"))


def _listing(folder: str, pattern: str = "*") -> dict[str, int]:
    """The files ``folder/pattern`` (not below it): name -> size."""
    matched = FileSystems.match([_join(folder, pattern)])[0].metadata_list
    return {posixpath.basename(m.path.replace(os.sep, "/")): m.size_in_bytes for m in matched}


def _committed(output: str, name: str, size: int | None) -> dict | None:
    """The sidecar of a committed shard (the record file has the size it records), or None."""
    if size is None:
        return None
    try:
        meta = json.loads(_read_bytes(_join(output, name + ".json")))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and meta.get("size") == size else None


def _committed_shards(output: str, shards: Sequence[Shard]) -> dict[str, dict]:
    """Shard name -> sidecar, for the committed ones of ``shards``."""
    files = _listing(output)
    candidates = [s.name for s in shards if s.name in files and s.name + ".json" in files]
    with ThreadPoolExecutor(_LISTING_THREADS) as pool:
        metas = pool.map(lambda name: _committed(output, name, files[name]), candidates)
        return {
            name: meta for name, meta in zip(candidates, metas, strict=True) if meta is not None
        }


def _delete(folder: str, patterns: Sequence[str]) -> None:
    paths = [
        m.path
        for r in FileSystems.match([_join(folder, p) for p in patterns])
        for m in r.metadata_list
    ]
    if paths:
        FileSystems.delete(paths)


@contextlib.contextmanager
def fetch_video(source: VideoSource, tmp_dir: str) -> Iterator[str]:
    """`records.video_records`'s ``fetch``: a local path of ``source`` for FFmpeg; a remote
    video (or zip member) is copied to a temporary file in ``tmp_dir`` first."""
    if not is_remote(source.path):
        with source.local_file(tmp_dir) as path:
            yield path
        return
    suffix = posixpath.splitext(source.member or source.path)[1]
    fd, tmp = tempfile.mkstemp(suffix=suffix, dir=tmp_dir)
    try:
        try:
            with os.fdopen(fd, "wb") as dst:
                with FileSystems.open(source.path, compression_type=_UNCOMPRESSED) as src:
                    if source.member is None:
                        shutil.copyfileobj(src, dst, 1 << 20)
                    else:
                        with zipfile.ZipFile(src) as archive, archive.open(source.member) as m:
                            shutil.copyfileobj(m, dst, 1 << 20)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
            raise DataError(f"{source}: cannot read it through Beam's file systems ({e})") from e
        yield tmp
    finally:
        with contextlib.suppress(OSError):
            os.remove(tmp)


# --- the plan of a remote dataset -----------------------------------------------------------


class _Mirror:
    """Local copies of remote folders' listings, and the way back to the remote paths."""

    def __init__(self, tmp: str):
        self.tmp = tmp
        self.roots: dict[str, str] = {}  # local folder -> remote folder

    def tree(self, remote: str, zips: bool) -> str:
        """Mirrors every file below the folder ``remote``; returns the local folder."""
        remote = remote.rstrip("/")
        local = os.path.join(self.tmp, str(len(self.roots)))
        try:
            listing = FileSystems.match([remote + "/**"])[0].metadata_list
        except Exception as e:  # noqa: BLE001 - Beam's errors differ by file system
            raise DataError(f"{remote}: cannot list it through Beam's file systems ({e})") from e
        if not listing:
            raise DataError(f"{remote}: no file found there; expected the dataset's folder")
        os.makedirs(local)
        self.roots[local] = remote
        for meta in listing:
            if not meta.path.startswith(remote + "/") or meta.path.endswith("/"):
                continue
            parts = [p for p in meta.path[len(remote) + 1 :].split("/") if p]
            if not parts or any(p in (".", "..") for p in parts):
                continue
            target = os.path.join(local, *parts)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            ext = os.path.splitext(target)[1].lower()
            if ext in _TEXT_FILES:
                content = _read_bytes(meta.path)
            elif ext == ".zip" and zips:
                content = _zip_of_names(meta.path)
            else:
                content = b""
            with open(target, "wb") as f:
                f.write(content)
        return local

    def file(self, remote: str) -> str:
        """Copies the file ``remote``; returns its local path."""
        local = os.path.join(self.tmp, str(len(self.roots)))
        os.makedirs(local)
        self.roots[local] = posixpath.dirname(remote)
        target = os.path.join(local, posixpath.basename(remote))
        try:
            content = _read_bytes(remote)
        except OSError as e:
            raise DataError(f"{remote}: cannot read it through Beam's file systems ({e})") from e
        with open(target, "wb") as f:
            f.write(content)
        return target

    def remote(self, path: str) -> str:
        """The remote path of a local one of the mirror (others unchanged)."""
        for local, remote in self.roots.items():
            if path == local:
                return remote
            if path.startswith(local + os.sep):
                return remote + "/" + path[len(local) + 1 :].replace(os.sep, "/")
        return path

    def remote_text(self, text: str) -> str:
        for local, remote in self.roots.items():
            text = text.replace(local, remote)
        return text

    def remote_plan(self, plan: Plan) -> Plan:
        jobs = [
            VideoJob(replace(j.source, path=self.remote(j.source.path)), j.samples)
            for j in plan.jobs
        ]
        info = {k: self.remote(v) if isinstance(v, str) else v for k, v in plan.info.items()}
        return replace(plan, source=self.remote(plan.source), jobs=jobs, info=info)


def _zip_of_names(remote: str) -> bytes:
    """A zip holding the member names of the remote zip ``remote`` (empty members); an empty
    file when it is not a zip (the planner then names it)."""
    try:
        with FileSystems.open(remote, compression_type=_UNCOMPRESSED) as f:
            with zipfile.ZipFile(f) as archive:
                names = archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return b""
    target = tempfile.SpooledTemporaryFile()
    with zipfile.ZipFile(target, "w") as out:
        for name in names:
            out.writestr(name, b"")
    target.seek(0)
    return target.read()


def plan_dataset(
    dataset: str,
    kind: DatasetKind,
    source: str | os.PathLike | None,
    output: str,
    options: dict,
    progress: bool,
) -> Plan:
    """The dataset's `Plan`, as its planner makes it; for a remote ``source`` (or CSV
    ``video_root``) made on a local mirror of its listing (module docstring)."""
    video_root = options.get("video_root")
    remote_source = source is not None and is_remote(source)
    remote_root = video_root is not None and is_remote(video_root)
    if not (remote_source or remote_root):
        return kind.plan(source, output, options, progress)
    if dataset not in REMOTE_DATASETS:
        raise DataError(
            f"{source}: dataset '{dataset}' needs a local --source; videos on other file "
            f"systems work for {', '.join(REMOTE_DATASETS)}"
        )
    options = dict(options)
    with tempfile.TemporaryDirectory(prefix="xwisenet_listing_") as tmp:
        mirror = _Mirror(tmp)
        if remote_root:
            options["video_root"] = mirror.tree(os.fspath(video_root), zips=False)
        if dataset == "csv" and remote_source:
            source = os.fspath(source)
            if video_root is None:  # the videos are in the CSV's folder
                folder = mirror.tree(posixpath.dirname(source), zips=False)
                source = os.path.join(folder, posixpath.basename(source))
            else:
                source = mirror.file(source)
        elif remote_source:
            source = mirror.tree(os.fspath(source), zips=dataset == "kth")
        try:
            plan = kind.plan(source, output, options, progress)
        except DataError as e:
            raise DataError(mirror.remote_text(str(e))) from None
        return mirror.remote_plan(plan)


# --- the pipeline ---------------------------------------------------------------------------


def _shard_line(shard: Shard) -> str:
    jobs = [
        {
            "path": j.source.path,
            "member": j.source.member,
            "samples": [asdict(s) for s in j.samples],
        }
        for j in shard.jobs
    ]
    return json.dumps({"name": shard.name, "split": shard.split, "jobs": jobs})


def _shard_of_line(line: str) -> Shard:
    data = json.loads(line)
    jobs = [
        VideoJob(VideoSource(j["path"], j["member"]), [Sample(**s) for s in j["samples"]])
        for j in data["jobs"]
    ]
    return Shard(data["name"], data["split"], jobs)


def write_shard(output: str, shard: Shard, results: list, tmp_dir: str) -> dict:
    """Writes a shard through Beam's file systems, as `shards.convert` writes one locally:
    records under a temporary name, the sidecar, then the rename that commits it."""
    from xwisenet_tf.data import tfrecord

    metas, serialized, failures, warnings = gather_results(results)
    path = _join(output, shard.name)
    tmp = f"{path}.{uuid.uuid4().hex}.tmp"
    if is_remote(path):
        fd, local = tempfile.mkstemp(suffix=".tfrecord", dir=tmp_dir)
        os.close(fd)
        try:
            size = tfrecord.write_records(local, serialized)
            with (
                open(local, "rb") as src,
                FileSystems.create(tmp, compression_type=_UNCOMPRESSED) as dst,
            ):
                shutil.copyfileobj(src, dst, 1 << 20)
        finally:
            with contextlib.suppress(OSError):
                os.remove(local)
    else:
        size = tfrecord.write_records(tmp, serialized)
    meta = shard_meta(shard, size, metas, failures, warnings)
    _write_json(path + ".json", meta)
    FileSystems.rename([tmp], [path])
    return meta


class ConvertShard(beam.DoFn):
    """One line of the plan file -> the shard, written unless already committed.

    Outputs the shard's name, and each of its failures (``{"path", "error"[, "sample"]}``) to
    the tagged output `FAILED`, the dead letter. ``threads`` videos of the shard are decoded
    at once.
    """

    def __init__(self, output: str, label_index: dict[str, int], settings: Settings, threads: int):
        self.output = output
        self.label_index = label_index
        self.settings = settings
        self.threads = threads
        self.written = beam.metrics.Metrics.counter("xwisenet_prepare", "shards_written")
        self.failed = beam.metrics.Metrics.counter("xwisenet_prepare", "failures")

    def setup(self) -> None:
        self.tmp_dir = tempfile.mkdtemp(prefix="xwisenet_prepare_")

    def teardown(self) -> None:
        shutil.rmtree(self.tmp_dir, ignore_errors=True)

    def _convert(self, job: VideoJob):
        return video_records(job, self.label_index, self.settings, self.tmp_dir, fetch_video)

    def process(self, line: str):
        shard = _shard_of_line(line)
        path = _join(self.output, shard.name)
        matched = FileSystems.match([path])[0].metadata_list
        meta = _committed(self.output, shard.name, matched[0].size_in_bytes if matched else None)
        if meta is None:
            if self.threads > 1:
                with ThreadPoolExecutor(self.threads) as pool:
                    results = list(pool.map(self._convert, shard.jobs))
            else:
                results = [self._convert(job) for job in shard.jobs]
            meta = write_shard(self.output, shard, results, self.tmp_dir)
            self.written.inc()
        for failure in meta["failed"]:
            self.failed.inc()
            yield beam.pvalue.TaggedOutput(FAILED, failure)
        yield shard.name


def _log_failure(failure: dict) -> None:
    logger.warning("FAILED %s", failure["error"])


def pipeline_options(beam_options: Sequence[str] | PipelineOptions = ()) -> PipelineOptions:
    """Beam's pipeline options from command-line tokens (``--runner=DataflowRunner`` ...).

    Raises:
        DataError: Beam refuses them (e.g. an unknown runner), before anything is written.
    """
    if isinstance(beam_options, PipelineOptions):
        return beam_options
    options = PipelineOptions(list(beam_options))
    try:
        beam.Pipeline(options=options)  # resolves the runner
    except (ValueError, TypeError, ImportError) as e:
        raise DataError(
            f"Beam pipeline options {list(beam_options)} refused: {one_line(e)}"
        ) from None
    return options


def run_pipeline(
    plan_path: str,
    output: str,
    label_index: dict[str, int],
    settings: Settings,
    threads: int,
    options: PipelineOptions,
) -> None:
    """Builds and runs the pipeline over the plan file (module docstring) to its end."""
    pipeline = beam.Pipeline(options=options)
    converted = (
        pipeline
        | "ReadPlan" >> beam.io.ReadFromText(plan_path)
        | "Spread" >> beam.Reshuffle()
        | "ConvertShards"
        >> beam.ParDo(ConvertShard(output, label_index, settings, threads)).with_outputs(
            FAILED, main="shards"
        )
    )
    _ = converted[FAILED] | "ReportFailed" >> beam.Map(_log_failure)
    pipeline.run().wait_until_finish()


def convert_beam(
    plan: Plan,
    output: str | os.PathLike,
    settings: Settings | None = None,
    *,
    beam_options: Sequence[str] | PipelineOptions = (),
    num_workers: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> dict:
    """Executes a conversion plan into ``output`` with an Apache Beam pipeline.

    The same conversion as `shards.convert` (records, shards, ``manifest.json``), resumable the
    same way; see the module docstring for the pipeline and its guarantees.

    Args:
        plan: What to convert (a planner's, or `plan_dataset`'s for remote videos).
        output: Directory for shards and ``manifest.json``: a local path or a URL of a file
            system Beam has (``gs://bucket/prepared/kth``).
        settings: Frame size, JPEG quality, shard size, frame rate.
        beam_options: Beam's pipeline options (``["--runner=DataflowRunner", ...]``; default
            Beam's DirectRunner here), or a `PipelineOptions`.
        num_workers: Threads decoding the videos of one shard on a worker (default 1: a
            runner's workers already take one shard per core).
        progress: Report the plan before the pipeline runs.
        overwrite: Replace a conversion made with other settings instead of refusing.

    Returns:
        The manifest dict (also written to ``output/manifest.json``).

    Raises:
        DataError: the plan is empty/invalid, ``output`` holds a different conversion, or the
            pipeline failed (a rerun converts what is missing).
    """
    settings = checked_settings(settings)
    plan.check()
    options = pipeline_options(beam_options)
    FileSystems.set_options(options)
    shown = os.fspath(output)
    try:
        return _convert(plan, shown, settings, options, num_workers or 1, progress, overwrite)
    except OSError as e:  # Beam's BeamIOError too: a bucket not found, a permission refused
        raise DataError(
            f"{shown}: cannot read or write it through Beam's file systems ({one_line(e)})"
        ) from e


def _convert(
    plan: Plan,
    shown: str,
    settings: Settings,
    options: PipelineOptions,
    threads: int,
    progress: bool,
    overwrite: bool,
) -> dict:
    """`convert_beam` after its checks: ``shown`` is the output as given."""
    output = shown if is_remote(shown) else os.path.abspath(shown)
    if not is_remote(output):
        os.makedirs(output, exist_ok=True)
    identity = fingerprint(plan, settings)
    state_path = _join(output, STATE_FILE)
    files = _listing(output)
    if STATE_FILE in files:
        try:
            previous = json.loads(_read_bytes(state_path)).get("fingerprint")
        except (OSError, ValueError, AttributeError):
            previous = None
        if previous != identity:
            if not overwrite:
                raise DataError(other_conversion(shown))
            _clear_output(output)
    elif overwrite:
        _clear_output(output)
    _write_json(state_path, {"fingerprint": identity})
    _delete(output, ["*.tmp"])

    shards = assign_shards(plan, settings.videos_per_shard)
    done = _committed_shards(output, shards)
    pending = [s for s in shards if s.name not in done]
    if pending:
        if done:
            report(f"Resuming: {len(done)} of {len(shards)} shards already converted in {shown}")
        if progress:
            videos = sum(len(s.jobs) for s in pending)
            runner = options.view_as(StandardOptions).runner or "DirectRunner"
            report(
                f"Converting {plan.dataset}: {videos} videos into {len(pending)} shards with "
                f"Apache Beam ({runner})"
            )
        plan_path = _join(output, PLAN_FILE)
        _write_bytes(plan_path, "".join(_shard_line(s) + "\n" for s in pending).encode("utf-8"))
        label_index = {name: i for i, name in enumerate(plan.classes)}
        try:
            run_pipeline(plan_path, output, label_index, settings, threads, options)
        except DataError:
            raise
        except Exception as e:  # noqa: BLE001 - the runner's errors, for the user to act on
            raise DataError(
                f"{shown}: the Beam pipeline failed ({one_line(e)[:2000]}); rerun the same "
                "command to convert the shards still missing"
            ) from e
        done.update(_committed_shards(output, pending))
        missing = [s.name for s in pending if s.name not in done]
        if missing:
            raise DataError(
                f"{shown}: the Beam pipeline finished without writing {len(missing)} shards "
                f"({', '.join(missing[:3])}...); rerun the same command to convert them"
            )
        _delete(output, [PLAN_FILE])
    manifest = build_manifest(plan, settings, shards, done)
    _write_json(_join(output, MANIFEST), manifest)
    summarize(manifest, shown)
    return manifest


def _clear_output(output: str) -> None:
    _delete(output, ["*.tfrecord", "*.tfrecord.json", "*.tmp", MANIFEST, STATE_FILE, PLAN_FILE])


def prepare_with_beam(
    dataset: str,
    kind: DatasetKind,
    source: str | os.PathLike | None,
    output: str,
    options: dict,
    settings: Settings,
    beam_options: Sequence[str],
    *,
    num_workers: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> dict:
    """`convert.prepare_dataset` with ``runner="beam"``: `plan_dataset`, then `convert_beam`."""
    options_ = pipeline_options(beam_options)
    FileSystems.set_options(options_)
    plan = plan_dataset(dataset, kind, source, output, options, progress)
    return convert_beam(
        plan,
        output,
        settings,
        beam_options=options_,
        num_workers=num_workers,
        progress=progress,
        overwrite=overwrite,
    )
