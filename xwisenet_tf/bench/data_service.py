"""Does a tf.data service feed training faster? Training clips/s of `xwisenet_tf.data.load` made
here and made by a tf.data service, beside the clips/s of a training step.

    python -m xwisenet_tf.bench.data_service --workers 2     # a dispatcher here, 2 worker processes
    python -m xwisenet_tf.bench.data_service --service grpc://host0:5050   # a running cluster
    python -m xwisenet_tf.bench.data_service --recipe real --data PREPARED_DIR

The local and the service pipeline (same clips format and augmentation: the paper's, or
``--recipe``'s) are timed one after the other, ``--rounds`` rounds of ``--batches`` batches
after ``--warmup`` batches, the median round counted: the service's workers are other
processes that keep filling their buffers while this process waits, so timing the two in
interleaved rounds credits the service with clips made while the local pipeline was timed
(measured: "30x" on 2 cores). The local pipeline is timed first, alone; the workers start
after it. The training step as in `xwisenet_tf.bench.input_pipeline`. Local workers
(``--workers``) are ``python -m xwisenet_tf.data.service --worker`` processes on this machine:
they share its cores with this process, so the service can only gain here if one process
cannot use them all; a cluster on other machines adds their cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time


def start_workers(count: int) -> tuple[str, list[subprocess.Popen], object]:
    """A dispatcher in this process and ``count`` worker processes registered with it:
    ``(address, worker processes, dispatcher)``."""
    import tensorflow as tf

    dispatcher = tf.data.experimental.service.DispatchServer()
    address = dispatcher.target  # grpc://localhost:PORT
    command = [sys.executable, "-m", "xwisenet_tf.data.service", "--worker", "--worker_host"]
    workers = [
        subprocess.Popen(
            [*command, "localhost", f"--dispatcher_address={address.split('://')[1]}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        for _ in range(count)
    ]
    for worker in workers:
        for line in worker.stdout:
            if "registered with the dispatcher" in line:
                break
        else:
            raise RuntimeError(f"a tf.data service worker exited ({worker.wait()})")
        # Keep reading what it prints, so that a full pipe never blocks it.
        threading.Thread(target=worker.stdout.read, daemon=True).start()
    return address, workers, dispatcher


def steady_rate(dataset, args) -> float:
    """Clips/s of ``dataset``: the median of ``args.rounds`` rounds of ``args.batches`` batches,
    after ``args.warmup`` batches (the first round drains what buffers held)."""
    iterator = iter(dataset)
    for _ in range(args.warmup):
        next(iterator)
    seconds = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        for _ in range(args.batches):
            clips = next(iterator)[0]
        clips.numpy()
        seconds.append(time.perf_counter() - start)
    return args.batches * args.batch_size / statistics.median(seconds)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m xwisenet_tf.bench.data_service", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--data", help="prepared directory; default: synthetic data in --data_dir")
    p.add_argument("--data_dir", default="data_cache", help="cache for the synthetic data")
    p.add_argument("--service", help="a running dispatcher (grpc://host:port); default: --workers")
    p.add_argument("--workers", type=int, default=2, help="local worker processes to start")
    p.add_argument("--recipe", default=None, help="a recipe's augmentation (default: the paper's)")
    p.add_argument("--model", default="xwisenet")
    p.add_argument("--batch_size", type=int, default=8)
    p.add_argument("--num_frames", type=int, default=16)
    p.add_argument("--image_size", type=int, default=112)
    p.add_argument("--warmup", type=int, default=3, help="batches (and steps) before timing")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--batches", type=int, default=20, help="batches of each pipeline a round")
    p.add_argument("--model_steps", type=int, default=5)
    args = p.parse_args(argv)

    from xwisenet_tf.bench.input_pipeline import measure_model, recipe_dataset
    from xwisenet_tf.data import ensure_dataset, read_manifest

    data_dir = args.data or ensure_dataset("synthetic", args.data_dir)
    print(
        f"cores: {os.cpu_count()}, batch {args.batch_size}, clips "
        f"{args.num_frames}x{args.image_size}x{args.image_size}x3, recipe {args.recipe}"
    )
    rates = {"local": steady_rate(recipe_dataset(data_dir, args, args.recipe), args)}
    workers, dispatcher = [], None
    address = args.service
    if not address:
        address, workers, dispatcher = start_workers(args.workers)
    where = args.service or f"{args.workers} local worker processes"
    try:
        print(f"data: {data_dir}; service: {address} ({where})")
        service = recipe_dataset(data_dir, args, args.recipe, address)
        rates["service"] = steady_rate(service, args)
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=60)
        del dispatcher
    model = measure_model(len(read_manifest(data_dir)["classes"]), args)
    print(f"input pipeline, local:          {rates['local']:8.1f} clips/s")
    print(f"input pipeline, tf.data service: {rates['service']:8.1f} clips/s ({where})")
    print(f"{args.model} training step:      {model:8.1f} clips/s")
    for name, rate in rates.items():
        print(f"ratio {name} / model: {rate / model:6.1f}x")
    print(f"ratio service / local: {rates['service'] / rates['local']:6.2f}x (of the medians)")


if __name__ == "__main__":
    main()
