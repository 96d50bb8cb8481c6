"""``train.py --data_service`` (issue 32, part 2): a tiny model trains on clips a tf.data service
(a dispatcher and two workers in this process) makes, and sees as many distinct clips per epoch
as the local pipeline gives; under MirroredStrategy too."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import socket
import subprocess
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from tests.training.conftest import (
    PYTHON,
    REPO,
    SYNTHETIC_OPTIONS,
    TINY_CLIP,
    TINY_MODEL,
    cli_env,
)
from xwisenet_tf import data
from xwisenet_tf.training import TrainConfig, TrainingError, train
from xwisenet_tf.training import recipe as recipe_module
from xwisenet_tf.training.datasets import run_validation
from xwisenet_tf.training.fit_data import train_dataset

BATCH, STEPS, EPOCHS = 4, 6, 2  # 24 clips an epoch: one clip of each of the 24 training videos


def _digest(clip: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(clip).tobytes()).hexdigest()


def _config(data_dir, model_dir, **changes) -> TrainConfig:
    values = dict(
        dataset="synthetic", data_dir=str(data_dir), dataset_options=dict(SYNTHETIC_OPTIONS),
        model_dir=str(model_dir), model_overrides=dict(TINY_MODEL), batch_size=BATCH,
        epochs=EPOCHS, steps_per_epoch=STEPS, validation="none", evaluate_test=False,
        colour_jitter=1.0,  # continuous draws: two clips of a video never coincide by chance
        verbose=0, **TINY_CLIP,
    )  # fmt: skip
    return TrainConfig(**{**values, **changes})


@pytest.fixture
def service_cluster():
    api = tf.data.experimental.service
    dispatcher = api.DispatchServer()
    host = dispatcher.target.split("://")[1]
    workers = [api.WorkerServer(api.WorkerConfig(dispatcher_address=host)) for _ in range(2)]
    yield dispatcher.target
    for worker in workers:
        worker._stop()
    dispatcher._stop()


def _distinct_per_epoch(digests: list[str]) -> list[int]:
    per_epoch = BATCH * STEPS
    assert len(digests) >= EPOCHS * per_epoch
    return [len(set(digests[e * per_epoch : (e + 1) * per_epoch])) for e in range(EPOCHS)]


def test_training_through_the_service_sees_the_local_pipelines_distinct_clips(
    synthetic_data_dir, synthetic_prepared, service_cluster, tmp_path, monkeypatch, capsys
):
    seen: list[str] = []

    def recording(*args, **kwargs):
        def record(clips):
            seen.extend(_digest(c) for c in clips)
            return clips

        def fn(clips, labels):
            out = tf.numpy_function(record, [clips], tf.float32)
            return tf.ensure_shape(out, clips.shape), labels

        return train_dataset(*args, **kwargs).map(fn)  # on the trainer, after the service

    monkeypatch.setattr(recipe_module, "train_dataset", recording)
    config = _config(synthetic_data_dir, tmp_path / "run", data_service=service_cluster)
    result = train(config)
    assert result.optimizer_steps == EPOCHS * STEPS
    assert f"Training clips made by the tf.data service at {service_cluster}" in (
        capsys.readouterr().out
    )
    # The clips the same run reads without the service.
    local_config = dataclasses.replace(config, data_service=None).resolved(24)
    manifest = data.read_manifest(synthetic_prepared)
    local = train_dataset(
        local_config, str(synthetic_prepared), run_validation(local_config, manifest), 0
    )
    local_digests = [
        _digest(c) for clips, _ in local.take(EPOCHS * STEPS).as_numpy_iterator() for c in clips
    ]
    assert _distinct_per_epoch(local_digests) == [BATCH * STEPS] * EPOCHS
    assert _distinct_per_epoch(seen) == _distinct_per_epoch(local_digests)


def test_data_service_must_be_an_address_where_a_dispatcher_answers(synthetic_data_dir, tmp_path):
    with pytest.raises(TrainingError, match="data_service must be a dispatcher address"):
        TrainConfig(data_service="localhost").validate()
    TrainConfig(data_service="grpc://host0:5050").validate()
    TrainConfig(data_service="host0:5050").validate()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    config = _config(synthetic_data_dir, tmp_path / "run", data_service=f"127.0.0.1:{port}")
    with pytest.raises(data.DataError, match="no tf.data service dispatcher answers"):
        train(config)
    assert not (tmp_path / "run").exists()  # refused before anything is written


MIRRORED_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import tensorflow as tf
    from xwisenet_tf.training import TrainConfig, train

    api = tf.data.experimental.service
    dispatcher = api.DispatchServer()
    host = dispatcher.target.split("://")[1]
    workers = [api.WorkerServer(api.WorkerConfig(dispatcher_address=host)) for _ in range(2)]
    config = TrainConfig.from_dict(dict(json.loads(sys.argv[1]), data_service=dispatcher.target))
    result = train(config)
    print("RESULT " + json.dumps({"steps": result.optimizer_steps}))
    """
)


def test_mirrored_strategy_trains_through_the_service(synthetic_data_dir, tmp_path):
    config = _config(
        synthetic_data_dir, tmp_path / "run", strategy="mirrored", cpu_devices=2, epochs=1
    )
    script = tmp_path / "mirrored.py"
    script.write_text(MIRRORED_SCRIPT)
    process = subprocess.run(
        [PYTHON, str(script), json.dumps(config.to_dict())], cwd=REPO, env=cli_env(),
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert process.returncode == 0, process.stdout + process.stderr
    line = next(x for x in process.stdout.splitlines() if x.startswith("RESULT "))
    assert json.loads(line[len("RESULT ") :]) == {"steps": STEPS}
    assert "2 replicas), global batch 4" in process.stdout
    assert "Training clips made by the tf.data service at grpc://localhost:" in process.stdout
