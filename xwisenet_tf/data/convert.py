"""Video datasets -> sharded TFRecords + ``manifest.json``: the library behind ``prepare``.

`prepare_dataset` plans a conversion with the dataset's planner (`dataset_kinds.KINDS`) and
executes it (`shards.convert`: resumable, one bad video reported, not raised; or, with
``runner="beam"``, `beam_prepare.convert_beam`: the same conversion as an Apache Beam
pipeline); `ensure_dataset` does it once per dataset in a cache directory.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os

from xwisenet_tf.data.dataset_kinds import DATASETS, KINDS, PREPARED, is_spec, spec_forms
from xwisenet_tf.data.errors import DataError
from xwisenet_tf.data.manifest import MANIFEST, read_manifest
from xwisenet_tf.data.plan import (
    DEFAULT_JPEG_QUALITY,
    DEFAULT_SHORT_SIDE,
    DEFAULT_VIDEOS_PER_SHARD,
    Settings,
)
from xwisenet_tf.data.shards import convert

RUNNERS = ("local", "beam")
# The one line ``prepare --runner=beam`` answers without the extra installed.
BEAM_MISSING = (
    "--runner=beam needs Apache Beam, an optional extra: pip install 'xwisenet_tf[beam]' "
    "(in a checkout: pip install -e '.[beam]')"
)

__all__ = [
    "DATASETS",
    "RUNNERS",
    "DEFAULT_JPEG_QUALITY",
    "DEFAULT_SHORT_SIDE",
    "DEFAULT_VIDEOS_PER_SHARD",
    "Settings",
    "convert",
    "ensure_dataset",
    "prepare_dataset",
]


def prepare_dataset(
    dataset: str,
    source: str | os.PathLike | None,
    output: str | os.PathLike,
    **options,
) -> dict:
    """Converts a video dataset into sharded TFRecords (the function behind the CLI).

    Args:
        dataset: A kind of `DATASETS`: ``"kth"``, ``"folder"``, ``"csv"`` or ``"synthetic"``.
        source: KTH: folder with ``00sequences.txt`` and the action folders or zips (``None``
            downloads them to ``download_dir``). folder: the dataset folder. csv: the CSV file.
            synthetic: folder of generated videos (generated there if absent; ``None`` ->
            ``<output>_videos``).
        output: Directory for the shards and ``manifest.json``.
        **options: ``short_side`` (128, synthetic 72: `DatasetKind.short_side`; ``None``
            keeps the original size), ``jpeg_quality`` (90), ``videos_per_shard`` (16), ``fps``
            (``None``: each video's own rate; a number resamples every video to it),
            ``num_workers``, ``progress`` (True), ``overwrite`` (False),
            ``runner`` (``"local"``: a thread pool here; ``"beam"``: an Apache Beam pipeline,
            `beam_prepare.convert_beam`, where ``num_workers`` are the threads of one shard),
            ``beam_options`` (Beam's pipeline options as command-line tokens, e.g.
            ``["--runner=DataflowRunner", "--project=p"]``; ``runner="beam"`` only);
            kth: ``split`` (``"16/9"`` | ``"schuldt"``), ``download_dir``, ``base_url``;
            folder: ``classes``, ``test_fraction`` (0.2), ``seed`` (0);
            csv: ``classes``, ``video_root``;
            synthetic: ``videos_per_class``, ``seed`` and other `synthetic.generate` arguments.

    Returns:
        The manifest dict.

    Raises:
        DataError: bad arguments, no video found, ``output`` holding another conversion, or
            ``runner="beam"`` without Apache Beam installed. Individual bad videos do not
            raise: they are listed in ``manifest["failed"]``.
    """
    output = os.fspath(output)
    options = dict(options)
    runner = options.pop("runner", "local")
    beam_options = options.pop("beam_options", None)
    if runner not in RUNNERS:
        raise DataError(f"unknown runner {runner!r}; expected one of {RUNNERS}")
    if beam_options and runner != "beam":
        raise DataError(f"beam_options need runner='beam'; received runner={runner!r}")
    kind = KINDS.get(dataset)
    if kind is None:
        raise DataError(f"unknown dataset {dataset!r}; expected one of {DATASETS}")
    settings = Settings(
        short_side=options.pop("short_side", kind.short_side) or None,
        jpeg_quality=options.pop("jpeg_quality", DEFAULT_JPEG_QUALITY),
        videos_per_shard=options.pop("videos_per_shard", DEFAULT_VIDEOS_PER_SHARD),
        fps=options.pop("fps", None),
    )
    run = {k: options.pop(k) for k in ("num_workers", "progress", "overwrite") if k in options}
    if runner == "beam":
        beam = beam_runner()  # before any planning: a missing extra fails at once
        return beam.prepare_with_beam(
            dataset, kind, source, output, options, settings, beam_options or [], **run
        )
    plan = kind.plan(source, output, options, run.get("progress", True))
    return convert(plan, output, settings, **run)


def beam_runner():
    """The module of ``runner="beam"`` (`xwisenet_tf.data.beam_prepare`), imported only here.

    Raises:
        DataError: Apache Beam is not installed (`BEAM_MISSING`: the command that installs it).
    """
    try:
        return importlib.import_module("xwisenet_tf.data.beam_prepare")
    except ImportError as e:
        if (e.name or "").partition(".")[0] != "apache_beam":
            raise
        raise DataError(BEAM_MISSING) from None


def ensure_dataset(dataset_spec: str, data_dir: str | os.PathLike, **options) -> str:
    """Returns the directory of prepared TFRecords for a dataset, converting on first use.

    Cache layout under ``data_dir``: ``downloads/kth/`` (KTH zips and sequence file),
    ``synthetic_videos-v<N>/`` (videos of synthetic generator version N), and one TFRecord
    directory per dataset: ``kth``, ``synthetic-v<N>``, ``kth-<name>-<hash>``,
    ``folder-<name>-<hash>``, ``csv-<name>-<hash>``
    where the hash covers the absolute source path and the options. A directory with a
    ``manifest.json`` is reused as is (no re-scan of the source); an interrupted conversion is
    resumed. ``"prepared:PATH"`` names a directory ``prepare`` already wrote (e.g. with
    ``--runner=beam`` on a cluster): it is checked (`read_manifest`) and returned; nothing is
    converted or written, in ``data_dir`` or anywhere else.

    Args:
        dataset_spec: ``"kth"`` (download if needed), ``"kth:PATH"`` (local KTH folder or
            zips), ``"folder:PATH"``, ``"csv:PATH"``, ``"synthetic"`` or ``"prepared:PATH"``.
        data_dir: Cache directory (unused by ``"prepared:PATH"``).
        **options: Passed to `prepare_dataset` (``"prepared:PATH"``: none but
            ``num_workers`` and ``progress``, which it ignores).

    Returns:
        The prepared directory, ready for `load` and `read_manifest`.

    Raises:
        DataError: an unknown spec, a conversion that fails, or a ``"prepared:PATH"`` without
            a ``manifest.json`` or given dataset options.
    """
    data_dir = os.path.abspath(os.fspath(data_dir))
    if not is_spec(dataset_spec):
        raise DataError(f"unknown dataset spec {dataset_spec!r}; expected {spec_forms()}")
    name, _, path = dataset_spec.partition(":")
    if name == PREPARED:
        return _prepared_dir(path, options)
    kind = KINDS[name]
    run_opts = {k: options.pop(k) for k in ("num_workers", "progress") if k in options}
    key_parts = {"path": os.path.abspath(path) if path else "", "options": options}
    digest = hashlib.sha256(
        json.dumps(key_parts, sort_keys=True, default=str).encode()
    ).hexdigest()[:8]
    base = kind.cache_name or name
    if path:
        stem = os.path.splitext(os.path.basename(os.path.abspath(path)))[0]
        out = os.path.join(data_dir, f"{name}-{stem}-{digest}")
    else:
        out = os.path.join(data_dir, base if not options else f"{base}-{digest}")
    if os.path.isfile(os.path.join(out, MANIFEST)):
        read_manifest(out)
        return out
    source: str | None = os.path.abspath(path) if path else None
    if source is None and kind.in_cache is not None:
        source = kind.in_cache(data_dir, out, options)
    prepare_dataset(name, source, out, **options, **run_opts)
    return out


def _prepared_dir(path: str, options: dict) -> str:
    """The absolute ``path`` of a ``prepared:PATH`` spec, once its manifest reads."""
    options = {k: v for k, v in options.items() if k not in ("num_workers", "progress")}
    if options:
        raise DataError(
            f"dataset '{PREPARED}:{path}' takes no dataset options (received {sorted(options)}): "
            "its videos were converted, with their options, by "
            "`python -m xwisenet_tf.data.prepare`"
        )
    out = os.path.abspath(path)
    if not os.path.isfile(os.path.join(out, MANIFEST)):
        raise DataError(
            f"{out}: no {MANIFEST}, so not a prepared directory (dataset '{PREPARED}:{path}'); "
            "create it with `python -m xwisenet_tf.data.prepare --dataset=KIND --source=... "
            f"--output={path}`, or finish that conversion by rerunning it"
        )
    read_manifest(out)
    return out
