"""Paths through Beam's FileSystems: local, gs://, s3://; a remote dataset's listing mirrored
for the planner.

`apache_beam.io.filesystems.FileSystems` reads and writes local paths and the file systems Beam
has (gs:// with ``apache-beam[gcp]``, s3:// with ``apache-beam[aws]``...). A remote dataset is
planned from a listing (`plan_dataset`): its tree is mirrored in a local temporary folder (empty
files; the text files, KTH's ``00sequences.txt`` or a CSV, copied; a KTH zip as the names of its
members), the dataset's planner runs on the mirror and the plan's paths are mapped back. A worker
copies a remote video to a local temporary file for FFmpeg (`fetch_video`).

Part of ``prepare --runner=beam``: Apache Beam is the optional extra
``pip install "xwisenet_tf[beam]"``, and only `beam_prepare` imports this module.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import posixpath
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import IO


class _DropBeamImportNotice(logging.Filter):
    # apache_beam's import warns on the root logger when the optional BigQuery client is absent.
    def filter(self, record: logging.LogRecord) -> bool:
        return "apitools not found" not in record.getMessage()


_notice = _DropBeamImportNotice()
logging.getLogger().addFilter(_notice)
try:
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems
finally:
    logging.getLogger().removeFilter(_notice)

from xwisenet_tf.data.dataset_kinds import DatasetKind  # noqa: E402
from xwisenet_tf.data.errors import DataError  # noqa: E402
from xwisenet_tf.data.plan import Plan, VideoJob, VideoSource  # noqa: E402
from xwisenet_tf.files import write_bytes as write_local_bytes  # noqa: E402

# Datasets whose videos may be listed remotely (synthetic videos are generated here).
REMOTE_DATASETS = ("kth", "folder", "csv")
_TEXT_FILES = (".txt", ".csv")  # copied into a remote dataset's mirror; other files are empty
_LISTING_THREADS = 16
_COPY_CHUNK = 1 << 20


# --- files ----------------------------------------------------------------------------------


def is_remote(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a file system by a scheme (``gs://``, ``s3://``...)."""
    return FileSystems.get_scheme(os.fspath(path)) is not None


def join(base: str, name: str) -> str:
    """``base/name`` in the file system of ``base``."""
    return FileSystems.join(base, name)


def open_file(path: str) -> IO[bytes]:
    """Opens ``path`` to read its bytes as they are (Beam would otherwise guess a compression
    from the extension)."""
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def create_file(path: str) -> IO[bytes]:
    """Creates ``path`` to write its bytes as they are (no compression guessed)."""
    return FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED)


def copy_stream(src: IO[bytes], dst: IO[bytes]) -> None:
    """Copies an open file into another, a chunk at a time."""
    shutil.copyfileobj(src, dst, _COPY_CHUNK)


def read_bytes(path: str) -> bytes:
    with open_file(path) as f:
        return f.read()


def write_bytes(path: str, content: bytes) -> None:
    """Writes a whole file: under a temporary name, then renamed (a reader sees all or none)."""
    if not is_remote(path):
        write_local_bytes(path, content)
        return
    tmp = f"{path}.{uuid.uuid4().hex}.tmp"
    with create_file(tmp) as f:
        f.write(content)
    FileSystems.rename([tmp], [path])


def write_json(path: str, data) -> None:
    """The bytes of `xwisenet_tf.files.write_json`, which the local runner writes."""
    write_bytes(path, (json.dumps(data, indent=1) + "\n").encode("utf-8"))


def listing(folder: str, pattern: str = "*") -> dict[str, int]:
    """The files ``folder/pattern`` (not below it): name -> size."""
    matched = FileSystems.match([join(folder, pattern)])[0].metadata_list
    return {posixpath.basename(m.path.replace(os.sep, "/")): m.size_in_bytes for m in matched}


def delete_matching(folder: str, patterns: Sequence[str]) -> None:
    """Deletes the files ``folder/pattern`` of each pattern."""
    paths = [
        m.path
        for r in FileSystems.match([join(folder, p) for p in patterns])
        for m in r.metadata_list
    ]
    if paths:
        FileSystems.delete(paths)


# --- committed shards -----------------------------------------------------------------------


def committed_sidecar(output: str, name: str, size: int | None) -> dict | None:
    """The sidecar ``<name>.json`` of the shard ``name`` if it is committed (its record file,
    of ``size`` bytes or absent when None, has the size the sidecar records), else None."""
    if size is None:
        return None
    try:
        meta = json.loads(read_bytes(join(output, name + ".json")))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and meta.get("size") == size else None


def committed_shards(output: str, names: Sequence[str]) -> dict[str, dict]:
    """Shard name -> sidecar, for the committed shards of ``names`` in ``output``."""
    files = listing(output)
    candidates = [n for n in names if n in files and n + ".json" in files]
    with ThreadPoolExecutor(_LISTING_THREADS) as pool:
        metas = pool.map(lambda name: committed_sidecar(output, name, files[name]), candidates)
        return {
            name: meta for name, meta in zip(candidates, metas, strict=True) if meta is not None
        }


# --- videos for FFmpeg ----------------------------------------------------------------------


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
            with os.fdopen(fd, "wb") as dst, open_file(source.path) as src:
                if source.member is None:
                    copy_stream(src, dst)
                else:
                    with zipfile.ZipFile(src) as archive, archive.open(source.member) as m:
                        copy_stream(m, dst)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
            raise DataError(f"{source}: cannot read it through Beam's file systems ({e})") from e
        yield tmp
    finally:
        with contextlib.suppress(OSError):
            os.remove(tmp)


# --- the plan of a remote dataset -----------------------------------------------------------


def _read_remote(remote: str) -> bytes:
    try:
        return read_bytes(remote)
    except OSError as e:
        raise DataError(f"{remote}: cannot read it through Beam's file systems ({e})") from e


class _Mirror:
    """Local copies of remote folders' listings, and the way back to the remote paths."""

    def __init__(self, tmp: str):
        self.tmp = tmp
        self.roots: dict[str, str] = {}  # local folder -> remote folder

    def tree(self, remote: str, zips: bool) -> str:
        """Mirrors every file below the folder ``remote`` (a zip as its member names when
        ``zips``); returns the local folder."""
        remote = remote.rstrip("/")
        local = os.path.join(self.tmp, str(len(self.roots)))
        try:
            found = FileSystems.match([remote + "/**"])[0].metadata_list
        except Exception as e:  # noqa: BLE001 - Beam's errors differ by file system
            raise DataError(f"{remote}: cannot list it through Beam's file systems ({e})") from e
        if not found:
            raise DataError(f"{remote}: no file found there; expected the dataset's folder")
        os.makedirs(local)
        self.roots[local] = remote
        for meta in found:
            if not meta.path.startswith(remote + "/") or meta.path.endswith("/"):
                continue
            parts = [p for p in meta.path[len(remote) + 1 :].split("/") if p]
            if not parts or any(p in (".", "..") for p in parts):
                continue
            target = os.path.join(local, *parts)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            ext = os.path.splitext(target)[1].lower()
            if ext in _TEXT_FILES:
                content = _read_remote(meta.path)
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
        content = _read_remote(remote)
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
        """``text`` (a planner's message) with the mirror's folders named by their remote ones."""
        for local, remote in self.roots.items():
            text = text.replace(local, remote)
        return text

    def remote_plan(self, plan: Plan) -> Plan:
        """``plan`` of the mirror, with the remote paths."""
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
        with open_file(remote) as f, zipfile.ZipFile(f) as archive:
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
    ``video_root``) made on a local mirror of its listing (module docstring).

    Raises:
        DataError: the planner's (remote paths named), a remote source of a dataset not in
            `REMOTE_DATASETS`, a remote output without a source (or for synthetic videos), or a remote folder or file that cannot be listed or read.
    """
    if is_remote(output) and (source is None or dataset == "synthetic"):
        raise DataError(
            f"{output}: a remote --output needs a --source the workers can read too; "
            f"dataset '{dataset}' without one makes its videos on this machine first "
            "(prepare to a local folder, or give --source)"
        )
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
