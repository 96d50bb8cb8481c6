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
    from xwisenet_tf.experiments.run_settings import add_runner_options, add_train_options
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
    for command, sub in (("run", run), ("list", listing), ("cost", cost)):
        sub.add_argument("--table", required=True, choices=TABLES, help="paper table")
        # Every field of TrainConfig but each configuration's own (`run_settings`), and the
        # runner's own settings: --output_dir, --model_option, Table I's.
        add_train_options(sub, run=command == "run")
        add_runner_options(sub, command)
        sub.add_argument(
            "--configs",
            help="comma-separated slug patterns (shell wildcards), e.g. 'resnet3d-18-*'; "
            "default: the table's configurations",
        )
    run.add_argument("--max_configs", type=int, help="train at most N configurations, then stop")

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
    from xwisenet_tf.experiments.run_settings import settings_from_args

    return settings_from_args(args)


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
