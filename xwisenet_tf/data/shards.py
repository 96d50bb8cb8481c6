"""Execution of a `Plan`: its videos -> sharded TFRecords + ``manifest.json``, resumable.

Videos are converted (`xwisenet_tf.data.records.video_records`) in a thread pool (FFmpeg and
Pillow release the GIL); records are grouped by split into shards of ``videos_per_shard``
source videos, and every shard is written under a temporary name and renamed once complete,
beside a small ``<shard>.json`` with what it holds. A rerun with the same arguments skips
finished shards, so an interrupted conversion resumes; a shard a reader would accept is always
complete. ``manifest.json`` is written last.

The shard rules (`assign_shards`), the sidecars (`shard_meta`) and the manifest
(`build_manifest`) are shared with `xwisenet_tf.data.beam_prepare`, which runs the same
conversion as an Apache Beam pipeline (``prepare --runner=beam``).
"""

from __future__ import annotations

import collections
import glob
import hashlib
import json
import math
import os
import random
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace

from tqdm.auto import tqdm

from xwisenet_tf.data import tfrecord
from xwisenet_tf.data.errors import DataError
from xwisenet_tf.data.manifest import FORMAT_VERSION, MANIFEST
from xwisenet_tf.data.plan import SPLITS, Plan, Settings, VideoJob
from xwisenet_tf.data.records import video_records
from xwisenet_tf.data.timeline import as_rate
from xwisenet_tf.files import write_json

# The fingerprint of the conversion an output directory holds (plan and settings).
STATE_FILE = ".prepare_state.json"


@dataclass
class Shard:
    """One output file: its name, split and the source videos whose records it holds."""

    name: str
    split: str
    jobs: list[VideoJob]


def assign_shards(plan: Plan, videos_per_shard: int) -> list[Shard]:
    """The shards of a conversion, in manifest order: per split, ``videos_per_shard`` source
    videos each, named ``<split>-<k>-of-<count>.tfrecord``; the same for every runner."""
    by_split = collections.defaultdict(list)
    for job in plan.jobs:
        by_split[job.split].append(job)
    # Plans list videos class by class; a fixed shuffle mixes classes within every shard, so
    # that interleaving a few shards at training time already gives mixed batches.
    for jobs in by_split.values():
        random.Random(0).shuffle(jobs)
    shards = []
    for split in SPLITS:
        jobs = by_split.get(split, [])
        count = math.ceil(len(jobs) / videos_per_shard)
        for k in range(count):
            name = f"{split}-{k:05d}-of-{count:05d}.tfrecord"
            shards.append(
                Shard(name, split, jobs[k * videos_per_shard : (k + 1) * videos_per_shard])
            )
    return shards


def fingerprint(plan: Plan, settings: Settings) -> str:
    """What identifies a conversion: its settings, classes, videos and samples (a rerun with the
    same ones resumes; other ones are refused unless overwrite)."""
    recorded = asdict(settings)
    if recorded["fps"] is None:
        del recorded["fps"]  # conversions made before fps existed resume
    content = {
        "settings": recorded,
        "classes": plan.classes,
        "jobs": [[str(j.source), [asdict(s) for s in j.samples]] for j in plan.jobs],
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _shard_done(output: str, name: str) -> dict | None:
    record_path = os.path.join(output, name)
    meta_path = record_path + ".json"
    if not (os.path.isfile(record_path) and os.path.isfile(meta_path)):
        return None
    try:
        with open(meta_path, encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, json.JSONDecodeError):
        return None
    if meta.get("size") != os.path.getsize(record_path):
        return None
    return meta


def _clear_output(output: str) -> None:
    for pattern in ("*.tfrecord", "*.tfrecord.json", "*.tmp", MANIFEST, STATE_FILE):
        for path in glob.glob(os.path.join(output, pattern)):
            os.remove(path)


def report(message: str) -> None:
    """A line of the conversion's report on stderr (beside a progress bar)."""
    tqdm.write(message, file=sys.stderr)


def checked_settings(settings: Settings | None) -> Settings:
    """``settings`` (default `Settings()`) checked, with ``fps`` as a float.

    Raises:
        DataError: naming the setting out of range.
    """
    settings = settings or Settings()
    if settings.short_side is not None and settings.short_side < 1:
        raise DataError(
            f"short_side must be a positive number of pixels; received {settings.short_side}"
        )
    if not 1 <= settings.jpeg_quality <= 100:
        raise DataError(f"jpeg_quality must be in [1, 100]; received {settings.jpeg_quality}")
    if settings.videos_per_shard < 1:
        raise DataError(f"videos_per_shard must be >= 1; received {settings.videos_per_shard}")
    if settings.fps is not None:
        settings = replace(settings, fps=float(as_rate(settings.fps, "fps")))
    return settings


def convert(
    plan: Plan,
    output: str | os.PathLike,
    settings: Settings | None = None,
    *,
    num_workers: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> dict:
    """Executes a conversion plan into ``output`` (resumable; see module docstring).

    Args:
        plan: What to convert (from a planner of `dataset_kinds`: `kth.plan_kth`, ...).
        output: Directory for shards and ``manifest.json``.
        settings: Frame size, JPEG quality, shard size, frame rate.
        num_workers: Decoding threads (default: CPU count).
        progress: Show a progress bar.
        overwrite: Delete an earlier conversion in ``output`` made with other settings instead
            of refusing.

    Returns:
        The manifest dict (also written to ``output/manifest.json``).

    Raises:
        DataError: the plan is empty/invalid or ``output`` holds a different conversion.
    """
    settings = checked_settings(settings)
    plan.check()
    output = os.fspath(output)
    os.makedirs(output, exist_ok=True)
    identity = fingerprint(plan, settings)
    state_path = os.path.join(output, STATE_FILE)
    if os.path.isfile(state_path):
        with open(state_path, encoding="utf-8") as f:
            previous = json.load(f).get("fingerprint")
        if previous != identity:
            if not overwrite:
                raise DataError(other_conversion(output))
            _clear_output(output)
    elif overwrite:
        _clear_output(output)
    write_json(state_path, {"fingerprint": identity})
    for stale in glob.glob(os.path.join(output, "*.tmp")):
        os.remove(stale)
    tmp_dir = os.path.join(output, ".tmp_extract")
    os.makedirs(tmp_dir, exist_ok=True)

    label_index = {name: i for i, name in enumerate(plan.classes)}
    shards = assign_shards(plan, settings.videos_per_shard)
    done = {s.name: meta for s in shards if (meta := _shard_done(output, s.name)) is not None}
    pending = [s for s in shards if s.name not in done]
    if done and pending:
        report(f"Resuming: {len(done)} of {len(shards)} shards already converted in {output}")
    queue = [(s, j) for s in pending for j in s.jobs]
    workers = num_workers or os.cpu_count() or 1
    window = 4 * workers
    bar = tqdm(
        total=len(queue), unit="video", desc=f"Converting {plan.dataset}", disable=not progress
    )
    pool = ThreadPoolExecutor(workers)
    try:
        futures = collections.deque()
        position = 0
        results: dict[str, list] = collections.defaultdict(list)
        while position < len(queue) or futures:
            while position < len(queue) and len(futures) < window:
                shard, job = queue[position]
                futures.append(
                    (shard, pool.submit(video_records, job, label_index, settings, tmp_dir))
                )
                position += 1
            shard, future = futures.popleft()
            records, failures, warnings = future.result()
            for failure in failures:
                report(f"FAILED {failure['error']}")
            results[shard.name].append((records, failures, warnings))
            bar.update(1)
            if len(results[shard.name]) == len(shard.jobs):
                done[shard.name] = _write_shard(output, shard, results.pop(shard.name))
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        bar.close()
    pool.shutdown()
    if not os.listdir(tmp_dir):
        os.rmdir(tmp_dir)
    manifest = build_manifest(plan, settings, shards, done)
    write_json(os.path.join(output, MANIFEST), manifest)
    summarize(manifest, output)
    return manifest


def _write_shard(output: str, shard: Shard, results: list) -> dict:
    metas, serialized, failures, warnings = gather_results(results)
    path = os.path.join(output, shard.name)
    # Records go to a temporary name, then the sidecar is written, then the records are renamed:
    # that rename is the commit point a rerun and a reader rely on.
    tmp = path + ".tmp"
    size = tfrecord.write_records(tmp, serialized)
    meta = shard_meta(shard, size, metas, failures, warnings)
    write_json(path + ".json", meta)
    os.replace(tmp, path)
    return meta


def other_conversion(output: str) -> str:
    """The message of an output directory that holds another conversion."""
    return (
        f"{output}: holds a conversion made from other videos or settings; use an "
        "empty output directory, or overwrite=True (--overwrite) to replace it"
    )


def gather_results(results: list) -> tuple[list, list, list, list]:
    """A shard's `video_records` results, in its videos' order -> ``(metas, serialized,
    failures, warnings)``."""
    metas, serialized, failures, warnings = [], [], [], []
    for records, fails, warns in results:
        for meta, record in records:
            metas.append(meta)
            serialized.append(record)
        failures += fails
        warnings += warns
    return metas, serialized, failures, warnings


def shard_meta(shard: Shard, size: int, metas: list, failures: list, warnings: list) -> dict:
    """The sidecar ``<shard>.json`` of a written shard: what it holds, what failed."""
    return {
        "shard": shard.name,
        "split": shard.split,
        "size": size,
        "videos": metas,
        "failed": failures,
        "warnings": warnings,
    }


def build_manifest(plan: Plan, settings: Settings, shards: list[Shard], done: dict) -> dict:
    """The manifest (layout in `xwisenet_tf.data.manifest`) of a finished conversion, from the
    sidecars ``done`` (shard name -> `shard_meta`) of all its ``shards``."""
    splits: dict[str, dict] = {}
    failed, warnings = [], []
    for shard in shards:
        meta = done[shard.name]
        entry = splits.setdefault(
            shard.split,
            {
                "num_videos": 0,
                "num_frames": 0,
                "per_class": dict.fromkeys(plan.classes, 0),
                "shards": [],
                "videos": [],
            },
        )
        entry["shards"].append(
            {"file": shard.name, "size": meta["size"], "records": len(meta["videos"])}
        )
        entry["videos"] += meta["videos"]
        entry["num_videos"] += len(meta["videos"])
        for video in meta["videos"]:
            entry["num_frames"] += video["num_frames"]
            entry["per_class"][plan.classes[video["label"]]] += 1
        failed += meta["failed"]
        warnings += meta["warnings"]
    from xwisenet_tf import __version__

    return {
        "format_version": FORMAT_VERSION,
        "dataset": plan.dataset,
        "source": plan.source,
        "classes": plan.classes,
        "splits": splits,
        "failed": failed,
        "missing": plan.missing,
        "warnings": warnings,
        "settings": asdict(settings),
        "info": plan.info,
        "xwisenet_tf_version": __version__,
    }


def summarize(manifest: dict, output: str) -> None:
    """Reports what a conversion wrote, what was missing and what failed."""
    counts = ", ".join(f"{s}: {e['num_videos']}" for s, e in manifest["splits"].items())
    report(f"Wrote {output}: {counts} samples of {len(manifest['classes'])} classes")
    if manifest["missing"]:
        report(f"{len(manifest['missing'])} listed videos not found (see 'missing' in {MANIFEST})")
    if manifest["failed"]:
        report(f"{len(manifest['failed'])} files or samples FAILED (see 'failed' in {MANIFEST}):")
        for failure in manifest["failed"]:
            report(f"  {failure['error']}")
