"""Command line: convert a video dataset into sharded TFRecords + ``manifest.json``.

Examples::

    python -m xwisenet_tf.data.prepare --dataset=kth --output=data_cache/kth
        # downloads KTH to <output>/../downloads/kth unless --source is given
    python -m xwisenet_tf.data.prepare --dataset=kth --source=/data/kth --output=data/kth \
        --split=schuldt
    python -m xwisenet_tf.data.prepare --dataset=folder --source=/data/myvideos --output=data/my
    python -m xwisenet_tf.data.prepare --dataset=csv --source=/data/kinetics/train.csv \
        --video_root=/data/kinetics --classes="abseiling,air drumming" --output=data/part-k
    python -m xwisenet_tf.data.prepare --dataset=synthetic --source=data/syn_videos \
        --output=data/syn
    python -m xwisenet_tf.data.prepare --dataset=folder --source=/data/phone_videos \
        --output=data/phone --fps=25    # 30/60 fps and variable-rate phone videos at KTH's rate
    python -m xwisenet_tf.data.prepare --dataset=csv --source=gs://bucket/kinetics/train.csv \
        --output=gs://bucket/prepared/part-k --runner=beam \
        --beam_option=--runner=DataflowRunner --beam_options_file=dataflow.txt

``--runner=beam`` (the optional extra ``pip install "xwisenet_tf[beam]"``) runs the same
conversion as an Apache Beam pipeline (`xwisenet_tf.data.beam_prepare`, docs/scaling.md):
the same records, shards and manifest, read and written through Beam's file systems (local
paths, gs://, s3://...), on any Beam runner: ``--beam_option`` (repeated) and
``--beam_options_file`` pass Beam's own pipeline options through (default: Beam's
DirectRunner on this machine).

Frames are stored on a constant-rate timeline built from the videos' timestamps (variable frame
rate, dropped frames and rotation handled by `xwisenet_tf.data.decode`): at each video's own
nominal rate by default, or at ``--fps``. The rate is recorded per video (``video/fps`` in the
records, ``fps`` in the manifest's ``videos``), and dataset frame ranges (KTH's sequences) are
mapped onto the timeline.

Exit status (the convention of every command line, docs/architecture.md): 0 when every video
converted, 1 when some files or samples failed (they are printed and listed under ``failed`` in
``manifest.json``; all good ones are converted), 2 when the conversion could not run at all
(bad arguments, nothing found, offline KTH download), with one line ``error: <message>``.

This module imports nothing heavy at top level; the work is in `xwisenet_tf.data.convert`.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from xwisenet_tf.data.dataset_kinds import DATASETS, KINDS
from xwisenet_tf.data.errors import DataError
from xwisenet_tf.data.plan import DEFAULT_JPEG_QUALITY, DEFAULT_SHORT_SIDE, DEFAULT_VIDEOS_PER_SHARD
from xwisenet_tf.data.synthetic_defaults import EVAL_VIDEOS_PER_CLASS, VIDEOS_PER_CLASS
from xwisenet_tf.errors import EXIT_OK, EXIT_PARTIAL, ArgumentParser, run_command


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (every flag documented in ``--help``)."""
    p = ArgumentParser(
        prog="python -m xwisenet_tf.data.prepare",
        description="Convert videos into sharded TFRecords of tf.train.SequenceExample "
        "(JPEG frames) plus manifest.json, for xwisenet_tf.data.load.",
    )
    p.add_argument("--dataset", required=True, choices=list(DATASETS))
    p.add_argument(
        "--source",
        help="kth: folder with 00sequences.txt and the action folders or zips (omit to "
        "download); folder: dataset root; csv: the CSV file; synthetic: folder of generated "
        "videos (created if absent; default <output>_videos)",
    )
    p.add_argument("--output", required=True, help="directory for shards and manifest.json")
    p.add_argument(
        "--short_side",
        type=int,
        default=DEFAULT_SHORT_SIDE,
        help="resize frames so the short side has this many pixels; 0 keeps the original",
    )
    p.add_argument(
        "--jpeg_quality", type=int, default=DEFAULT_JPEG_QUALITY, help="JPEG quality 1-100"
    )
    p.add_argument(
        "--fps",
        type=float,
        default=None,
        help="frame rate of the stored frames: every video is resampled to it by presentation "
        "time (a gap repeats a frame, a surplus is dropped); default keeps each video's rate",
    )
    p.add_argument(
        "--videos_per_shard",
        type=int,
        default=DEFAULT_VIDEOS_PER_SHARD,
        help="source videos per shard",
    )
    p.add_argument(
        "--num_workers",
        type=int,
        default=None,
        help="decoding threads (local: CPU count; beam: threads of one shard, default 1)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace a different conversion")
    p.add_argument("--no_progress", action="store_true", help="no progress bars")
    g = p.add_argument_group("runner")
    g.add_argument(
        "--runner",
        default="local",
        choices=["local", "beam"],
        help="local: a thread pool in this process; beam: an Apache Beam pipeline (needs the "
        "extra: pip install 'xwisenet_tf[beam]'), same records and manifest",
    )
    g.add_argument(
        "--beam_option",
        action="append",
        default=[],
        metavar="OPTION",
        help="a Beam pipeline option, passed through (repeat it; write it with '=': "
        "--beam_option=--runner=DataflowRunner --beam_option=--region=europe-west1)",
    )
    g.add_argument(
        "--beam_options_file",
        metavar="PATH",
        help="a file of Beam pipeline options (shell words; # starts a comment), before any "
        "--beam_option",
    )
    g = p.add_argument_group("kth")
    g.add_argument("--split", default="16/9", choices=["16/9", "schuldt"], help="subject split")
    g.add_argument("--download_dir", help="where to cache the KTH zips when downloading")
    g = p.add_argument_group("folder / csv")
    g.add_argument("--classes", help="comma-separated subset of classes to keep (in this order)")
    g.add_argument("--test_fraction", type=float, help="folder without split dirs: test share")
    g.add_argument("--seed", type=int, help="seed of the folder split / synthetic videos")
    g.add_argument("--folds", type=int, help="folder: a grouped K-fold split into K folds")
    g.add_argument("--fold", type=int, help="folder: the fold (0..K-1) that is the test split")
    g.add_argument("--group", help="folder folds: regex of the group key in the sample id")
    g.add_argument("--stratify", help="folder folds: regex of a stratum key within a class")
    g.add_argument("--video_root", help="csv: folder holding the videos (default: CSV's folder)")
    g = p.add_argument_group("synthetic")
    g.add_argument(
        "--videos_per_class",
        type=int,
        help=f"training videos per class ({VIDEOS_PER_CLASS})",
    )
    g.add_argument(
        "--eval_videos_per_class",
        type=int,
        help=f"validation/test videos per class ({EVAL_VIDEOS_PER_CLASS})",
    )
    return p


def _options(args: argparse.Namespace) -> dict:
    options = {
        "runner": args.runner,
        "short_side": args.short_side or None,
        "jpeg_quality": args.jpeg_quality,
        "videos_per_shard": args.videos_per_shard,
        "fps": args.fps,
        "num_workers": args.num_workers,
        "overwrite": args.overwrite,
        "progress": not args.no_progress,
    }
    for name in KINDS[args.dataset].flags:
        value = getattr(args, name)
        if value is not None:
            options[name] = value
    if "classes" in options:
        options["classes"] = [c.strip() for c in options["classes"].split(",") if c.strip()]
    beam_options = _beam_options(args)
    if beam_options:
        if args.runner != "beam":
            raise DataError("--beam_option and --beam_options_file need --runner=beam")
        options["beam_options"] = beam_options
    return options


def _beam_options(args: argparse.Namespace) -> list[str]:
    """The Beam pipeline options of the command line: the file's, then each --beam_option."""
    options = []
    if args.beam_options_file:
        try:
            with open(args.beam_options_file, encoding="utf-8") as f:
                options += shlex.split(f.read(), comments=True)
        except (OSError, ValueError) as e:
            raise DataError(
                f"{args.beam_options_file}: cannot read the Beam options file ({e}); expected "
                "options like --runner=DataflowRunner, separated by spaces or lines"
            ) from e
    return options + list(args.beam_option)


def main(argv: list[str] | None = None) -> int:
    """Runs the conversion; returns the exit status (0 ok, 1 some failed, 2 error)."""
    args = build_parser().parse_args(argv)

    def convert() -> int:
        options = _options(args)
        from xwisenet_tf.data.convert import prepare_dataset

        manifest = prepare_dataset(args.dataset, args.source, args.output, **options)
        return EXIT_PARTIAL if manifest["failed"] else EXIT_OK

    return run_command(convert)


if __name__ == "__main__":
    import xwisenet_tf.quiet_start  # noqa: F401 - TensorFlow starts without its start-up lines

    sys.exit(main())
