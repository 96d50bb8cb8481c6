"""The runner: an interrupted run resumes without redoing finished configurations, Table I
on a trained model, reuse of identical configurations, failures, the report, and the Table V
path on the real KTH slice."""

from __future__ import annotations

import json

import keras
import pytest

from tests.experiments.conftest import tiny_settings
from xwisenet_tf.experiments import ExperimentError, experiments, run_table
from xwisenet_tf.experiments.runner import (
    DONE_FILE,
    FAILED_FILE,
    config_dir,
    fingerprint,
    plan,
    train_config,
)

CONFIGS = ["xwisenet-gc", "xwisenet-ss"]


class _InterruptAfterFirstEpoch(keras.callbacks.Callback):
    """Ctrl-C as epoch 2 begins: every callback (the resumable backup included) has finished
    epoch 1."""

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt


@pytest.fixture(scope="module")
def interrupted(synthetic_data_dir, tmp_path_factory):
    """Table 4's GC and SS configurations (tiny, 2 epochs each), interrupted (Ctrl-C) after
    the first epoch of the second; then the same call again; then Table 1 in the same
    directory (same configuration as Table 4's SS row: reused, only measured)."""
    from xwisenet_tf.training import recipe

    out = tmp_path_factory.mktemp("interrupted") / "out"
    settings = tiny_settings(synthetic_data_dir, out, epochs=2)
    first, second = (out / "table4" / slug for slug in CONFIGS)
    original = recipe._callbacks

    def with_interrupt(*args, **kwargs):
        callbacks = original(*args, **kwargs)
        if str(args[3]).startswith(str(second)):  # own_dir of the second configuration
            callbacks.insert(0, _InterruptAfterFirstEpoch())
        return callbacks

    lines: list[str] = []
    recipe._callbacks = with_interrupt
    try:
        with pytest.raises(KeyboardInterrupt):
            run_table("4", settings, CONFIGS, log=lines.append)
    finally:
        recipe._callbacks = original
    state = second / "train" / "backup" / "state.json"
    killed = {
        "first_done": (first / DONE_FILE).exists(),
        "second_done": (second / DONE_FILE).exists(),
        "second_state": json.loads(state.read_text()) if state.exists() else None,
    }
    watched = [first / DONE_FILE, *(first / "train" / n for n in ("best.keras", "history.csv"))]
    watched.append(first / "train" / "eval_test.json")
    before = {p: p.stat().st_mtime_ns for p in watched if p.exists()}
    rerun_lines: list[str] = []
    results = run_table("4", settings, CONFIGS, log=rerun_lines.append)
    after = {p: p.stat().st_mtime_ns for p in watched if p.exists()}
    table1_lines: list[str] = []
    settings1 = tiny_settings(synthetic_data_dir, out, epochs=2, cosine_max_clips=6)
    (table1,) = run_table("1", settings1, log=table1_lines.append)
    return {
        "out": out,
        "settings": settings,
        "first": first,
        "second": second,
        "killed": killed,
        "before": before,
        "after": after,
        "results": results,
        "rerun_lines": rerun_lines,
        "table1": table1,
        "table1_lines": table1_lines,
        "synthetic_data_dir": synthetic_data_dir,
    }


def test_interrupt_left_the_first_configuration_done_and_the_second_half_trained(interrupted):
    killed = interrupted["killed"]
    assert killed["first_done"]
    assert not killed["second_done"]
    assert killed["second_state"]["epoch"] == 1


def test_rerun_skips_finished_and_resumes_interrupted(interrupted):
    lines = interrupted["rerun_lines"]
    assert lines[0].endswith("skipped") and "xwisenet-gc: done" in lines[0]
    assert "xwisenet-ss: training" in lines[1]
    # Nothing of the finished configuration was rewritten.
    assert len(interrupted["before"]) == 4
    assert interrupted["after"] == interrupted["before"]
    done = json.loads((interrupted["second"] / DONE_FILE).read_text())
    assert done["resumed_from_epoch"] == 1 and done["epochs"] == 2
    history = (interrupted["second"] / "train" / "history.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in history[1:]] == ["1", "2"]
    assert 0.0 <= done["video_accuracy"] <= 1.0
    assert done["params"] > 0 and done["macs"] > 0 and done["num_classes"] == 6
    assert done["input_shape"] == [8, 32, 32, 3]
    assert done["paper"]["accuracy"] == 83.01
    assert done["overrides"]["stage_repeats"] == [1, 2, 1]
    assert [r["slug"] for r in interrupted["results"]] == CONFIGS


def test_third_run_trains_nothing(interrupted):
    lines: list[str] = []
    results = run_table("4", interrupted["settings"], CONFIGS, log=lines.append)
    assert [r["slug"] for r in results] == CONFIGS
    assert all(line.endswith("skipped") for line in lines), lines
    statuses = [row["status"] for row in plan("4", interrupted["settings"])]
    assert statuses == ["pending", "pending", "pending", "done", "done"]


def test_table1_reuses_the_trained_ss_model_and_measures_it(interrupted):
    done = interrupted["table1"]
    assert done["reused_from"] == "table4/xwisenet-ss"
    assert not (interrupted["out"] / "table1" / "xwisenet-ss" / "train").exists()
    cosine = done["cosine"]
    assert cosine["num_clips"] == 6 and cosine["reduce"] == "flatten"
    assert set(cosine["blocks"]) == {"stage1_ss", "stage3_unit2_ss"}
    for values in [*cosine["blocks"].values(), cosine["mean"]]:
        assert set(values) == {"input", "context", "output"}
        assert all(-1.0 <= v <= 1.0 for v in values.values())


def test_report_of_the_run(interrupted):
    from xwisenet_tf.experiments import write_report

    out = interrupted["out"]
    path = write_report(str(out), paper_complexity=False, log=lambda _: None)
    text = (out / "report.md").read_text()
    assert path == str(out / "report.md")
    assert "## Table I" in text and "| **paper** | 0.2826 | 0.2499 | 0.2102 |" in text
    assert "## Table IV" in text and "| XwiseNet + ss |" in text
    assert "| XwiseNet + se | not run |" in text
    assert (out / "figures" / "fig7_table4_tradeoff.png").stat().st_size > 1000


def test_done_json_of_other_settings_is_refused(interrupted):
    settings = tiny_settings(
        interrupted["synthetic_data_dir"], interrupted["out"], epochs=2, image_size=48
    )
    with pytest.raises(ExperimentError, match="other settings"):
        run_table("4", settings, ["xwisenet-gc"], log=lambda _: None)


def test_more_epochs_continue_a_finished_configuration(interrupted):
    settings = tiny_settings(interrupted["synthetic_data_dir"], interrupted["out"], epochs=3)
    (done,) = run_table("4", settings, ["xwisenet-gc"], log=lambda _: None)
    assert done["epochs"] == 3 and done["resumed_from_epoch"] == 2
    history = (interrupted["first"] / "train" / "history.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in history[1:]] == ["1", "2", "3"]


def test_identical_configuration_is_reused_not_retrained(synthetic_data_dir, tmp_path):
    settings = tiny_settings(synthetic_data_dir, tmp_path, epochs=2)
    (ss,) = [e for e in experiments("4") if e.slug == "xwisenet-ss"]
    source = config_dir(str(tmp_path), ss)
    key = fingerprint(train_config(ss, settings, source + "/train"))
    fake = {
        "table": "4",
        "slug": ss.slug,
        "dir": "table4/xwisenet-ss",
        "fingerprint": key,
        "epochs": 2,
        "video_accuracy": 0.5,
        "params": 1,
        "macs": 2,
        "checkpoint": "table4/xwisenet-ss/train/best.keras",
        "reused_from": None,
    }
    (tmp_path / "table4" / "xwisenet-ss").mkdir(parents=True)
    (tmp_path / "table4" / "xwisenet-ss" / DONE_FILE).write_text(json.dumps(fake))
    lines: list[str] = []
    (result,) = run_table("3b", settings, ["before-channel-shuffle"], log=lines.append)
    assert result["reused_from"] == "table4/xwisenet-ss" and result["video_accuracy"] == 0.5
    assert result["paper"]["accuracy"] == 83.01 and result["table"] == "3b"
    assert not (tmp_path / "table3b" / "before-channel-shuffle" / "train").exists()
    assert "reused" in lines[-1]


def test_failed_configuration_is_recorded_and_the_table_goes_on(tmp_path):
    settings = tiny_settings(tmp_path / "data", tmp_path / "out", dataset="folder:/nonexistent")
    lines: list[str] = []
    results = run_table("3a", settings, ["channel-wise-pooling", "temporal-*"], log=lines.append)
    assert results == []
    for slug in ("channel-wise-pooling", "temporal-wise-pooling"):
        failed = json.loads((tmp_path / "out" / "table3a" / slug / FAILED_FILE).read_text())
        assert "nonexistent" in failed["error"]
    assert "2 configuration(s) failed" in lines[-1]
    statuses = [r["status"] for r in plan("3a", settings, ["channel-wise-pooling", "t*"])]
    assert statuses == ["failed", "failed"]


def test_cli_user_errors_are_one_line(tmp_path, capsys):
    from xwisenet_tf.experiments.__main__ import main

    assert main(["run", "--table=2", f"--output_dir={tmp_path}"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: table 2: give --dataset (the paper used Part-Kinetics, a 10-class Kinetics "
        "subset: folder:PATH, csv:PATH or prepared:PATH; 'synthetic' for a quick offline run)"
    )
    args = ["--table=4", "--dataset=synthetic", f"--output_dir={tmp_path}"]
    assert main(["run", *args, "--model_option=depthh=3"]) == 2
    assert capsys.readouterr().err.startswith("error: unknown --model_option ['depthh']")
    assert main(["list", *args, "--configs=xwisenet-s*"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in listing] == [
        ["pending", "xwisenet-se"],
        ["pending", "xwisenet-ss"],
    ]


def test_table5_on_the_real_kth_slice(kth_dir, tmp_path):
    settings = tiny_settings(
        tmp_path / "data", tmp_path / "out", dataset=f"kth:{kth_dir}", dataset_options={}
    )
    lines: list[str] = []
    (done,) = run_table("5", settings, log=lines.append)
    assert done["dataset"] == f"kth:{kth_dir}" and done["slug"] == "xwisenet-kth"
    assert done["num_test_videos"] >= 1 and 0.0 <= done["video_accuracy"] <= 1.0
    assert done["paper"] == {
        "table": "V",
        "accuracy": 94.79,
        "params_m": 3.51,
        "macs_g": 7.11,
        "num_classes": 6,
        "input_shape": [16, 224, 224, 3],
    }


def test_cost_estimate(tmp_path):
    from xwisenet_tf.experiments.cost import measure_cost

    settings = tiny_settings(
        tmp_path, tmp_path, model_options={"width": 0.5, "stage_repeats": "1,1,1"}
    )
    (row,) = measure_cost("4", settings, ["xwisenet-se"], steps=1, log=lambda _: None)
    assert row["input_shape"] == [8, 32, 32, 3] and row["batch_size"] == 4
    assert row["params"] > 0 and row["macs"] > 0 and row["seconds_per_step"] > 0
    expected = 5498 / row["clips_per_second"] + 459 * 16 / (3 * row["clips_per_second"])
    assert row["seconds_per_epoch"] == pytest.approx(expected)
