"""Reproduce the paper's tables: ``python -m xwisenet_tf.experiments run|report|list``.

    python -m xwisenet_tf.experiments run --table 2 --dataset folder:/data/part-kinetics \\
        --output_dir experiments --epochs 50
    python -m xwisenet_tf.experiments run --table 5 --dataset kth --output_dir experiments
    python -m xwisenet_tf.experiments report --output_dir experiments
    python -m xwisenet_tf.experiments list --table 4 --dataset synthetic --output_dir experiments
    python -m xwisenet_tf.experiments cost --table 2 --configs 'resnet3d-18-*' --batch_size 8

Rerunning ``run`` skips finished configurations and resumes an interrupted one. See
docs/experiments.md.
"""

from __future__ import annotations

import argparse
import os
import sys

from xwisenet_tf.errors import ArgumentParser

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _parser() -> argparse.ArgumentParser:
    from xwisenet_tf.experiments.tables import TABLES

    parser = ArgumentParser(
        prog="python -m xwisenet_tf.experiments",
        description="Train, evaluate and report the configurations of the paper's tables.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser(
        "run",
        help="train and evaluate every configuration of a table",
        description="Trains and evaluates every configuration of a table with one recipe "
        "(paper sec. IV-B/IV-C). Each configuration runs in OUTPUT_DIR/table<k>/<slug>/; a "
        "rerun skips finished ones and resumes an interrupted one.",
    )
    listing = commands.add_parser(
        "list", help="list a table's configurations, their directories and status"
    )
    cost = commands.add_parser(
        "cost",
        help="time training steps of a table's configurations and estimate time per epoch",
        description="Builds each configuration at the given clip size, times a few training "
        "steps on random clips and estimates the time of one epoch of the paper's dataset.",
    )
    cost.add_argument("--steps", type=int, default=2, help="timed steps per configuration")
    cost.add_argument("--num_classes", type=int, help="default: 6 for table 5, 10 otherwise")
    cost.add_argument("--train_videos", type=int, help="default: Part-Kinetics 5498, KTH 1528")
    cost.add_argument("--eval_clips", type=int, help="clips of one validation pass")
    for sub in (run, listing, cost):
        sub.add_argument("--table", required=True, choices=TABLES, help="paper table")
        sub.add_argument(
            "--dataset",
            help="synthetic | kth | kth:PATH | folder:PATH | csv:PATH (default: kth for "
            "table 5; required otherwise; the paper used Part-Kinetics, a Kinetics subset)",
        )
        sub.add_argument("--data_dir", default="data_cache", help="cache of prepared TFRecords")
        sub.add_argument(
            "--output_dir", required=sub is not cost, help="root of the configuration dirs"
        )
        sub.add_argument("--epochs", type=int, default=50, help="epochs per configuration")
        sub.add_argument("--num_frames", type=int, default=16, help="frames per clip (paper 16)")
        sub.add_argument(
            "--image_size", type=int, help="clip side (default: the paper's, 112; 224 table 5)"
        )
        sub.add_argument("--frame_stride", type=int, default=1)
        sub.add_argument("--batch_size", type=int, default=16)
        sub.add_argument("--steps_per_epoch", type=int, help="default: one pass over the videos")
        sub.add_argument("--validation_steps", type=int, help="default: all validation clips")
        sub.add_argument(
            "--recipe",
            choices=["paper", "default"],
            default="paper",
            help="training recipe (default: the paper's, sec. IV-B)",
        )
        sub.add_argument("--learning_rate", type=float, help="default: the recipe's")
        sub.add_argument("--weight_decay", type=float, help="default: the recipe's")
        sub.add_argument("--lr_patience", type=int, default=5)
        sub.add_argument("--seed", type=int, default=0)
        sub.add_argument(
            "--dataset_option",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="dataset conversion option (repeatable), e.g. videos_per_class=32 (synthetic)",
        )
        sub.add_argument(
            "--model_option",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="preset option for every configuration whose preset has it (repeatable), "
            "e.g. width=0.5 or stage_repeats=1,2,1; a row's own options win",
        )
        sub.add_argument(
            "--configs",
            help="comma-separated slug patterns (shell wildcards), e.g. 'resnet3d-18-*'; "
            "default: the table's configurations",
        )
    run.add_argument("--strategy", default="auto", help="auto | default | mirrored | multi_worker")
    run.add_argument("--mixed_precision", action="store_true")
    run.add_argument("--max_configs", type=int, help="train at most N configurations, then stop")
    run.add_argument("--verbose", type=int, choices=(0, 1, 2), help="Keras verbosity")
    run.add_argument("--cosine_split", default="test", help="table 1: split of the clips")
    run.add_argument("--cosine_max_clips", type=int, help="table 1: at most N clips")
    run.add_argument(
        "--cosine_reduce",
        default="flatten",
        choices=("flatten", "mean"),
        help="table 1: a frame's feature is its flattened HxWxC map or its HxW mean",
    )

    report = commands.add_parser(
        "report",
        help="write Markdown tables (ours beside the paper's) and figures",
        description="Writes OUTPUT_DIR/report.md and OUTPUT_DIR/figures/*.png from the "
        "finished configurations.",
    )
    report.add_argument("--output_dir", required=True)
    report.add_argument(
        "--report_dir", help="where report.md and figures/ go (default: OUTPUT_DIR)"
    )
    report.add_argument(
        "--no_paper_complexity",
        action="store_true",
        help="skip counting our params/MACs at the paper's setting (builds every model)",
    )
    return parser


def _settings(args):
    from xwisenet_tf.experiments.runner import RunSettings
    from xwisenet_tf.training.cli import parse_options

    return RunSettings(
        dataset=args.dataset,
        data_dir=args.data_dir,
        output_dir=args.output_dir,
        epochs=args.epochs,
        num_frames=args.num_frames,
        image_size=args.image_size,
        frame_stride=args.frame_stride,
        batch_size=args.batch_size,
        steps_per_epoch=args.steps_per_epoch,
        validation_steps=args.validation_steps,
        recipe=args.recipe,
        learning_rate=args.learning_rate,
        weight_decay=args.weight_decay,
        lr_patience=args.lr_patience,
        seed=args.seed,
        strategy=getattr(args, "strategy", "auto"),
        mixed_precision=getattr(args, "mixed_precision", False),
        verbose=getattr(args, "verbose", None),
        dataset_options=parse_options(args.dataset_option, "dataset_option"),
        model_options=parse_options(args.model_option, "model_option"),
        cosine_split=getattr(args, "cosine_split", "test"),
        cosine_max_clips=getattr(args, "cosine_max_clips", None),
        cosine_reduce=getattr(args, "cosine_reduce", "flatten"),
    )


def _patterns(raw: str | None) -> list[str] | None:
    return [p.strip() for p in raw.split(",") if p.strip()] if raw else None


def main(argv: list[str] | None = None) -> int:
    from xwisenet_tf.training.cli import run as run_safely

    args = _parser().parse_args(argv)

    def command() -> int:
        if args.command == "report":
            from xwisenet_tf.experiments.report import write_report

            path = write_report(
                args.output_dir,
                args.report_dir,
                paper_complexity=not args.no_paper_complexity,
                log=lambda line: print(line, flush=True),
            )
            print(f"Report written to {path}")
            return 0
        if args.command == "cost":
            from xwisenet_tf.experiments.cost import measure_cost

            measure_cost(
                args.table,
                _settings(args),
                _patterns(args.configs),
                args.steps,
                args.num_classes,
                args.train_videos,
                args.eval_clips,
                log=lambda line: print(line, flush=True),
            )
            return 0
        settings = _settings(args)
        if args.command == "list":
            from xwisenet_tf.experiments.runner import plan

            for row in plan(args.table, settings, _patterns(args.configs)):
                print(f"{row['status']:8} {row['slug']:32} {row['overrides']}  {row['dir']}")
            return 0
        from xwisenet_tf.experiments.runner import run_table, status
        from xwisenet_tf.experiments.tables import experiments

        results = run_table(
            args.table,
            settings,
            _patterns(args.configs),
            args.max_configs,
            log=lambda line: print(line, flush=True),
        )
        selected = _patterns(args.configs)
        from xwisenet_tf.experiments.runner import select

        states = [status(e, settings) for e in select(experiments(args.table), selected)]
        print(
            f"table {args.table}: {states.count('done')} of {len(states)} configurations done "
            f"({len(results)} with results); report: python -m xwisenet_tf.experiments report "
            f"--output_dir {args.output_dir}",
            flush=True,
        )
        return 0 if states.count("done") == len(states) else 1

    return run_safely(command)


if __name__ == "__main__":
    sys.exit(main())
