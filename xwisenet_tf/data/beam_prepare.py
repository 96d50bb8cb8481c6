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

Files go through Beam's file systems (`beam_files`): the source and the output may be local
paths or on any file system Beam has (gs://, s3://...); a remote dataset is planned from a
listing of its files (`beam_files.plan_dataset`), and a worker copies a remote video to a local
temporary file for FFmpeg.

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
import shutil
import sys
import tempfile
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict

# First: it loads Apache Beam without the notice Beam's import logs.
from xwisenet_tf.data.beam_files import (
    committed_shards,
    committed_sidecar,
    copy_stream,
    create_file,
    delete_matching,
    fetch_video,
    is_remote,
    join,
    listing,
    plan_dataset,
    read_bytes,
    write_bytes,
    write_json,
)

# isort: split
import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from xwisenet_tf.data.dataset_kinds import DatasetKind
from xwisenet_tf.data.errors import DataError
from xwisenet_tf.data.manifest import MANIFEST
from xwisenet_tf.data.plan import Plan, Sample, Settings, VideoJob, VideoSource
from xwisenet_tf.errors import one_line
from xwisenet_tf.quiet_start import filtered_stderr

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

logger = logging.getLogger(__name__)


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
    path = join(output, shard.name)
    tmp = f"{path}.{uuid.uuid4().hex}.tmp"
    if is_remote(path):
        fd, local = tempfile.mkstemp(suffix=".tfrecord", dir=tmp_dir)
        os.close(fd)
        try:
            size = tfrecord.write_records(local, serialized)
            with open(local, "rb") as src, create_file(tmp) as dst:
                copy_stream(src, dst)
        finally:
            with contextlib.suppress(OSError):
                os.remove(local)
    else:
        size = tfrecord.write_records(tmp, serialized)
    meta = shard_meta(shard, size, metas, failures, warnings)
    write_json(path + ".json", meta)
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

    def _convert_video(self, job: VideoJob):
        return video_records(job, self.label_index, self.settings, self.tmp_dir, fetch_video)

    def process(self, line: str):
        shard = _shard_of_line(line)
        path = join(self.output, shard.name)
        matched = FileSystems.match([path])[0].metadata_list
        size = matched[0].size_in_bytes if matched else None
        meta = committed_sidecar(self.output, shard.name, size)
        if meta is None:
            if self.threads > 1:
                with ThreadPoolExecutor(self.threads) as pool:
                    results = list(pool.map(self._convert_video, shard.jobs))
            else:
                results = [self._convert_video(job) for job in shard.jobs]
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
        return _convert_checked(
            plan, shown, settings, options, num_workers or 1, progress, overwrite
        )
    except OSError as e:  # Beam's BeamIOError too: a bucket not found, a permission refused
        raise DataError(
            f"{shown}: cannot read or write it through Beam's file systems ({one_line(e)})"
        ) from e


def _convert_checked(
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
    state_path = join(output, STATE_FILE)
    files = listing(output)
    if STATE_FILE in files:
        try:
            previous = json.loads(read_bytes(state_path)).get("fingerprint")
        except (OSError, ValueError, AttributeError):
            previous = None
        if previous != identity:
            if not overwrite:
                raise DataError(other_conversion(shown))
            _clear_output(output)
    elif overwrite:
        _clear_output(output)
    write_json(state_path, {"fingerprint": identity})
    delete_matching(output, ["*.tmp", PLAN_FILE])  # a killed run's (the plan is made anew)

    shards = assign_shards(plan, settings.videos_per_shard)
    done = committed_shards(output, [s.name for s in shards])
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
        plan_path = join(output, PLAN_FILE)
        write_bytes(plan_path, "".join(_shard_line(s) + "\n" for s in pending).encode("utf-8"))
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
        done.update(committed_shards(output, [s.name for s in pending]))
        missing = [s.name for s in pending if s.name not in done]
        if missing:
            raise DataError(
                f"{shown}: the Beam pipeline finished without writing {len(missing)} shards "
                f"({', '.join(missing[:3])}...); rerun the same command to convert them"
            )
        delete_matching(output, [PLAN_FILE])
    manifest = build_manifest(plan, settings, shards, done)
    write_json(join(output, MANIFEST), manifest)
    summarize(manifest, shown)
    return manifest


def _clear_output(output: str) -> None:
    delete_matching(
        output, ["*.tfrecord", "*.tfrecord.json", "*.tmp", MANIFEST, STATE_FILE, PLAN_FILE]
    )


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
    parsed_options = pipeline_options(beam_options)
    FileSystems.set_options(parsed_options)
    plan = plan_dataset(dataset, kind, source, output, options, progress)
    return convert_beam(
        plan,
        output,
        settings,
        beam_options=parsed_options,
        num_workers=num_workers,
        progress=progress,
        overwrite=overwrite,
    )
