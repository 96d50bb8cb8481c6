"""Command line of the speed benchmark: `python -m xwisenet_tf.bench [run|sweep|profile|all]`.

Run without a subcommand it is `run`. `--quick` gives a run of a few minutes; the full default
run (all presets, 3D-ResNet-18 with the four conv types, the optimisation variants, TFLite fp32
and int8 with XNNPACK's partitions, the machine's dense peak, peak memory, and Keras again with
oneDNN on and off for the quick-list cases) takes about an hour on 2 cores.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import sys
import time

from xwisenet_tf.files import write_json

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SUBCOMMANDS = ("run", "sweep", "profile", "runtime", "all")


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _parser() -> argparse.ArgumentParser:
    from xwisenet_tf.bench.cases import default_cases

    p = argparse.ArgumentParser(
        prog="python -m xwisenet_tf.bench",
        description="Speed of XwiseNet beside the paper's models on this CPU: side by side "
        "(run), scaling with frames and image size (sweep), per-op profile (profile).",
    )
    p.add_argument("command", nargs="?", default="run", choices=SUBCOMMANDS)
    p.add_argument("--out_dir", default="bench_results", help="where the outputs go")
    p.add_argument("--quick", action="store_true", help="few cases and rounds: a few minutes")
    p.add_argument(
        "--models",
        default=None,
        help="comma-separated cases MODEL[:CONV][+VARIANT] (variants: unfolded, keras-bn, xla); "
        f"default: {','.join(default_cases())}",
    )
    p.add_argument("--reference", default="resnet3d-18", help="case the ratios divide by")
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--size", type=int, default=112)
    p.add_argument("--num_classes", type=int, default=400)
    p.add_argument("--rounds", type=int, default=None, help="batch-1 latency rounds (15)")
    p.add_argument("--calls", type=int, default=None, help="timed calls per case per round (1)")
    p.add_argument("--throughput_batch", type=int, default=8)
    p.add_argument("--throughput_rounds", type=int, default=None, help="0 skips (4)")
    p.add_argument("--train_batch", type=int, default=16)
    p.add_argument("--train_rounds", type=int, default=None, help="0 skips training (4)")
    p.add_argument("--skip_tflite", action="store_true")
    p.add_argument("--skip_int8", action="store_true")
    p.add_argument("--tflite_dynamic", action="store_true", help="also dynamic-range quantization")
    p.add_argument("--skip_memory", action="store_true")
    p.add_argument("--threads", type=int, default=0, help="TFLite threads (0: all CPUs)")
    p.add_argument("--calibration_clips", type=int, default=4, help="int8 calibration clips")
    p.add_argument(
        "--skip_peak",
        action="store_true",
        help="run: do not time the dense peak (a 1x1 convolution in Keras and LiteRT fp32/int8)",
    )
    p.add_argument("--peak_size", type=int, default=56, help="dense peak: input height and width")
    p.add_argument("--peak_channels", type=int, default=512, help="dense peak: channels in and out")
    p.add_argument(
        "--skip_onednn",
        action="store_true",
        help="run: skip the Keras latency/training pass with oneDNN on and off (subprocesses)",
    )
    p.add_argument(
        "--onednn_models",
        default="",
        help="run: cases of the oneDNN on/off pass (default: the run's cases of the quick list "
        "and the reference; with --quick the subject and the reference)",
    )
    p.add_argument("--sweep_frames", default="8,16,32,64", help="sweep: frame counts at --size")
    p.add_argument("--sweep_sizes", default="112,160,224", help="sweep: sizes at --frames")
    p.add_argument("--sweep_models", default="xwisenet", help="sweep: cases to scale")
    p.add_argument(
        "--sweep_train_batch",
        type=int,
        default=4,
        help="sweep: training batch (16 at 64 frames or 224 px needs ~14 GB for XwiseNet)",
    )
    p.add_argument(
        "--profile_models", default="xwisenet,resnet3d-18", help="profile: cases to profile"
    )
    p.add_argument("--profile_steps", type=int, default=None, help="profiled calls (3)")
    p.add_argument(
        "--runtime_configs",
        default="default,onednn-off,inter-op-1",
        help="runtime: configurations (default, onednn-off, inter-op-1, intra-op-1)",
    )
    p.add_argument("--runtime_repeats", type=int, default=2, help="runtime: alternations")
    p.add_argument(
        "--xwisenet_width", type=float, default=None, help="width of the XwiseNet-family presets"
    )
    p.add_argument(
        "--xwisenet_stage_repeats", default=None, help="units per stage of them, e.g. 4,8,4"
    )
    return p


def _settings(args):
    from xwisenet_tf.bench.measure import Settings

    quick = args.quick

    def pick(value, full, fast):
        return value if value is not None else (fast if quick else full)

    return Settings(
        frames=args.frames,
        size=args.size,
        num_classes=args.num_classes,
        rounds=pick(args.rounds, 15, 6),
        calls=pick(args.calls, 1, 1),
        warmup=2 if quick else 3,
        throughput_batch=args.throughput_batch,
        throughput_rounds=pick(args.throughput_rounds, 4, 2),
        train_batch=args.train_batch,
        train_rounds=pick(args.train_rounds, 4, 2),
        train_warmup=1 if quick else 2,
        tflite=not args.skip_tflite,
        int8=not args.skip_int8,
        tflite_dynamic=args.tflite_dynamic,
        tflite_threads=args.threads,
        calibration_clips=args.calibration_clips,
        memory=not args.skip_memory,
        peak=not args.skip_peak,
        peak_size=args.peak_size,
        peak_channels=args.peak_channels,
        onednn=not args.skip_onednn,
        onednn_cases=args.onednn_models,
        xwisenet_overrides=_xwisenet_overrides(args),
    )


def _xwisenet_overrides(args) -> dict:
    overrides = {}
    if args.xwisenet_width is not None:
        overrides["width"] = args.xwisenet_width
    if args.xwisenet_stage_repeats:
        overrides["stage_repeats"] = tuple(int(v) for v in args.xwisenet_stage_repeats.split(","))
    return overrides


def _command_line(argv) -> str:
    return "python -m xwisenet_tf.bench " + shlex.join(argv)


def _onednn_cases(args, cases) -> str:
    """`--onednn_models`; with `--quick` and none given, the run's subject and reference only
    ("": the default choice of `xwisenet_tf.bench.run_onednn.onednn_cases`)."""
    from xwisenet_tf.bench.cases import SUBJECT

    if args.onednn_models or not args.quick:
        return args.onednn_models
    return ",".join(c.key for c in cases if c.key in (SUBJECT, args.reference) and not c.variant)


def cmd_run(args, argv) -> dict:
    from xwisenet_tf.bench import report, report_plot
    from xwisenet_tf.bench.cases import QUICK_CASES, default_cases, parse_cases
    from xwisenet_tf.bench.run import run_benchmark

    keys = args.models or ",".join(QUICK_CASES if args.quick else default_cases())
    cases = parse_cases(keys)
    settings = _settings(args)
    settings.onednn_cases = _onednn_cases(args, cases)
    result = run_benchmark(cases, settings, reference=args.reference, log=_log)
    result["command"] = _command_line(argv)
    os.makedirs(args.out_dir, exist_ok=True)
    paths = [
        write_json(os.path.join(args.out_dir, "benchmark.json"), result),
        report.write_markdown(result, os.path.join(args.out_dir, "benchmark.md")),
        report_plot.plot(result, os.path.join(args.out_dir, "benchmark.png")),
    ]
    print(report.markdown(result))
    _log("wrote " + ", ".join(paths))
    return result


def _publish(module, result: dict, args, argv) -> dict:
    """Records the command line in ``result``, writes it with ``module.write`` into
    ``--out_dir`` and prints its Markdown (``module.markdown``)."""
    result["command"] = _command_line(argv)
    os.makedirs(args.out_dir, exist_ok=True)
    paths = module.write(result, args.out_dir)
    print(module.markdown(result))
    _log("wrote " + ", ".join(paths))
    return result


def cmd_sweep(args, argv) -> dict:
    from xwisenet_tf.bench import sweep

    settings = dataclasses.replace(_settings(args), train_batch=args.sweep_train_batch)
    frames = [int(v) for v in args.sweep_frames.split(",") if v]
    sizes = [int(v) for v in args.sweep_sizes.split(",") if v]
    if args.quick:
        frames, sizes = frames[:2], sizes[:2]
    result = sweep.run_sweep(args.sweep_models.split(","), settings, frames, sizes, log=_log)
    return _publish(sweep, result, args, argv)


def cmd_profile(args, argv) -> dict:
    from xwisenet_tf.bench import profile

    settings = _settings(args)
    steps = args.profile_steps or (2 if args.quick else 3)
    result = profile.run_profile(args.profile_models.split(","), settings, steps=steps, log=_log)
    return _publish(profile, result, args, argv)


def cmd_runtime(args, argv) -> dict:
    from xwisenet_tf.bench import runtime

    configs = [c for c in args.runtime_configs.split(",") if c]
    result = runtime.run_runtime(
        configs, _settings(args), reference=args.reference, repeats=args.runtime_repeats, log=_log
    )
    return _publish(runtime, result, args, argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser().parse_args(argv)
    commands = {"run": cmd_run, "sweep": cmd_sweep, "profile": cmd_profile, "runtime": cmd_runtime}
    if args.command == "all":
        for name in ("run", "sweep", "profile"):
            commands[name](args, argv)
    else:
        commands[args.command](args, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
