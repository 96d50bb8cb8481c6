"""Videos/s of ``prepare``'s two runners side by side, on the same videos: the local thread
pool, and Apache Beam's DirectRunner with worker processes (``--runner=beam``).

    python -m xwisenet_tf.bench.prepare_throughput               # generated videos, 2 workers
    python -m xwisenet_tf.bench.prepare_throughput --source=/data/kth --dataset=kth --workers=4
    python -m xwisenet_tf.bench.prepare_throughput --videos_per_class=1 --json=prepare.json

Each runner converts the dataset into a fresh temporary directory (nothing to resume), timed
from the call until ``manifest.json`` is written: the local runner with ``--workers`` decoding
threads, the Beam one with ``--workers`` DirectRunner processes
(``direct_running_mode=multi_processing``), each converting one shard at a time. The Beam time
includes starting those processes (each loads TensorFlow), which a large dataset amortises;
``--videos_per_shard`` (default 2) keeps enough shards for every worker. The two manifests are
checked to be equal. Without ``--source`` the videos are the synthetic generator's (96x72, 40-64
frames), ``--videos_per_class`` training videos and one validation and one test video per class.

Needs the extra: ``pip install "xwisenet_tf[beam]"``. Quote the CPU and its load with any
figure (printed with the table).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

from xwisenet_tf.files import write_json


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m xwisenet_tf.bench.prepare_throughput",
        description="Videos/s of prepare: the local thread pool beside Apache Beam's "
        "DirectRunner with worker processes, on the same videos.",
    )
    p.add_argument("--dataset", default="folder", choices=["folder", "kth", "csv"])
    p.add_argument("--source", help="the dataset (default: generated synthetic videos)")
    p.add_argument("--videos_per_class", type=int, default=2, help="generated training videos")
    p.add_argument("--workers", type=int, default=2, help="local threads = Beam processes")
    p.add_argument("--videos_per_shard", type=int, default=2)
    p.add_argument("--short_side", type=int, default=None, help="default: the dataset's")
    p.add_argument("--json", help="also write the results to this JSON file")
    return p


def _timed(run) -> tuple[float, dict]:
    start = time.perf_counter()
    manifest = run()
    return time.perf_counter() - start, manifest


def measure(
    dataset: str,
    source: str,
    workers: int = 2,
    videos_per_shard: int = 2,
    short_side: int | None = None,
) -> dict:
    """Converts ``source`` with each runner into a temporary directory.

    Returns:
        ``{"videos": n, "runners": {name: {"seconds", "videos_per_s"}}}`` (``n`` the source
        videos converted, failed ones included).
    """
    from xwisenet_tf.data import prepare_dataset

    options = dict(videos_per_shard=videos_per_shard, progress=False)
    if short_side:
        options["short_side"] = short_side
    beam_options = ["--direct_running_mode=multi_processing", f"--direct_num_workers={workers}"]
    runners = {
        f"local ({workers} threads)": dict(num_workers=workers),
        f"beam DirectRunner ({workers} processes)": dict(runner="beam", beam_options=beam_options),
    }
    results, manifests = {}, []
    with tempfile.TemporaryDirectory(prefix="prepare_throughput_") as tmp:
        for k, (name, runner) in enumerate(runners.items()):
            out = os.path.join(tmp, str(k))
            seconds, manifest = _timed(
                lambda out=out, runner=runner: prepare_dataset(
                    dataset, source, out, **options, **runner
                )
            )
            manifests.append(manifest)
            results[name] = {"seconds": round(seconds, 3)}
    if manifests[0] != manifests[1]:
        raise RuntimeError("the two runners wrote different manifests")
    converted = {v["source"] for e in manifests[0]["splits"].values() for v in e["videos"]}
    videos = len(converted | {f["path"] for f in manifests[0]["failed"]})
    for entry in results.values():
        entry["videos_per_s"] = round(videos / entry["seconds"], 2)
    return {"videos": videos, "runners": results}


def _table(result: dict) -> str:
    width = max(len(name) for name in result["runners"])
    lines = [f"{'runner':<{width}}  {'seconds':>8}  {'videos/s':>8}"]
    for name, r in result["runners"].items():
        lines.append(f"{name:<{width}}  {r['seconds']:>8.2f}  {r['videos_per_s']:>8.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from xwisenet_tf.bench.machine import _cpu_model, load_average
    from xwisenet_tf.data.convert import beam_runner
    from xwisenet_tf.data.errors import DataError

    try:
        beam_runner()
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="prepare_throughput_videos_") as tmp:
        source = args.source
        if source is None:
            from xwisenet_tf.data import synthetic

            source = synthetic.generate(
                os.path.join(tmp, "videos"),
                videos_per_class=args.videos_per_class,
                eval_videos_per_class=1,
                progress=False,
            )
        load_start = load_average()
        result = measure(args.dataset, source, args.workers, args.videos_per_shard, args.short_side)
    result.update(
        dataset=args.dataset,
        source=args.source or "generated synthetic videos",
        workers=args.workers,
        videos_per_shard=args.videos_per_shard,
        cpu=_cpu_model(),
        cpus=os.cpu_count(),
        load_average_start=load_start,
        load_average_end=load_average(),
    )
    print(
        f"prepare throughput: {result['videos']} videos ({result['source']}), "
        f"{args.videos_per_shard} a shard; {result['cpu']}, {result['cpus']} CPUs, load "
        f"{result['load_average_start']} -> {result['load_average_end']}"
    )
    print(_table(result))
    print(
        f"(the Beam time includes starting its {args.workers} worker processes, each loading "
        "TensorFlow: a fixed cost that a larger dataset amortises)"
    )
    if args.json:
        write_json(args.json, result)
    return 0


if __name__ == "__main__":
    import xwisenet_tf.quiet_start  # noqa: F401 - TensorFlow starts without its start-up lines

    sys.exit(main())
