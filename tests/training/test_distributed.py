"""Item 3 of the issue: MirroredStrategy on two logical CPU devices and MultiWorkerMirrored-
Strategy with two local worker processes (TF_CONFIG on 127.0.0.1) train to identical weights on
every replica and worker (trainable weights, BatchNorm statistics and optimiser state)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import textwrap

import h5py
import numpy as np

from tests.training.conftest import (
    PYTHON,
    REPO,
    SYNTHETIC_OPTIONS,
    TINY_CLIP,
    TINY_FLAGS,
    TINY_MODEL,
    cli_env,
    synthetic_flags,
)

MIRRORED_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from xwisenet_tf.training import TrainConfig, train

    config = TrainConfig.from_dict(json.loads(sys.argv[1]))
    result = train(config)
    model = result.model
    variables = list(model.weights) + list(model.optimizer.variables)
    diffs, replicas = [], set()
    for variable in variables:
        value = getattr(variable, "value", variable)
        copies = [np.asarray(v.numpy()) for v in getattr(value, "values", [value])]
        replicas.add(len(copies))
        diffs.append(max(float(np.abs(c - copies[0]).max()) for c in copies))
    print("RESULT " + json.dumps({
        "replicas": sorted(replicas), "max_diff": max(diffs), "variables": len(variables),
        "steps": result.optimizer_steps, "strategy": json.load(open(
            result.model_dir + "/config.json"))["resolved"]["strategy"],
    }))
    """
)


def test_mirrored_strategy_on_two_cpu_devices(synthetic_data_dir, tmp_path):
    from xwisenet_tf.training import TrainConfig

    config = TrainConfig(
        dataset="synthetic", data_dir=str(synthetic_data_dir),
        dataset_options=dict(SYNTHETIC_OPTIONS), model_dir=str(tmp_path / "run"),
        model_overrides=dict(TINY_MODEL), batch_size=4, epochs=2, steps_per_epoch=3,
        strategy="mirrored", cpu_devices=2, evaluate_test=False, verbose=0, **TINY_CLIP,
    )  # fmt: skip
    script = tmp_path / "mirrored.py"
    script.write_text(MIRRORED_SCRIPT)
    process = subprocess.run(
        [PYTHON, str(script), json.dumps(config.to_dict())], cwd=REPO, env=cli_env(),
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert process.returncode == 0, process.stdout + process.stderr
    line = next(x for x in process.stdout.splitlines() if x.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])
    assert result["strategy"] == "mirrored"
    assert result["replicas"] == [2]  # every variable mirrored on both devices
    assert result["max_diff"] == 0.0, result
    assert result["steps"] == 2 * 3
    assert "2 replicas), global batch 4" in process.stdout


def _free_ports(count: int) -> list[int]:
    sockets = []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _h5_arrays(path) -> dict[str, np.ndarray]:
    arrays = {}
    with h5py.File(path, "r") as f:
        f.visititems(
            lambda name, item: (
                arrays.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset) else None
            )
        )
    return arrays


def test_multi_worker_mirrored_strategy_with_two_processes(synthetic_data_dir, tmp_path):
    model_dir = tmp_path / "run"
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    command = [
        PYTHON, str(REPO / "train.py"), *synthetic_flags(synthetic_data_dir), *TINY_FLAGS,
        f"--model_dir={model_dir}", "--batch_size=4", "--epochs=2", "--steps_per_epoch=3",
        "--strategy=multi_worker", "--noevaluate_test", "--verbose=2",
    ]  # fmt: skip
    processes = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        processes.append(
            subprocess.Popen(
                command,
                cwd=REPO,
                env=cli_env(TF_CONFIG=json.dumps(tf_config)),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )  # fmt: skip
        )
    outputs = []
    try:
        for process in processes:
            outputs.append(process.communicate(timeout=300)[0])
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(30)
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output
    assert "Strategy multi_worker (2 replicas), global batch 4" in outputs[0]
    assert "Strategy multi_worker" not in outputs[1]  # only the chief reports
    chief, worker = model_dir, model_dir / "workers" / "worker-1"
    config = json.loads((chief / "config.json").read_text())["resolved"]
    assert (config["strategy"], config["num_workers"], config["num_replicas"]) == (
        "multi_worker",
        2,
        2,
    )
    # Same model weights (BatchNorm statistics included) and optimiser state on both workers.
    for name in ("last.keras", "backup/epoch-0002.weights.h5"):
        assert (worker / name).is_file(), name
    a = _h5_arrays(chief / "backup" / "epoch-0002.weights.h5")
    b = _h5_arrays(worker / "backup" / "epoch-0002.weights.h5")
    assert a.keys() == b.keys() and len(a) > 100
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    state = json.loads((chief / "backup" / "state.json").read_text())
    assert state["epoch"] == 2 and state["optimizer_iterations"] == 6
    assert not os.path.exists(worker / "history.csv")  # logs are the chief's
