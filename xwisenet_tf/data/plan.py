"""What a conversion will do: the videos to decode and the samples (records) cut from them
(`Plan`), and how (`Settings`: frame size, JPEG quality, shard size, frame rate).

Dataset sources (`kth`, `folder`, `csv`, `synthetic`; registered in `dataset_kinds`) only
build a `Plan`; `shards.convert` executes it.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction

from xwisenet_tf.data.errors import DataError

SPLITS = ("train", "validation", "test")
DEFAULT_SHORT_SIDE = 128
DEFAULT_JPEG_QUALITY = 90
DEFAULT_VIDEOS_PER_SHARD = 16

# Folder names accepted for each split (case-insensitive).
SPLIT_ALIASES = {
    "train": "train",
    "training": "train",
    "val": "validation",
    "valid": "validation",
    "validate": "validation",
    "validation": "validation",
    "test": "test",
    "testing": "test",
}


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


@dataclass(frozen=True)
class VideoSource:
    """A video file on disk, or a member of a zip archive (``member`` set)."""

    path: str
    member: str | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.member}" if self.member else self.path

    @contextlib.contextmanager
    def local_file(self, tmp_dir: str | None = None) -> Iterator[str]:
        """Yields a path FFmpeg can open (a zip member is extracted to a temporary file)."""
        if self.member is None:
            yield self.path
            return
        suffix = os.path.splitext(self.member)[1]
        fd, tmp = tempfile.mkstemp(suffix=suffix, dir=tmp_dir)
        try:
            try:
                with zipfile.ZipFile(self.path) as archive, archive.open(self.member) as src:
                    with os.fdopen(fd, "wb") as dst:
                        shutil.copyfileobj(src, dst)
            except (zipfile.BadZipFile, KeyError, OSError) as e:
                raise DataError(f"{self}: cannot extract from zip archive ({e})") from e
            yield tmp
        finally:
            with contextlib.suppress(OSError):
                os.remove(tmp)


@dataclass(frozen=True)
class Sample:
    """One output record: frames ``[start, end)`` (0-based; ``end=None`` to the end) of a video.

    The range counts the source's own frames at its nominal rate, as datasets list them (KTH's
    ``00sequences.txt``); `timeline_range` gives the frames of the constant-rate timeline the
    video is stored on. ``range_text`` is how the source described the range (e.g. KTH's
    ``"305-390"``), for messages.
    """

    id: str
    label: str
    split: str
    start: int = 0
    end: int | None = None
    range_text: str = ""

    def timeline_range(
        self, source_fps: Fraction | float, fps: Fraction | float
    ) -> tuple[int, int | None]:
        """The sample's frames on a timeline at ``fps`` of a source at ``source_fps``.

        Timeline frame ``i`` shows the source frame nearest to its time ``i / fps`` (see
        `xwisenet_tf.data.timeline`), so the sample keeps the timeline frames whose nearest
        source frame lies in ``[start, end)``; at least one. At the source's own rate the range
        is unchanged.

        Returns:
            ``(start, end)`` on the timeline, ``end`` ``None`` when the sample runs to the end.
        """
        ratio = Fraction(fps) / Fraction(source_fps)
        if ratio == 1:
            return self.start, self.end
        start = math.ceil((self.start - Fraction(1, 2)) * ratio)
        if self.end is None:
            return start, None
        return start, max(start + 1, math.ceil((self.end - Fraction(1, 2)) * ratio))


@dataclass
class VideoJob:
    """A video to decode once and the samples to cut from it."""

    source: VideoSource
    samples: list[Sample]

    @property
    def split(self) -> str:
        return self.samples[0].split


@dataclass
class Plan:
    """Everything a conversion needs, decided before any video is decoded.

    Attributes:
        dataset: Dataset kind (``kth``, ``folder``, ``csv``, ``synthetic``).
        source: Where the videos come from.
        classes: Class names; a sample's label index is its position here.
        jobs: Videos to convert.
        missing: Listed samples/videos that were not found (``{"name", "reason"}`` dicts).
        info: Dataset-specific facts written to the manifest (split scheme, fractions...).
    """

    dataset: str
    source: str
    classes: list[str]
    jobs: list[VideoJob]
    missing: list[dict] = field(default_factory=list)
    info: dict = field(default_factory=dict)

    def check(self) -> None:
        """Raises DataError if the plan cannot be converted (no video, unknown label, id clash)."""
        if not self.jobs:
            raise DataError(
                f"{self.source}: found no video to convert for dataset '{self.dataset}'"
                + (f" ({len(self.missing)} listed but missing)" if self.missing else "")
            )
        known = set(self.classes)
        seen: set[tuple[str, str]] = set()
        for job in self.jobs:
            for s in job.samples:
                if s.label not in known:
                    raise DataError(f"{job.source}: label '{s.label}' is not one of {self.classes}")
                if s.split not in SPLITS:
                    raise DataError(f"{job.source}: split '{s.split}' is not one of {SPLITS}")
                if (s.split, s.id) in seen:
                    raise DataError(f"{job.source}: sample id '{s.id}' occurs twice in '{s.split}'")
                seen.add((s.split, s.id))
