"""The runner's settings are a `TrainConfig` template: its options are the `TrainConfig` fields
(issue 14), and a configuration's `TrainConfig` is the template with the row's preset."""

from __future__ import annotations

import dataclasses

import pytest

from xwisenet_tf import settings
from xwisenet_tf.experiments.__main__ import _parser
from xwisenet_tf.experiments.configurations import train_config
from xwisenet_tf.experiments.run_settings import (
    PER_CONFIGURATION,
    RUN_ONLY,
    RUNNER_DEFAULTS,
    RunSettings,
    runner_template,
    settings_from_args,
    shared_fields,
)
from xwisenet_tf.experiments.tables import experiments
from xwisenet_tf.training.config import TrainConfig


def _options(command: str) -> set[str]:
    parser = _parser()
    sub = parser._subparsers._group_actions[0].choices[command]
    return {s for action in sub._actions for s in action.option_strings}


def test_every_train_config_field_is_a_runner_option():
    fields = {settings.flag_name(f) for f in settings.flag_fields(TrainConfig)}
    own = {"model", "model_option", "model_dir", "evaluate_test", "init_checkpoint"}
    shared = {f"--{name}" for name in fields - own}
    run_only = {f"--{name}" for name in RUN_ONLY}
    assert shared <= _options("run")
    assert shared - run_only <= _options("list")
    assert shared - run_only <= _options("cost")
    assert not run_only & (_options("list") | _options("cost"))
    # --model_option is the runner's own (every configuration whose preset has the option).
    assert {"--model_option", "--output_dir", "--configs", "--table"} <= _options("list")
    assert {"--cosine_split", "--cosine_max_clips", "--cosine_reduce"} <= _options("run")
    assert set(PER_CONFIGURATION) == {f.name for f in dataclasses.fields(TrainConfig)} - {
        f.name for f in shared_fields()
    }


def test_options_reach_the_configurations_train_config(tmp_path):
    args = _parser().parse_args(
        ["run", "--table", "4", "--output_dir", str(tmp_path), "--dataset", "synthetic",
         "--label_smoothing", "0.2", "--train_crop", "corner", "--lr_factor", "0.5",
         "--verbose", "0", "--mixed_precision", "--dataset_option", "videos_per_class=4",
         "--model_option", "width=0.5", "--model_option", "stage_repeats=1,2,1",
         "--cosine_reduce", "mean"]
    )  # fmt: skip
    run = settings_from_args(args)
    assert run.train.label_smoothing == 0.2 and run.label_smoothing == 0.2
    assert (run.output_dir, run.cosine_reduce) == (str(tmp_path), "mean")
    assert run.model_options == {"width": 0.5, "stage_repeats": "1,2,1"}
    exp = [e for e in experiments("4") if e.slug == "xwisenet-se"][0]
    config = train_config(exp, run, str(tmp_path / "run"))
    expected = dataclasses.replace(
        TrainConfig(),
        dataset="synthetic",
        model_dir=str(tmp_path / "run"),
        model="xwisenet",
        model_overrides={"block": "se", "width": 0.5, "stage_repeats": (1, 2, 1)},
        image_size=112,
        epochs=50,
        recipe="paper",
        label_smoothing=0.2,
        train_crop="corner",
        lr_factor=0.5,
        verbose=0,
        mixed_precision=True,
        dataset_options={"videos_per_class": 4},
    )
    assert config == expected


def test_defaults_are_the_runners():
    args = _parser().parse_args(["list", "--table", "5", "--output_dir", "out"])
    run = settings_from_args(args)
    assert run.train == runner_template()
    assert (run.dataset, run.epochs, run.recipe, run.image_size) == (None, 50, "paper", None)
    assert {k: v for k, (v, _) in RUNNER_DEFAULTS.items()} == {
        "dataset": None,
        "image_size": None,
        "epochs": 50,
        "recipe": "paper",
    }
    assert (run.verbose, run.strategy, run.batch_size) == (None, "auto", 16)
    help_text = _parser()._subparsers._group_actions[0].choices["run"].format_help()
    assert "epochs per configuration" in help_text
    assert "Label smoothing (recipe's)." in help_text


def test_run_settings_keywords_set_the_template():
    run = RunSettings(dataset="synthetic", epochs=3, output_dir="out", cosine_max_clips=6)
    assert run.train == dataclasses.replace(runner_template(), dataset="synthetic", epochs=3)
    assert (run.output_dir, run.cosine_max_clips, run.model_options) == ("out", 6, {})
    copy = dataclasses.replace(run, output_dir="elsewhere")
    assert copy.train == run.train and copy.output_dir == "elsewhere"
    given = RunSettings(train=TrainConfig(dataset="kth", recipe="default"), seed=3)
    assert (given.recipe, given.seed, given.epochs) == ("default", 3, None)
    with pytest.raises(TypeError, match=r"\['model', 'nonsense'\]"):
        RunSettings(model="xwisenet", nonsense=1)
    with pytest.raises(AttributeError, match="nonsense"):
        run.nonsense  # noqa: B018
