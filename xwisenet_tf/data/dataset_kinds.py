"""The dataset kinds `prepare_dataset` and `ensure_dataset` know: one `DatasetKind` each.

A kind is a planner (a function returning the `Plan` of a conversion) and how a cache names
and finds its data. Adding a dataset is one entry here: ``prepare``'s ``--dataset`` choices and
flags, the names in `DATASETS`, the spec forms `ensure_dataset` accepts and its messages follow.
One more spec form converts nothing: ``prepared:PATH`` (`PREPARED`), a directory ``prepare``
already wrote (any kind, any runner), used as it is.

This module loads neither TensorFlow nor PyAV: a planner imports its dataset's module when it
runs, so that ``python -m xwisenet_tf.data.prepare --help`` stays light.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from xwisenet_tf.data.errors import DataError
from xwisenet_tf.data.manifest import read_manifest
from xwisenet_tf.data.plan import DEFAULT_SHORT_SIDE, Plan
from xwisenet_tf.data.synthetic_defaults import CLASSES, GENERATOR_VERSION, HEIGHT


@dataclass(frozen=True)
class DatasetKind:
    """How one kind of dataset is planned, and where it lives in a cache.

    Attributes:
        plan: ``plan(source, output, options, progress) -> Plan``: ``source`` is the path the
            user gave (or ``None``), ``output`` the conversion's directory, ``options`` the
            dataset's own options (a dict the planner takes its options from; it rejects any
            left over), ``progress`` whether to show progress bars (downloads, generation).
        spec_path: The ``PATH`` of an `ensure_dataset` spec ``"kind:PATH"``: ``"optional"``,
            ``"required"`` or ``"none"`` (the spec is the bare name).
        flags: The ``prepare`` command line's options passed on to ``plan``.
        short_side: Default short side of the stored frames, in pixels.
        cache_name: Name of the prepared directory in an `ensure_dataset` cache when the spec
            has no path and no options (default: the kind's name).
        in_cache: ``in_cache(data_dir, out, options) -> source``: where the kind's videos live
            in the cache ``data_dir`` when the spec names no path (``None``: the planner's
            default); it may add options (KTH's ``download_dir``).
    """

    plan: Callable[[str | os.PathLike | None, str, dict, bool], Plan]
    spec_path: str
    flags: tuple[str, ...]
    short_side: int | None = DEFAULT_SHORT_SIDE
    cache_name: str | None = None
    in_cache: Callable[[str, str, dict], str | None] | None = None


def _need(source, dataset: str) -> None:
    if source is None:
        raise DataError(f"dataset '{dataset}' needs a source path (--source)")


def _take(options: dict, *names: str) -> dict:
    return {n: options.pop(n) for n in names if n in options}


def _no_more(options: dict, dataset: str) -> None:
    if options:
        raise DataError(f"unknown options for dataset '{dataset}': {sorted(options)}")


def _plan_kth(source, output: str, options: dict, progress: bool) -> Plan:
    """KTH from a folder with ``00sequences.txt`` and the action folders or zips; ``None``
    downloads them to ``download_dir`` (default ``<output>/../downloads/kth``)."""
    from xwisenet_tf.data import kth

    split = options.pop("split", "16/9")
    download_dir = options.pop("download_dir", None)
    base_url = options.pop("base_url", kth.BASE_URL)
    if source is None:
        download_dir = download_dir or os.path.join(
            os.path.dirname(os.path.abspath(output)), "downloads", "kth"
        )
        source = kth.download_kth(download_dir, base_url=base_url, progress=progress)
    _no_more(options, "kth")
    return kth.plan_kth(source, split=split)


def _kth_in_cache(data_dir: str, out: str, options: dict) -> None:
    options.setdefault("download_dir", os.path.join(data_dir, "downloads", "kth"))


# Options of a folder dataset: the classes kept, the seeded test split, or one fold of a
# grouped K-fold split (`xwisenet_tf.data.folds`).
FOLDER_OPTIONS = ("classes", "test_fraction", "seed", "folds", "fold", "group", "stratify")


def _plan_folder(source, output: str, options: dict, progress: bool) -> Plan:
    """A folder of ``<class>/<video>`` (with or without split folders)."""
    from xwisenet_tf.data import folder

    _need(source, "folder")
    plan = folder.plan_folder(source, **_take(options, *FOLDER_OPTIONS))
    _no_more(options, "folder")
    return plan


def _plan_csv(source, output: str, options: dict, progress: bool) -> Plan:
    """A Kinetics-style CSV file and the folder of its videos."""
    from xwisenet_tf.data import folder

    _need(source, "csv")
    plan = folder.plan_csv(source, **_take(options, "classes", "video_root"))
    _no_more(options, "csv")
    return plan


def _plan_synthetic(source, output: str, options: dict, progress: bool) -> Plan:
    """The synthetic videos in ``source`` (default ``<output>_videos``), generated there with
    ``options`` (`synthetic.generate`'s arguments) unless already complete."""
    from xwisenet_tf.data import folder, synthetic

    source = os.fspath(source) if source is not None else output.rstrip("/\\") + "_videos"
    if options or not synthetic.read_params(source).get("complete"):
        synthetic.generate(source, **options, progress=progress)
    plan = folder.plan_folder(source, classes=list(CLASSES), dataset="synthetic")
    plan.info.update(synthetic.read_params(source))
    return plan


def _synthetic_in_cache(data_dir: str, out: str, options: dict) -> str:
    # The videos of a prepared directory "synthetic-v<N>[-<hash>]": "synthetic_videos-v<N>...".
    return os.path.join(data_dir, os.path.basename(out).replace("synthetic", "synthetic_videos", 1))


KINDS: dict[str, DatasetKind] = {
    "kth": DatasetKind(
        _plan_kth, spec_path="optional", flags=("split", "download_dir"), in_cache=_kth_in_cache
    ),
    "folder": DatasetKind(_plan_folder, spec_path="required", flags=FOLDER_OPTIONS),
    "csv": DatasetKind(_plan_csv, spec_path="required", flags=("classes", "video_root")),
    "synthetic": DatasetKind(
        _plan_synthetic,
        spec_path="none",
        flags=("seed", "videos_per_class", "eval_videos_per_class"),
        # The synthetic videos are 96x72: stored at their own size, not upscaled.
        short_side=HEIGHT,
        # A new synthetic generator writes other videos: its cache never reuses an older one's.
        cache_name=f"synthetic-v{GENERATOR_VERSION}",
        in_cache=_synthetic_in_cache,
    ),
}
DATASETS = tuple(KINDS)
# The spec ``prepared:PATH``: a directory already prepared by ``prepare`` (a manifest.json and
# its shards), whatever its kind; nothing is converted, so it takes no dataset options.
PREPARED = "prepared"


def spec_forms() -> str:
    """The dataset specs `ensure_dataset` accepts, e.g. ``"kth, kth:PATH, ... or prepared:PATH"``."""
    forms = []
    for name, kind in KINDS.items():
        if kind.spec_path != "required":
            forms.append(name)
        if kind.spec_path != "none":
            forms.append(f"{name}:PATH")
    forms.append(f"{PREPARED}:PATH")
    return f"{', '.join(forms[:-1])} or {forms[-1]}"


def is_spec(dataset_spec: str) -> bool:
    """Whether ``dataset_spec`` has one of the forms of `spec_forms`."""
    name, _, path = str(dataset_spec).partition(":")
    if name == PREPARED:
        return bool(path)
    kind = KINDS.get(name)
    return not (
        kind is None
        or (kind.spec_path == "required" and not path)
        or (kind.spec_path == "none" and path)
    )


def spec_kind(dataset_spec: str) -> str:
    """The dataset kind whose defaults a spec follows: its name, or for ``prepared:PATH`` the
    kind its ``manifest.json`` records (``"dataset"``, e.g. ``"synthetic"``); ``"prepared"``
    when the manifest records none or cannot be read yet (`ensure_dataset` reports that)."""
    name, _, path = str(dataset_spec).partition(":")
    if name != PREPARED or not path:
        return name
    try:
        recorded = read_manifest(path).get("dataset")
    except DataError:
        return PREPARED
    return recorded if recorded in KINDS else PREPARED
