"""Video files -> sharded TFRecords + ``manifest.json`` (the library behind ``prepare``).

Execution of a `Plan`: videos are decoded (PyAV) onto a constant-rate timeline (the source's
nominal rate, or ``fps``), resized to a short side and JPEG-encoded in a thread pool (FFmpeg
and Pillow release the GIL) by `xwisenet_tf.data.frames.stored_frames`, the path prediction
shares; records are grouped by split into shards of
``videos_per_shard`` source videos, and every shard is written under a temporary name and
renamed once complete, beside a small ``<shard>.json`` with what it holds. A rerun with the
same arguments skips finished shards, so an interrupted conversion resumes; a shard a reader
would accept is always complete. ``manifest.json`` is written last.
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
from xwisenet_tf.data.decode import probe_video, timeline_fps
from xwisenet_tf.data.errors import DataError
from xwisenet_tf.data.frames import stored_frames
from xwisenet_tf.data.manifest import FORMAT_VERSION, MANIFEST, read_manifest, write_json
from xwisenet_tf.data.plan import SPLITS, Plan, VideoJob
from xwisenet_tf.data.timeline import as_rate

DATASETS = ("kth", "folder", "csv", "synthetic")
DEFAULT_SHORT_SIDE = 128
DEFAULT_JPEG_QUALITY = 90
DEFAULT_VIDEOS_PER_SHARD = 16
_STATE = ".prepare_state.json"


@dataclass(frozen=True)
class Settings:
    """Conversion settings recorded in the manifest (a rerun must use the same ones).

    ``fps``: frame rate of the stored frames (every video resampled to it by presentation
    time); ``None`` keeps each video's own nominal rate.
    """

    short_side: int | None = DEFAULT_SHORT_SIDE
    jpeg_quality: int = DEFAULT_JPEG_QUALITY
    videos_per_shard: int = DEFAULT_VIDEOS_PER_SHARD
    fps: float | None = None


@dataclass
class _Shard:
    name: str
    split: str
    jobs: list[VideoJob]


def _convert_job(job: VideoJob, label_index: dict[str, int], settings: Settings, tmp_dir: str):
    """Decodes one video and builds the records of its samples.

    Returns:
        ``(records, failures, warnings)`` with records a list of ``(meta, serialized)``.
    """
    shown = str(job.source)
    records, failures, warnings = [], [], []
    try:
        with job.source.local_file(tmp_dir) as path:
            try:
                info = probe_video(path)
                fps = timeline_fps(info, settings.fps)
                ranges = [s.timeline_range(timeline_fps(info), fps) for s in job.samples]
                first = min(start for start, _ in ranges)
                ends = [end for _, end in ranges]
                last = None if None in ends else max(ends)
                wanted = None
                if last is not None:
                    wanted = {i for start, end in ranges for i in range(start, end)}
                jpegs: dict[int, bytes] = {}
                decoded, shape = 0, (0, 0)
                frames = stored_frames(
                    path,
                    first,
                    last,
                    short_side=settings.short_side,
                    jpeg_quality=settings.jpeg_quality,
                    fps=settings.fps,
                    keep=None if wanted is None else wanted.__contains__,
                )
                for frame in frames:
                    decoded = frame.index + 1
                    if frame.jpeg is not None:
                        jpegs[frame.index] = frame.jpeg
                        shape = frame.height, frame.width
            except DataError as e:
                raise DataError(str(e).replace(path, shown)) from e
    except DataError as e:
        return [], [{"path": shown, "error": str(e)}], []
    except Exception as e:  # noqa: BLE001 - one bad video must not stop the conversion
        error = f"{shown}: unexpected error while converting ({type(e).__name__}: {e})"
        return [], [{"path": shown, "error": error}], []
    if decoded == 0:
        error = f"{shown}: video has no decodable frame; expected at least one frame"
        return [], [{"path": shown, "error": error}], []
    for sample, (start, stop) in zip(job.samples, ranges, strict=True):
        end = decoded if stop is None else min(stop, decoded)
        where = f"{shown}: sample {sample.id}"
        if sample.range_text:
            where += f" (frames {sample.range_text})"
        if start >= end:
            error = f"{where} starts after the last decoded frame ({decoded})"
            failures.append({"path": shown, "sample": sample.id, "error": error})
            continue
        if stop is not None and stop > decoded:
            warnings.append(f"{where} cut to the {decoded} decoded frames")
        frames = [jpegs[i] for i in range(start, end)]
        serialized = tfrecord.make_sequence_example(
            video_id=sample.id,
            source=shown,
            frame_start=start,
            fps=fps,
            label_index=label_index[sample.label],
            label_name=sample.label,
            height=shape[0],
            width=shape[1],
            jpeg_frames=frames,
        )
        meta = {
            "id": sample.id,
            "label": label_index[sample.label],
            "num_frames": len(frames),
            "frame_start": start,
            "fps": fps,
            "source": shown,
        }
        records.append((meta, serialized))
    return records, failures, warnings


def _assign_shards(plan: Plan, videos_per_shard: int) -> list[_Shard]:
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
                _Shard(name, split, jobs[k * videos_per_shard : (k + 1) * videos_per_shard])
            )
    return shards


def _fingerprint(plan: Plan, settings: Settings) -> str:
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
    for pattern in ("*.tfrecord", "*.tfrecord.json", "*.tmp", MANIFEST, _STATE):
        for path in glob.glob(os.path.join(output, pattern)):
            os.remove(path)


def _report(message: str) -> None:
    tqdm.write(message, file=sys.stderr)


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
        plan: What to convert (from `kth.plan_kth`, `folder.plan_folder`, ...).
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
    plan.check()
    output = os.fspath(output)
    os.makedirs(output, exist_ok=True)
    fingerprint = _fingerprint(plan, settings)
    state_path = os.path.join(output, _STATE)
    if os.path.isfile(state_path):
        with open(state_path, encoding="utf-8") as f:
            previous = json.load(f).get("fingerprint")
        if previous != fingerprint:
            if not overwrite:
                raise DataError(
                    f"{output}: holds a conversion made from other videos or settings; use an "
                    "empty output directory, or overwrite=True (--overwrite) to replace it"
                )
            _clear_output(output)
    elif overwrite:
        _clear_output(output)
    write_json(state_path, {"fingerprint": fingerprint})
    for stale in glob.glob(os.path.join(output, "*.tmp")):
        os.remove(stale)
    tmp_dir = os.path.join(output, ".tmp_extract")
    os.makedirs(tmp_dir, exist_ok=True)

    label_index = {name: i for i, name in enumerate(plan.classes)}
    shards = _assign_shards(plan, settings.videos_per_shard)
    done = {s.name: meta for s in shards if (meta := _shard_done(output, s.name)) is not None}
    pending = [s for s in shards if s.name not in done]
    if done and pending:
        _report(f"Resuming: {len(done)} of {len(shards)} shards already converted in {output}")
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
                    (shard, pool.submit(_convert_job, job, label_index, settings, tmp_dir))
                )
                position += 1
            shard, future = futures.popleft()
            records, failures, warnings = future.result()
            for failure in failures:
                _report(f"FAILED {failure['error']}")
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
    manifest = _build_manifest(plan, settings, shards, done)
    write_json(os.path.join(output, MANIFEST), manifest)
    _summarize(manifest, output)
    return manifest


def _write_shard(output: str, shard: _Shard, results: list) -> dict:
    metas, serialized, failures, warnings = [], [], [], []
    for records, fails, warns in results:
        for meta, record in records:
            metas.append(meta)
            serialized.append(record)
        failures += fails
        warnings += warns
    path = os.path.join(output, shard.name)
    # Records go to a temporary name, then the sidecar is written, then the records are renamed:
    # that rename is the commit point a rerun and a reader rely on.
    tmp = path + ".tmp"
    meta = {
        "shard": shard.name,
        "split": shard.split,
        "size": tfrecord.write_records(tmp, serialized),
        "videos": metas,
        "failed": failures,
        "warnings": warnings,
    }
    write_json(path + ".json", meta)
    os.replace(tmp, path)
    return meta


def _build_manifest(plan: Plan, settings: Settings, shards: list[_Shard], done: dict) -> dict:
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


def _summarize(manifest: dict, output: str) -> None:
    counts = ", ".join(f"{s}: {e['num_videos']}" for s, e in manifest["splits"].items())
    _report(f"Wrote {output}: {counts} samples of {len(manifest['classes'])} classes")
    if manifest["missing"]:
        _report(f"{len(manifest['missing'])} listed videos not found (see 'missing' in {MANIFEST})")
    if manifest["failed"]:
        _report(f"{len(manifest['failed'])} files or samples FAILED (see 'failed' in {MANIFEST}):")
        for failure in manifest["failed"]:
            _report(f"  {failure['error']}")


def prepare_dataset(
    dataset: str,
    source: str | os.PathLike | None,
    output: str | os.PathLike,
    **options,
) -> dict:
    """Converts a video dataset into sharded TFRecords (the function behind the CLI).

    Args:
        dataset: ``"kth"``, ``"folder"``, ``"csv"`` or ``"synthetic"``.
        source: KTH: folder with ``00sequences.txt`` and the action folders or zips (``None``
            downloads them to ``download_dir``). folder: the dataset folder. csv: the CSV file.
            synthetic: folder of generated videos (generated there if absent; ``None`` ->
            ``<output>_videos``).
        output: Directory for the shards and ``manifest.json``.
        **options: ``short_side`` (128; ``None`` keeps the original size), ``jpeg_quality``
            (90), ``videos_per_shard`` (16), ``fps`` (``None``: each video's own rate; a
            number resamples every video to it), ``num_workers``, ``progress`` (True),
            ``overwrite`` (False);
            kth: ``split`` (``"16/9"`` | ``"schuldt"``), ``download_dir``, ``base_url``;
            folder: ``classes``, ``test_fraction`` (0.2), ``seed`` (0);
            csv: ``classes``, ``video_root``;
            synthetic: ``videos_per_class``, ``seed`` and other `synthetic.generate` arguments.

    Returns:
        The manifest dict.

    Raises:
        DataError: bad arguments, no video found, or ``output`` holding another conversion.
            Individual bad videos do not raise: they are listed in ``manifest["failed"]``.
    """
    from xwisenet_tf.data import folder, kth, synthetic

    output = os.fspath(output)
    options = dict(options)
    # The synthetic videos are 96x72: stored at their own size, not upscaled.
    default_short_side = synthetic.HEIGHT if dataset == "synthetic" else DEFAULT_SHORT_SIDE
    settings = Settings(
        short_side=options.pop("short_side", default_short_side) or None,
        jpeg_quality=options.pop("jpeg_quality", DEFAULT_JPEG_QUALITY),
        videos_per_shard=options.pop("videos_per_shard", DEFAULT_VIDEOS_PER_SHARD),
        fps=options.pop("fps", None),
    )
    run = {k: options.pop(k) for k in ("num_workers", "progress", "overwrite") if k in options}
    progress = run.get("progress", True)
    if dataset == "kth":
        split = options.pop("split", "16/9")
        download_dir = options.pop("download_dir", None)
        base_url = options.pop("base_url", kth.BASE_URL)
        if source is None:
            download_dir = download_dir or os.path.join(
                os.path.dirname(os.path.abspath(output)), "downloads", "kth"
            )
            source = kth.download_kth(download_dir, base_url=base_url, progress=progress)
        _no_more(options, dataset)
        plan = kth.plan_kth(source, split=split)
    elif dataset == "folder":
        _need(source, dataset)
        plan = folder.plan_folder(source, **_take(options, "classes", "test_fraction", "seed"))
        _no_more(options, dataset)
    elif dataset == "csv":
        _need(source, dataset)
        plan = folder.plan_csv(source, **_take(options, "classes", "video_root"))
        _no_more(options, dataset)
    elif dataset == "synthetic":
        source = os.fspath(source) if source is not None else output.rstrip("/\\") + "_videos"
        if options or not synthetic.read_params(source).get("complete"):
            synthetic.generate(source, **options, progress=progress)
        plan = folder.plan_folder(source, classes=list(synthetic.CLASSES), dataset="synthetic")
        plan.info.update(synthetic.read_params(source))
    else:
        raise DataError(f"unknown dataset {dataset!r}; expected one of {DATASETS}")
    return convert(plan, output, settings, **run)


def _need(source, dataset: str) -> None:
    if source is None:
        raise DataError(f"dataset '{dataset}' needs a source path (--source)")


def _take(options: dict, *names: str) -> dict:
    return {n: options.pop(n) for n in names if n in options}


def _no_more(options: dict, dataset: str) -> None:
    if options:
        raise DataError(f"unknown options for dataset '{dataset}': {sorted(options)}")


def ensure_dataset(dataset_spec: str, data_dir: str | os.PathLike, **options) -> str:
    """Returns the directory of prepared TFRecords for a dataset, converting on first use.

    Cache layout under ``data_dir``: ``downloads/kth/`` (KTH zips and sequence file),
    ``synthetic_videos-v<N>/`` (videos of synthetic generator version N), and one TFRecord
    directory per dataset: ``kth``, ``synthetic-v<N>``, ``kth-<name>-<hash>``,
    ``folder-<name>-<hash>``, ``csv-<name>-<hash>``
    where the hash covers the absolute source path and the options. A directory with a
    ``manifest.json`` is reused as is (no re-scan of the source); an interrupted conversion is
    resumed.

    Args:
        dataset_spec: ``"kth"`` (download if needed), ``"kth:PATH"`` (local KTH folder or
            zips), ``"folder:PATH"``, ``"csv:PATH"`` or ``"synthetic"``.
        data_dir: Cache directory.
        **options: Passed to `prepare_dataset`.

    Returns:
        The prepared directory, ready for `load` and `read_manifest`.
    """
    from xwisenet_tf.data import synthetic

    data_dir = os.path.abspath(os.fspath(data_dir))
    kind, _, path = dataset_spec.partition(":")
    if (
        kind not in DATASETS
        or (kind in ("folder", "csv") and not path)
        or (kind == "synthetic" and path)
    ):
        raise DataError(
            f"unknown dataset spec {dataset_spec!r}; expected kth, kth:PATH, folder:PATH, "
            "csv:PATH or synthetic"
        )
    run_opts = {k: options.pop(k) for k in ("num_workers", "progress") if k in options}
    key_parts = {"path": os.path.abspath(path) if path else "", "options": options}
    digest = hashlib.sha256(
        json.dumps(key_parts, sort_keys=True, default=str).encode()
    ).hexdigest()[:8]
    # A new synthetic generator writes other videos: its cache never reuses an older one's.
    base = f"synthetic-v{synthetic.GENERATOR_VERSION}" if kind == "synthetic" else kind
    if path:
        name = os.path.splitext(os.path.basename(os.path.abspath(path)))[0]
        out = os.path.join(data_dir, f"{kind}-{name}-{digest}")
    else:
        out = os.path.join(data_dir, base if not options else f"{base}-{digest}")
    if os.path.isfile(os.path.join(out, MANIFEST)):
        read_manifest(out)
        return out
    source: str | None = os.path.abspath(path) if path else None
    if kind == "kth" and source is None:
        options.setdefault("download_dir", os.path.join(data_dir, "downloads", "kth"))
    if kind == "synthetic":
        videos = os.path.basename(out).replace("synthetic", "synthetic_videos", 1)
        source = os.path.join(data_dir, videos)
    prepare_dataset(kind, source, out, **options, **run_opts)
    return out
