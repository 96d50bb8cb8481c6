"""Training clips made by a tf.data service cluster: its workers read, decode and augment the
clips; the trainer receives batches.

    python -m xwisenet_tf.data.service --dispatcher --port 5050                     # host0
    python -m xwisenet_tf.data.service --worker --dispatcher_address host0:5050 --port 5051
    python train.py --dataset=kth --data_service=grpc://host0:5050

`xwisenet_tf.data.load` with ``data_service=`` builds the training graph on `keyed_records` and
hands everything up to the batches to the service (`distribute`, mode ``distributed_epoch``).
The dispatcher hands out the files of each pass one by one to the workers that ask (a worker
reads two at a time), so each pass over the records yields each video once across all workers, and each clip's random choices are keyed by (seed,
pass, file, record), not by the order the records arrive in: the clips of a pass are the same
with one worker or ten, run after run; their order is not (docs/scaling.md).

The graph the workers run is serialized without Python, so a worker needs TensorFlow of the
trainer's version, not this package; it reads the shards at the paths the trainer gives (made
absolute): the prepared directory must be at that path on every worker (a shared or mounted
file system).
"""

from __future__ import annotations

import argparse
import os
import random
import socket
from typing import TYPE_CHECKING

from xwisenet_tf.data.errors import DataError
from xwisenet_tf.errors import ArgumentParser

if TYPE_CHECKING:
    import tensorflow as tf

ENDLESS = 1 << 62  # passes of an endless run: the dispatcher hands out files lazily
DEFAULT_PORT = 5050


def keyed_records(
    files: list[str], seed: int | None, shuffle_buffer: int, passes: int | None = None
) -> tf.data.Dataset:
    """``(serialized record, int64 seed [2])`` pairs, ``passes`` passes over ``files`` (``None``:
    endless), splittable by the tf.data service's ``distributed_epoch`` mode.

    The source is ``Dataset.range``: element ``i`` is file ``index_shuffle(i % F)`` of pass
    ``i // F`` (a fresh order each pass). Each record's seed is derived from (seed, pass, file,
    record index), so a clip does not depend on which worker makes it or when. Records are
    then shuffled in a buffer of ``shuffle_buffer`` (order only). The file list itself is not
    shuffled with ``Dataset.shuffle``: measured with TF 2.21, a shuffle before an interleave
    makes every worker read every file (each record twice with two workers).
    """
    import tensorflow as tf

    seed = random.randrange(1 << 31) if seed is None else seed
    count = len(files)
    names = tf.constant(files)

    def file_of(i):
        epoch, k = i // count, i % count
        last = tf.constant(count - 1, tf.int64)
        pick = tf.random.experimental.index_shuffle(k, tf.stack([seed, epoch]), last)
        return tf.gather(names, pick), tf.random.experimental.stateless_fold_in(
            tf.constant([seed, 0], tf.int64), epoch * count + pick
        )

    def records(name, key):
        def keyed(index, serialized):
            return serialized, tf.random.experimental.stateless_fold_in(key, index)

        return tf.data.TFRecordDataset(name).enumerate().map(keyed)

    ds = tf.data.Dataset.range(count * passes if passes else ENDLESS).map(file_of)
    ds = ds.interleave(records, cycle_length=2, num_parallel_calls=2, deterministic=False)
    return ds.shuffle(shuffle_buffer, seed=seed)


def absolute(path: str) -> str:
    """``path`` as a worker on another machine must read it (URLs such as ``gs://`` kept)."""
    return path if "://" in path else os.path.abspath(path)


def check_reachable(address: str, timeout: float = 10.0) -> None:
    """Raises `DataError` unless something accepts connections at ``address``
    (``[grpc://]host:port``): an unreachable dispatcher would block training silently."""
    host, _, port = address.split("://", 1)[-1].rpartition(":")
    if not host or not port.isdigit():
        raise DataError(f"data_service {address!r}: expected an address like grpc://host:5050")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as e:
        raise DataError(
            f"no tf.data service dispatcher answers at {address} ({e}); start one with "
            f"python -m xwisenet_tf.data.service --dispatcher --port {port}"
        ) from e


def distribute(
    dataset: tf.data.Dataset, address: str, job_name: str | None = None
) -> tf.data.Dataset:
    """``dataset`` made by the service at ``address`` (``distributed_epoch``: split by its
    ``Dataset.range`` or file-list source, each split once); trainers giving the same
    ``job_name`` share one job (each element goes to one of them). Elements travel
    uncompressed: float clips barely compress, and snappy costs the trainer's CPU."""
    import tensorflow as tf

    check_reachable(address)
    return dataset.apply(
        tf.data.experimental.service.distribute(
            processing_mode=tf.data.experimental.service.ShardingPolicy.DYNAMIC,
            service=address,
            job_name=job_name,
            compression=None,
        )
    )


def _parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        prog="python -m xwisenet_tf.data.service", description=__doc__.split("\n\n")[0]
    )
    role = p.add_mutually_exclusive_group(required=True)
    role.add_argument("--dispatcher", action="store_true", help="start the dispatcher")
    role.add_argument("--worker", action="store_true", help="start a worker")
    p.add_argument("--port", type=int, default=None, help=f"port (dispatcher: {DEFAULT_PORT})")
    p.add_argument("--dispatcher_address", help="worker: the dispatcher's host:port")
    p.add_argument(
        "--worker_host",
        default=socket.gethostname(),
        help="worker: the host name trainers reach it by (default: this machine's name)",
    )
    p.add_argument(
        "--work_dir", help="dispatcher: journal directory, to restart without losing its jobs"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """Starts a dispatcher or a worker and serves until interrupted."""
    from xwisenet_tf.errors import run_command

    args = _parser().parse_args(argv)

    def serve() -> None:
        import tensorflow as tf

        service = tf.data.experimental.service
        if args.dispatcher:
            port = args.port or DEFAULT_PORT
            config = service.DispatcherConfig(
                port=port, work_dir=args.work_dir, fault_tolerant_mode=bool(args.work_dir)
            )
            server = service.DispatchServer(config)
            print(
                f"tf.data service dispatcher serving on port {port}: train with "
                f"--data_service=grpc://{socket.gethostname()}:{port}; start workers with "
                f"--worker --dispatcher_address={socket.gethostname()}:{port}",
                flush=True,
            )
        else:
            if not args.dispatcher_address:
                raise DataError("--worker needs --dispatcher_address=HOST:PORT")
            address = args.dispatcher_address.split("://", 1)[-1]
            print(f"tf.data service worker: registering with the dispatcher at {address} "
                  "(waits until it answers)", flush=True)  # fmt: skip
            server = service.WorkerServer(
                service.WorkerConfig(
                    dispatcher_address=address,
                    worker_address=f"{args.worker_host}:%port%",
                    port=args.port or 0,
                )
            )
            port = getattr(server, "_address", "?").rpartition(":")[2]  # the port bound
            print(
                f"tf.data service worker serving on port {port} as {args.worker_host}, "
                f"registered with the dispatcher at {address}",
                flush=True,
            )
        server.join()

    return run_command(serve)


if __name__ == "__main__":
    import sys

    import xwisenet_tf.quiet_start  # noqa: F401 - TensorFlow starts without its start-up lines

    sys.exit(main())
