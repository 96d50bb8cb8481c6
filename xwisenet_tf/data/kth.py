"""The KTH human actions dataset (Schuldt, Laptev, Caputo, ICPR 2004), paper sec. IV-A.

Each of the 599 videos is cut into its ~4 sub-sequences listed in ``00sequences.txt``; the 2391
sequences are the samples. Splits by subject (person):

* ``"16/9"`` (default, the paper's): test persons 02 03 05 06 07 08 09 10 22 -> ``test``; the
  other 16 -> ``train``.
* ``"schuldt"``: validation persons 19 20 21 23 24 25 01 04 -> ``validation``; test as above;
  the other 8 (11-18) -> ``train``.

Videos are found in an extracted folder (``<root>/<action>/personXX_<action>_dY_uncomp.avi``,
any depth, any container FFmpeg reads) or in the six original zip files ``<root>/<action>.zip``.
"""

from __future__ import annotations

import os
import re
import zipfile

from xwisenet_tf.data.decode import VIDEO_EXTENSIONS
from xwisenet_tf.data.download import download
from xwisenet_tf.data.errors import DataError
from xwisenet_tf.data.plan import Plan, Sample, VideoJob, VideoSource
from xwisenet_tf.data.synthetic_defaults import QUICK_START_MINUTES

ACTIONS = ("walking", "jogging", "running", "boxing", "handwaving", "handclapping")
TEST_PERSONS = (2, 3, 5, 6, 7, 8, 9, 10, 22)
SCHULDT_VALIDATION_PERSONS = (19, 20, 21, 23, 24, 25, 1, 4)
SPLIT_SCHEMES = ("16/9", "schuldt")
SEQUENCE_FILE = "00sequences.txt"
BASE_URL = "http://www.csc.kth.se/cvap/actions/"

_NAME = re.compile(r"^(person(\d\d)_([a-z]+)_d(\d))(?:_uncomp)?$")
_RANGE = re.compile(r"(\d+)\s*-\s*(\d+)")


def parse_sequence_file(path: str | os.PathLike) -> dict[str, list[tuple[int, int]] | None]:
    """Parses KTH's ``00sequences.txt`` as it really is.

    Tolerates CRLF line ends, mixed tabs and spaces, free text around the table, and keeps
    overlapping or out-of-order ranges as listed (each is one sample, numbered in file order).

    Args:
        path: The sequence file.

    Returns:
        ``{"person01_boxing_d1": [(1, 95), (96, 185), ...], ...}`` with 1-based inclusive frame
        ranges as written; ``None`` for a video marked ``*missing*``.

    Raises:
        DataError: naming the file and line of a malformed entry, or when no entry is found.
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="latin-1") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise DataError(f"{path}: cannot read the KTH sequence file ({e})") from e
    table: dict[str, list[tuple[int, int]] | None] = {}
    for number, line in enumerate(lines, 1):
        fields = line.split()
        if not fields or not _NAME.match(fields[0]):
            continue
        name = _NAME.match(fields[0]).group(1)
        if name not in table and "*missing*" in line:
            table[name] = None
            continue
        rest = line.split("frames", 1)
        if len(rest) != 2:
            raise DataError(f"{path}:{number}: expected '{name}  frames  a-b, c-d, ...'")
        ranges = [(int(a), int(b)) for a, b in _RANGE.findall(rest[1])]
        leftover = _RANGE.sub("", rest[1]).replace(",", "").strip()
        if not ranges or leftover:
            raise DataError(
                f"{path}:{number}: cannot read the frame ranges of {name}: {rest[1].strip()!r}"
            )
        for a, b in ranges:
            if a < 1 or b < a:
                raise DataError(f"{path}:{number}: invalid frame range {a}-{b} for {name}")
        if name in table:
            raise DataError(f"{path}:{number}: {name} is listed twice")
        table[name] = ranges
    if not table:
        raise DataError(
            f"{path}: no KTH sequence entry found; expected lines like "
            "'person01_boxing_d1  frames  1-95, 96-185, ...'"
        )
    return table


def split_of(person: int, scheme: str = "16/9") -> str:
    """The split of a KTH subject under ``scheme`` (``"16/9"`` or ``"schuldt"``)."""
    if scheme not in SPLIT_SCHEMES:
        raise DataError(f"unknown KTH split scheme {scheme!r}; expected one of {SPLIT_SCHEMES}")
    if person in TEST_PERSONS:
        return "test"
    if scheme == "schuldt" and person in SCHULDT_VALIDATION_PERSONS:
        return "validation"
    return "train"


def find_sequence_file(root: str | os.PathLike) -> str:
    """Finds ``00sequences.txt`` in ``root`` (or below it)."""
    root = os.fspath(root)
    direct = os.path.join(root, SEQUENCE_FILE)
    if os.path.isfile(direct):
        return direct
    for dirpath, _, files in os.walk(root):
        if SEQUENCE_FILE in files:
            return os.path.join(dirpath, SEQUENCE_FILE)
    raise DataError(
        f"{direct}: KTH sequence file not found; put {SEQUENCE_FILE} "
        f"({BASE_URL}{SEQUENCE_FILE}) beside the action folders or zips"
    )


def find_videos(root: str | os.PathLike) -> dict[str, VideoSource]:
    """Finds KTH videos under ``root``: extracted files first, then members of ``<action>.zip``.

    Returns:
        ``{"person01_boxing_d1": VideoSource, ...}``.
    """
    root = os.fspath(root)
    found: dict[str, VideoSource] = {}
    zips = []
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            stem, ext = os.path.splitext(name)
            if ext.lower() == ".zip" and stem in ACTIONS:
                zips.append(os.path.join(dirpath, name))
            match = _NAME.match(stem)
            if match and ext.lower() in VIDEO_EXTENSIONS:
                found.setdefault(match.group(1), VideoSource(os.path.join(dirpath, name)))
    for archive in zips:
        try:
            with zipfile.ZipFile(archive) as z:
                members = z.namelist()
        except (zipfile.BadZipFile, OSError) as e:
            raise DataError(f"{archive}: not a readable zip archive ({e})") from e
        for member in members:
            stem, ext = os.path.splitext(os.path.basename(member))
            match = _NAME.match(stem)
            if match and ext.lower() in VIDEO_EXTENSIONS:
                found.setdefault(match.group(1), VideoSource(archive, member))
    return found


def plan_kth(root: str | os.PathLike, split: str = "16/9") -> Plan:
    """Plans the conversion of the KTH videos found under ``root`` (see module docstring).

    Only the videos present are converted; listed videos without a file are recorded in
    ``Plan.missing`` (a partial copy of KTH is fine).

    Args:
        root: Folder with ``00sequences.txt`` and the action folders or zips.
        split: ``"16/9"`` (train/test) or ``"schuldt"`` (train/validation/test).
    """
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise DataError(f"{root}: KTH folder not found; expected a folder with {SEQUENCE_FILE}")
    split_of(1, split)  # validates the scheme
    table = parse_sequence_file(find_sequence_file(root))
    videos = find_videos(root)
    jobs, missing = [], []
    for name, ranges in table.items():
        if ranges is None:
            missing.append({"name": name, "reason": "marked *missing* in 00sequences.txt"})
            continue
        if name not in videos:
            missing.append({"name": name, "reason": "video file not found"})
            continue
        match = _NAME.match(name)
        person, action = int(match.group(2)), match.group(3)
        if action not in ACTIONS:
            raise DataError(f"{videos[name]}: unknown KTH action {action!r}; expected {ACTIONS}")
        samples = [
            Sample(
                id=f"{name}_seq{k}",
                label=action,
                split=split_of(person, split),
                start=a - 1,
                end=b,
                range_text=f"{a}-{b}",
            )
            for k, (a, b) in enumerate(ranges, 1)
        ]
        jobs.append(VideoJob(videos[name], samples))
    unlisted = sorted(set(videos) - set(table))
    return Plan(
        dataset="kth",
        source=root,
        classes=list(ACTIONS),
        jobs=jobs,
        missing=missing,
        info={
            "split_scheme": split,
            "test_persons": list(TEST_PERSONS),
            "validation_persons": list(SCHULDT_VALIDATION_PERSONS) if split == "schuldt" else [],
            "unlisted_videos": unlisted,
            "listed_videos": len(table),
        },
    )


def download_kth(dest: str | os.PathLike, base_url: str = BASE_URL, progress: bool = True) -> str:
    """Downloads the six KTH zips and ``00sequences.txt`` into ``dest`` (resumable, cached).

    Files already in ``dest`` are not downloaded again.

    Returns:
        ``dest`` as a string.

    Raises:
        DataError: when a file cannot be downloaded (e.g. offline), saying where to put the
            files by hand.
    """
    dest = os.fspath(dest)
    names = [SEQUENCE_FILE] + [f"{a}.zip" for a in ACTIONS]
    for name in names:
        target = os.path.join(dest, name)
        try:
            download(base_url.rstrip("/") + "/" + name, target, progress=progress)
        except DataError as e:
            raise DataError(
                f"{e}\nCannot download KTH. Without network, either:\n"
                f"  - fetch {SEQUENCE_FILE} and the six zips ({', '.join(names[1:])}) from "
                f"{BASE_URL} elsewhere, put them (zips or extracted action folders) in a folder "
                f"and train with `python train.py --dataset=kth:/path/to/that/folder` (or copy "
                f"them into {dest}); `python -m xwisenet_tf.data.prepare --dataset=kth "
                "--source=/path/to/that/folder` converts them without training;\n"
                "  - or run the offline quick start on the embedded synthetic dataset: "
                f"`python train.py --dataset=synthetic` (about {QUICK_START_MINUTES} minutes on 2 CPU "
                "cores)."
            ) from e
        if name.endswith(".zip") and not zipfile.is_zipfile(target):
            os.replace(target, target + ".bad")
            raise DataError(
                f"{target}: downloaded file is not a zip archive (moved to {target}.bad); rerun"
            )
    return dest
