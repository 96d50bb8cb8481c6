"""Training clips made by a tf.data service (issue 32, part 2): a dispatcher and two workers in
this process; each pass over the records gives each video one clip, the same clips with one
worker or two; and ``python -m xwisenet_tf.data.service`` starts a dispatcher and a worker."""

from __future__ import annotations

import collections
import hashlib
import os
import selectors
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from xwisenet_tf import data
from xwisenet_tf.data import service

LOAD = dict(training=True, batch_size=4, num_frames=8, image_size=32, seed=3)


class Cluster:
    """A dispatcher and ``workers`` workers in this process."""

    def __init__(self, workers: int):
        api = tf.data.experimental.service
        self.dispatcher = api.DispatchServer()
        self.address = self.dispatcher.target  # grpc://localhost:PORT
        host = self.address.split("://")[1]
        self.workers = [
            api.WorkerServer(api.WorkerConfig(dispatcher_address=host)) for _ in range(workers)
        ]

    def stop(self):
        for worker in self.workers:
            worker._stop()
        self.dispatcher._stop()


@pytest.fixture(scope="module")
def clusters():
    made = {n: Cluster(n) for n in (1, 2)}
    yield made
    for cluster in made.values():
        cluster.stop()


def _clips(ds) -> list[tuple[int, str]]:
    """(video index, digest of the clip) of every clip of ``ds`` (clips, labels, video ids)."""
    out = []
    for clips, _, videos in ds.as_numpy_iterator():
        for clip, video in zip(clips, videos, strict=True):
            out.append((int(video), hashlib.sha1(np.round(clip, 3).tobytes()).hexdigest()))
    return out


def test_one_pass_gives_each_video_once_and_the_same_clips_with_one_or_two_workers(
    synthetic_prepared, clusters
):
    entry = data.read_manifest(synthetic_prepared)["splits"]["train"]
    assert len(entry["shards"]) >= 3  # something to split between the workers
    videos = len(entry["videos"])
    local = _clips(data.load(synthetic_prepared, "train", with_video_id=True, **LOAD))
    passes = {}
    for n, cluster in clusters.items():
        ds = data.load(
            synthetic_prepared, "train", with_video_id=True, data_service=cluster.address, **LOAD
        )
        passes[n] = _clips(ds)
    for clips in (local, *passes.values()):
        assert sorted(v for v, _ in clips) == list(range(videos))  # each video exactly once
    # Keyed by (seed, pass, file, record): the same clips whichever worker makes them.
    assert sorted(passes[1]) == sorted(passes[2])
    assert len({c for _, c in passes[2]}) == videos


def test_keyed_records_are_the_same_locally_and_split_between_two_workers(
    synthetic_prepared, clusters
):
    entry = data.read_manifest(synthetic_prepared)["splits"]["train"]
    files = [os.path.join(synthetic_prepared, s["file"]) for s in entry["shards"]]
    source = service.keyed_records(files, seed=5, shuffle_buffer=8, passes=3)
    source = source.map(lambda record, key: (tf.strings.to_hash_bucket_fast(record, 1 << 62), key))

    def pairs(ds):
        return sorted((int(r), tuple(k.tolist())) for r, k in ds.as_numpy_iterator())

    local = pairs(source)
    remote = pairs(service.distribute(source, clusters[2].address))
    assert remote == local
    per_record = collections.Counter(r for r, _ in local)
    assert len(per_record) == len(entry["videos"]) and set(per_record.values()) == {3}
    assert len({k for _, k in local}) == 3 * len(entry["videos"])  # a fresh key every pass


def test_the_service_makes_training_clips_only_and_names_a_missing_dispatcher(
    synthetic_prepared,
):
    with pytest.raises(data.DataError, match="training clips only"):
        data.load(synthetic_prepared, "test", False, 4, data_service="grpc://localhost:1")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    with pytest.raises(data.DataError, match=f"no tf.data service dispatcher answers at .*{port}"):
        data.load(synthetic_prepared, "train", data_service=f"grpc://127.0.0.1:{port}", **LOAD)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_line(process: subprocess.Popen, text: str, timeout: float = 120) -> str:
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if selector.select(timeout=1):
            line = process.stdout.readline()
            seen.append(line)
            if text in line:
                return line
            if not line and process.poll() is not None:
                break
    raise AssertionError(f"no line with {text!r}; output: {''.join(seen)}")


def test_command_line_starts_a_dispatcher_and_a_worker():
    port = _free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "xwisenet_tf.data.service"]
    started = []
    try:
        started.append(
            subprocess.Popen(
                [*command, "--dispatcher", "--port", str(port)],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=env,
            )  # fmt: skip
        )
        line = _wait_for_line(started[0], "dispatcher serving on port")
        assert f"--data_service=grpc://{socket.gethostname()}:{port}" in line
        started.append(
            subprocess.Popen(
                [
                    *command,
                    "--worker",
                    f"--dispatcher_address=localhost:{port}",
                    "--worker_host=localhost",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=env,
            )  # fmt: skip
        )
        _wait_for_line(started[1], "registered with the dispatcher")
        ds = service.distribute(tf.data.Dataset.range(10), f"grpc://localhost:{port}")
        assert sorted(int(x) for x in ds) == list(range(10))
    finally:
        for process in started:
            process.terminate()
            process.wait(timeout=30)


def test_command_line_needs_a_role():
    result = subprocess.run(
        [sys.executable, "-m", "xwisenet_tf.data.service", "--port", "5050"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: one of the arguments")
