"""User video datasets: class folders, or a Kinetics-style CSV (the paper's Part-Kinetics).

Folder layouts accepted (``root`` is the folder given):

* ``root/<class>/<video>``: no split given; each class's videos (sorted by name) are shuffled
  with ``seed`` and ``test_fraction`` of them (default 0.2, at least one when a class has two or
  more videos) go to ``test``, the rest to ``train``. Deterministic for a given seed.
* ``root/<split>/<class>/<video>`` with split folders ``train``, ``val``/``validation``
  (-> ``validation``) and ``test``: those splits are used as they are.
* ``root/<class>/<video>`` with ``folds=K, fold=I``: fold ``I`` of a grouped, stratified K-fold
  split (`xwisenet_tf.data.folds`: options ``group`` and ``stratify``, regular expressions of
  the sample id, and ``seed``) is ``test``, the other folds ``train``: one run of a
  cross-validation (``python -m xwisenet_tf.bench.crossval``).

A video is any file with a video extension (see `decode.VIDEO_EXTENSIONS`), at any depth below
its class folder; hidden files and other extensions are ignored. Sample ids are the path
relative to ``root`` without extension.

CSV (Kinetics style): a header with at least ``label,youtube_id,time_start,time_end,split``;
other columns are ignored. A row's video is looked up, with any video extension, as

* ``<video_root>/<split>/<label>/<youtube_id>_<start:06d>_<end:06d>.<ext>``
* ``<video_root>/<label>/<youtube_id>_<start:06d>_<end:06d>.<ext>``
* ``<video_root>/<split>/<youtube_id>_<start:06d>_<end:06d>.<ext>``
* ``<video_root>/<youtube_id>_<start:06d>_<end:06d>.<ext>``

where ``<label>`` may also be written with ``_`` for spaces, and ``<split>`` is the CSV's split
or any of its aliases (``val``/``validate``/``validation``...). ``video_root`` defaults to the
CSV's folder. Rows without a file are recorded as missing (deleted YouTube videos are common).
"""

from __future__ import annotations

import csv
import os
import random
from collections.abc import Sequence

from xwisenet_tf.data.decode import VIDEO_EXTENSIONS
from xwisenet_tf.data.errors import DataError
from xwisenet_tf.data.folds import assign_folds
from xwisenet_tf.data.plan import SPLIT_ALIASES, Plan, Sample, VideoJob, VideoSource

DEFAULT_TEST_FRACTION = 0.2
CSV_COLUMNS = ("label", "youtube_id", "time_start", "time_end", "split")


def _videos_below(folder: str) -> list[str]:
    out = []
    for dirpath, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in VIDEO_EXTENSIONS:
                out.append(os.path.join(dirpath, name))
    return out


def _subdirs(folder: str) -> list[str]:
    return sorted(
        d
        for d in os.listdir(folder)
        if not d.startswith(".") and os.path.isdir(os.path.join(folder, d))
    )


def _select_classes(found: Sequence[str], classes: Sequence[str] | None, where: str) -> list[str]:
    if classes is None:
        return sorted(found)
    unknown = sorted(set(classes) - set(found))
    if unknown:
        raise DataError(f"{where}: requested classes {unknown} not found; found {sorted(found)}")
    return list(classes)


def _sample_id(root: str, path: str) -> str:
    return os.path.splitext(os.path.relpath(path, root))[0].replace(os.sep, "/")


def plan_folder(
    root: str | os.PathLike,
    classes: Sequence[str] | None = None,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    seed: int = 0,
    dataset: str = "folder",
    folds: int | None = None,
    fold: int | None = None,
    group: str | None = None,
    stratify: str | None = None,
) -> Plan:
    """Plans the conversion of a class-folder dataset (layouts in the module docstring).

    Args:
        root: Dataset folder.
        classes: Keep only these classes (their order gives the label indices); default all,
            sorted by name.
        test_fraction: Share of each class sent to ``test`` when there are no split folders.
        seed: Seed of that split (or of the fold assignment).
        dataset: Name recorded in the manifest.
        folds: Cross-validation instead of ``test_fraction``: the number of folds K.
        fold: With ``folds``: the fold that is ``test`` (0 .. K-1).
        group: With ``folds``: regular expression of the group key (`assign_folds`).
        stratify: With ``folds``: regular expression of the stratum key within a class.
    """
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise DataError(f"{root}: dataset folder not found; expected root/<class>/<video files>")
    if not 0.0 <= test_fraction < 1.0:
        raise DataError(f"test_fraction must be in [0, 1); received {test_fraction}")
    _check_fold_options(folds, fold, group, stratify)
    top = _subdirs(root)
    split_dirs = {d: SPLIT_ALIASES[d.lower()] for d in top if d.lower() in SPLIT_ALIASES}
    info: dict = {}
    by_class: dict[str, list[tuple[str, str]]] = {}  # class -> [(split, path)]
    if split_dirs:
        others = sorted(set(top) - set(split_dirs))
        if others:
            raise DataError(
                f"{root}: mixes split folders {sorted(split_dirs)} with other folders {others}; "
                "expected only train/, val|validation/, test/ (or only class folders)"
            )
        for d, split in sorted(split_dirs.items()):
            for cls in _subdirs(os.path.join(root, d)):
                for path in _videos_below(os.path.join(root, d, cls)):
                    by_class.setdefault(cls, []).append((split, path))
        info["split_source"] = "folders"
        if folds is not None:
            raise DataError(
                f"{root}: has split folders {sorted(split_dirs)}; folds={folds} needs the "
                "layout root/<class>/<video> (the folds are the splits)"
            )
    elif folds is not None:
        paths = {
            _sample_id(root, path): (cls, path)
            for cls in top
            for path in _videos_below(os.path.join(root, cls))
        }
        fold_of = assign_folds(
            [(sid, cls) for sid, (cls, _) in paths.items()], folds, seed, group, stratify
        )
        for sid, (cls, path) in sorted(paths.items()):
            split = "test" if fold_of[sid] == fold else "train"
            by_class.setdefault(cls, []).append((split, path))
        info.update(
            split_source="folds", folds=folds, fold=fold, split_seed=seed, group=group,
            stratify=stratify,
        )  # fmt: skip
    else:
        rng = random.Random(seed)
        for cls in top:
            paths = _videos_below(os.path.join(root, cls))
            shuffled = paths[:]
            rng.shuffle(shuffled)
            n_test = round(len(paths) * test_fraction)
            if test_fraction > 0 and len(paths) >= 2:
                n_test = max(1, n_test)
            test = set(shuffled[:n_test])
            by_class[cls] = [("test" if p in test else "train", p) for p in paths]
        info.update(split_source="seeded", test_fraction=test_fraction, split_seed=seed)
    by_class = {c: v for c, v in by_class.items() if v}
    selected = _select_classes(list(by_class), classes, root)
    jobs = [
        VideoJob(VideoSource(path), [Sample(_sample_id(root, path), cls, split)])
        for cls in selected
        for split, path in by_class[cls]
    ]
    return Plan(dataset=dataset, source=root, classes=selected, jobs=jobs, info=info)


def _check_fold_options(folds, fold, group, stratify) -> None:
    if folds is None:
        if fold is not None or group is not None or stratify is not None:
            raise DataError("fold, group and stratify need folds=K (a K-fold split)")
        return
    if not isinstance(folds, int) or folds < 2:
        raise DataError(f"folds must be an integer >= 2; received folds={folds!r}")
    if not isinstance(fold, int) or not 0 <= fold < folds:
        raise DataError(f"fold must be an integer in [0, {folds - 1}]; received fold={fold!r}")


def _csv_candidates(root: str, row: dict) -> list[str]:
    label, split = row["label"], row["split"]
    stem = "{}_{:06d}_{:06d}".format(
        row["youtube_id"], int(row["time_start"]), int(row["time_end"])
    )
    labels = dict.fromkeys([label, label.replace(" ", "_")])
    canon = SPLIT_ALIASES.get(split.lower(), split)
    splits = dict.fromkeys([split] + [a for a, c in SPLIT_ALIASES.items() if c == canon])
    dirs = [os.path.join(root, s, lab) for s in splits for lab in labels]
    dirs += [os.path.join(root, lab) for lab in labels]
    dirs += [os.path.join(root, s) for s in splits] + [root]
    return [os.path.join(d, stem) for d in dirs]


def plan_csv(
    csv_path: str | os.PathLike,
    video_root: str | os.PathLike | None = None,
    classes: Sequence[str] | None = None,
    dataset: str = "csv",
) -> Plan:
    """Plans the conversion of a Kinetics-style CSV dataset (format in the module docstring).

    Args:
        csv_path: The CSV file.
        video_root: Folder holding the videos; default the CSV's folder.
        classes: Keep only these classes, e.g. the 10 of Part-Kinetics; default all, sorted.
        dataset: Name recorded in the manifest.
    """
    csv_path = os.fspath(csv_path)
    root = os.fspath(video_root) if video_root is not None else os.path.dirname(csv_path) or "."
    try:
        with open(csv_path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            lacking = [c for c in CSV_COLUMNS if c not in header]
            if lacking:
                raise DataError(
                    f"{csv_path}: CSV header lacks {lacking}; expected columns {list(CSV_COLUMNS)}"
                )
            rows = list(reader)
    except OSError as e:
        raise DataError(f"{csv_path}: cannot read the CSV file ({e})") from e
    # Index the files once instead of probing every candidate path on disk.
    stems: dict[str, str] = {}
    for path in _videos_below(root):
        stems.setdefault(os.path.splitext(path)[0], path)
    all_labels = sorted({r["label"] for r in rows})
    selected = _select_classes(all_labels, classes, csv_path)
    keep = set(selected)
    jobs, missing = [], []
    for line, row in enumerate(rows, 2):
        if row["label"] not in keep:
            continue
        split = SPLIT_ALIASES.get((row["split"] or "").lower())
        if split is None:
            raise DataError(
                f"{csv_path}:{line}: unknown split {row['split']!r}; expected train, val or test"
            )
        try:
            candidates = _csv_candidates(root, row)
        except ValueError as e:
            raise DataError(f"{csv_path}:{line}: time_start/time_end must be integers") from e
        path = next((stems[c] for c in candidates if c in stems), None)
        name = os.path.basename(candidates[0])
        if path is None:
            missing.append({"name": f"{row['label']}/{name}", "reason": "video file not found"})
            continue
        sample = Sample(f"{row['label']}/{name}", row["label"], split)
        jobs.append(VideoJob(VideoSource(path), [sample]))
    return Plan(
        dataset=dataset,
        source=csv_path,
        classes=selected,
        jobs=jobs,
        missing=missing,
        info={"video_root": root, "csv_rows": len(rows)},
    )
