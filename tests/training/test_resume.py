"""Item 2 of the issue: a run killed mid-epoch and started again with the same command
continues from its last completed epoch with the same optimiser step count and ends with the
epochs of an uninterrupted run; a lost or corrupt training state is an error, never a silent
restart from scratch, and nothing already written is touched."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from tests.training.conftest import (
    PYTHON,
    REPO,
    SYNTHETIC_OPTIONS,
    TINY_CLIP,
    TINY_FLAGS,
    TINY_MODEL,
    cli_env,
    synthetic_flags,
    tree_digest,
)
from xwisenet_tf.training import TrainConfig, TrainingError, train
from xwisenet_tf.training.callbacks import read_history

EPOCHS, STEPS = 3, 20


def _command(data_dir, model_dir) -> list[str]:
    return [
        PYTHON, str(REPO / "train.py"), *synthetic_flags(data_dir), *TINY_FLAGS,
        f"--model_dir={model_dir}", f"--epochs={EPOCHS}", f"--steps_per_epoch={STEPS}",
        "--batch_size=4", "--noevaluate_test", "--verbose=2",
    ]  # fmt: skip


def _same_config(data_dir, model_dir) -> TrainConfig:
    """The configuration `_command` gives, for in-process calls."""
    return TrainConfig(
        dataset="synthetic", data_dir=str(data_dir), dataset_options=dict(SYNTHETIC_OPTIONS),
        model_dir=str(model_dir), model_overrides=dict(TINY_MODEL), epochs=EPOCHS,
        steps_per_epoch=STEPS, batch_size=4, evaluate_test=False, verbose=0, **TINY_CLIP,
    )  # fmt: skip


def _state(model_dir) -> dict | None:
    try:
        with open(os.path.join(model_dir, "backup", "state.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


@pytest.fixture(scope="module")
def resumed_run(synthetic_data_dir, tmp_path_factory):
    """Kills a run with SIGKILL during its second epoch, then reruns the same command."""
    model_dir = tmp_path_factory.mktemp("resume") / "run"
    command = _command(synthetic_data_dir, model_dir)
    first = subprocess.Popen(command, cwd=REPO, env=cli_env(), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)  # fmt: skip
    deadline = time.time() + 240
    try:
        while (_state(model_dir) or {}).get("epoch", 0) < 1:
            assert first.poll() is None, f"run ended before epoch 1:\n{first.stdout.read()}"
            assert time.time() < deadline, "epoch 1 did not complete in time"
            time.sleep(0.05)
        time.sleep(0.5)  # inside epoch 2 (20 training steps)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(30)
        first.stdout.close()
    killed_state = _state(model_dir)
    assert killed_state["epoch"] == 1, "the kill came too late to be mid-epoch"
    killed_history = read_history(os.path.join(model_dir, "history.csv"))
    second = subprocess.run(command, cwd=REPO, env=cli_env(), capture_output=True, text=True,
                            timeout=240, check=False)  # fmt: skip
    assert second.returncode == 0, second.stdout + second.stderr
    return model_dir, killed_state, killed_history, second.stdout


def test_killed_run_resumes_at_its_last_epoch(resumed_run):
    model_dir, killed_state, killed_history, output = resumed_run
    assert killed_state["optimizer_iterations"] == STEPS
    assert [int(r["epoch"]) for r in killed_history] == [1]
    assert f"Resuming after epoch 1 (optimizer step {STEPS})" in output
    assert f"Epoch 2/{EPOCHS}" in output and "Epoch 1/" not in output


def test_resumed_run_ends_like_an_uninterrupted_run(resumed_run):
    model_dir, _, _, _ = resumed_run
    history = read_history(os.path.join(model_dir, "history.csv"))
    assert [int(r["epoch"]) for r in history] == list(range(1, EPOCHS + 1))
    assert [int(r["optimizer_steps"]) for r in history] == [STEPS * e for e in (1, 2, 3)]
    state = _state(model_dir)
    assert state["epoch"] == EPOCHS and state["optimizer_iterations"] == EPOCHS * STEPS
    assert sorted(os.listdir(os.path.join(model_dir, "backup"))) == [
        f"epoch-{EPOCHS:04d}.weights.h5",
        "state.json",
    ]
    for name in ("last.keras", "config.json"):
        assert os.path.isfile(os.path.join(model_dir, name))
    # The default recipe's cosine schedule, counted in optimizer steps, continued where the
    # killed run stopped: every epoch's learning rate is the uninterrupted run's.
    from xwisenet_tf.training import RECIPES, WarmupCosine

    recipe = RECIPES["default"]
    total = EPOCHS * STEPS
    schedule = WarmupCosine(
        recipe["learning_rate"], total, round(recipe["warmup_fraction"] * total)
    )
    expected = [float(schedule(STEPS * e)) for e in (1, 2, 3)]
    assert [float(r["learning_rate"]) for r in history] == pytest.approx(expected, rel=1e-5)


def test_completed_run_is_not_trained_again(resumed_run, synthetic_data_dir):
    model_dir, _, _, _ = resumed_run
    before = tree_digest(model_dir)
    result = train(_same_config(synthetic_data_dir, model_dir))
    assert result.initial_epoch == EPOCHS and result.optimizer_steps == EPOCHS * STEPS
    after = tree_digest(model_dir)
    changed = {k for k in before if before[k] != after.get(k)}
    assert changed <= {"config.json"}, changed  # rewritten (same run, verbose differs)
    added = set(after) - set(before)
    assert all(k.startswith("logs/") for k in added), added  # a new TensorBoard event file


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("corrupt", r"epoch-0003\.weights\.h5: cannot restore the training state .* corrupt"),
        ("missing", r"epoch-0003\.weights\.h5: missing; .*state\.json says the run completed 3"),
        ("no_backup", r"no training state, but .* holds last\.keras, history\.csv"),
        ("other_config", r"holds a run with another configuration \(batch_size: 4 -> 8\)"),
    ],
)
def test_lost_or_corrupt_state_is_an_error(resumed_run, synthetic_data_dir, tmp_path, damage,
                                           message):  # fmt: skip
    model_dir = tmp_path / "run"
    shutil.copytree(resumed_run[0], model_dir)
    config = _same_config(synthetic_data_dir, model_dir)
    weights = model_dir / "backup" / f"epoch-{EPOCHS:04d}.weights.h5"
    if damage == "corrupt":
        weights.write_bytes(weights.read_bytes()[:1000])
    elif damage == "missing":
        weights.unlink()
    elif damage == "no_backup":
        shutil.rmtree(model_dir / "backup")
    else:
        config.batch_size = 8
    before = tree_digest(model_dir)
    with pytest.raises(TrainingError, match=message):
        train(config)
    assert tree_digest(model_dir) == before
