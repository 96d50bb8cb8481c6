"""One declaration per setting (issue 14): the flags of ``train.py`` and ``export.py`` are the
fields of `TrainConfig` and `ExportOptions` (name, default, help, choices), ``evaluate.py``'s
are the parameters of `run_evaluation`; a model option is ``--model_option KEY=VALUE`` (today's
model flags its aliases); ``--help`` exits 0."""

from __future__ import annotations

import dataclasses
import inspect
import subprocess
import xml.etree.ElementTree as ET

import pytest
from absl import flags

from tests.training.conftest import PYTHON, REPO, cli_env
from xwisenet_tf import settings
from xwisenet_tf.export.options import QUANTIZATIONS, ExportOptions
from xwisenet_tf.training import cli
from xwisenet_tf.training.config import TrainConfig
from xwisenet_tf.training.errors import TrainingError


def _script_flags(script: str) -> dict[str, dict]:
    """The flags ``script`` defines itself, from ``--helpxml`` (which must exit 0)."""
    result = subprocess.run(
        [PYTHON, str(REPO / script), "--helpxml"],
        cwd=REPO, env=cli_env(), capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    flags_of = {}
    for flag in ET.fromstring(result.stdout).iter("flag"):
        if flag.findtext("file") in (script, str(REPO / script)):
            flags_of[flag.findtext("name")] = {
                "default": flag.findtext("default"),
                "help": flag.findtext("meaning"),
                "type": flag.findtext("type"),
                "enum": [e.text for e in flag.iter("enum_value")],
            }
    return flags_of


def _absl_default(value) -> str:
    """A default as ``--helpxml`` writes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "[]"
    return str(value)


@pytest.fixture(scope="module")
def train_flags():
    return _script_flags("train.py")


def _check_fields_are_flags(cls, script_flags, extra=()):
    fields = settings.flag_fields(cls)
    assert set(script_flags) == {settings.flag_name(f) for f in fields} | set(extra)
    for field in fields:
        flag = script_flags[settings.flag_name(field)]
        allowed = settings.choices(field)
        enum = allowed is not None and field.metadata[settings.ENUM] and isinstance(allowed[0], str)
        prefix = f"<{'|'.join(allowed)}>: " if enum else ""
        suffix = ";\n    repeat this option to specify a list of values"
        suffix = suffix if settings.kind(field) == "dict" else ""
        assert flag["help"] == prefix + settings.help_text(field) + suffix, field.name
        assert flag["default"] == _absl_default(settings.field_default(field)), field.name
        assert flag["enum"] == (list(allowed) if enum else []), field.name


def test_train_flags_are_the_train_config_fields(train_flags):
    _check_fields_are_flags(TrainConfig, train_flags, extra=cli.MODEL_FLAGS)
    assert train_flags["dataset_option"]["type"] == "multi string"
    assert train_flags["model_option"]["type"] == "multi string"
    assert train_flags["recipe"]["enum"] == ["auto", "default", "paper", "real"]
    assert train_flags["strategy"]["enum"] == []  # checked by TrainConfig, with its message
    assert train_flags["stage_repeats"]["type"] == "comma separated list of strings"
    assert train_flags["width"]["help"] == "Width multiplier: 0.5 | 1.0 | 1.5 | 2.0 (XwiseNet)."


def test_export_flags_are_the_export_options_fields():
    export_flags = _script_flags("export.py")
    _check_fields_are_flags(ExportOptions, export_flags)
    assert export_flags["quantize"]["default"] == "none"
    assert export_flags["num_calibration_clips"]["default"] == "100"


def test_evaluate_flags_are_the_run_evaluation_parameters():
    from xwisenet_tf.training.evaluation import run_evaluation

    evaluate_flags = _script_flags("evaluate.py")
    parameters = inspect.signature(run_evaluation).parameters
    names = {"dataset_option" if n == "dataset_options" else n for n in parameters}
    assert set(evaluate_flags) == names
    for name, parameter in parameters.items():
        if name == "dataset_options":  # KEY=VALUE items, none given: None
            assert evaluate_flags["dataset_option"]["default"] == "[]"
            continue
        assert evaluate_flags[name]["default"] == _absl_default(parameter.default), name


def test_quantization_is_declared_and_checked_once():
    from xwisenet_tf.export import exporter, tflite

    assert tflite.QUANTIZATIONS is QUANTIZATIONS and exporter.QUANTIZATIONS is QUANTIZATIONS
    assert exporter.ExportOptions is ExportOptions
    assert QUANTIZATIONS == ("none", "fp16", "dynamic", "int8")
    assert "QUANTIZATIONS" not in (REPO / "export.py").read_text()
    # ... and checked in one place, with or without the flag's name.
    from xwisenet_tf.export import ExportError
    from xwisenet_tf.export.options import check_quantization

    assert tflite.check_quantization is check_quantization
    assert exporter.check_quantization is check_quantization
    assert check_quantization("fp16") == "fp16"
    expected = "; expected one of none, fp16, dynamic, int8"
    with pytest.raises(ExportError, match=f"^unknown quantization 'int4'{expected}$"):
        check_quantization("int4")
    with pytest.raises(ExportError, match=f"^--quantize 'int4': unknown quantization{expected}$"):
        check_quantization("int4", "quantize")


def test_a_new_train_config_field_is_a_flag_and_a_runner_option():
    """Item 4 of the issue: a setting is one dataclass field."""
    import argparse

    from xwisenet_tf.experiments.run_settings import add_train_options

    extended = dataclasses.make_dataclass(
        "Extended",
        [("mixup", float | None, settings.setting(None, "Mixup strength (recipe's).")),
         ("sampler", str, settings.setting("uniform", "Clip sampler.",
                                            choices=("uniform", "dense")))],
        bases=(TrainConfig,),
    )  # fmt: skip
    values = flags.FlagValues()
    settings.define_absl_flags(extended, flag_values=values)
    values(["train.py", "--mixup=0.2", "--sampler=dense", "--dataset_option=split=schuldt"])
    read = settings.flag_values(extended, values, cli.parse_options)
    assert (read["mixup"], read["sampler"], read["dataset_options"]) == (
        0.2,
        "dense",
        {"split": "schuldt"},
    )
    with pytest.raises(flags.IllegalFlagValueError, match="dense"):
        values(["train.py", "--sampler=sparse"])
    parser = argparse.ArgumentParser()
    add_train_options(parser, run=True, config_cls=extended)
    args = parser.parse_args(["--mixup", "0.3", "--sampler", "dense"])
    assert (args.mixup, args.sampler) == (0.3, "dense")
    assert "Mixup strength (recipe's)." in parser.format_help()


def _train_flags(*argv: str):
    values = flags.FlagValues()
    cli.define_train_flags(values)
    values(["train.py", *argv])
    return values


def test_model_option_and_its_aliases():
    from xwisenet_tf.models.presets import resolve_spec

    values = _train_flags(
        "--model_option=width=0.5",
        "--model_option",
        "stage_repeats=1,2,1",
        "--model_option=inner_activation=false",
        "--block=none",
        "--block_stages=none",
        "--temporal_strides=1,2,2,2",
        "--dataset_option=videos_per_class=4",
    )
    config = cli.train_config(values)
    assert config.model_overrides == {
        "width": 0.5,
        "stage_repeats": (1, 2, 1),
        "inner_activation": False,
        "block": None,
        "block_stages": (),
        "temporal_strides": (1, 2, 2, 2),
    }
    assert config.dataset_options == {"videos_per_class": 4}
    spec = resolve_spec(config.resolved().model, **config.model_overrides)
    assert (spec.width, spec.stage_repeats, spec.block, spec.block_stages) == (
        0.5,
        (1, 2, 1),
        None,
        (),
    )
    # The documented aliases give the same options as --model_option.
    aliases = cli.train_config(_train_flags("--width=0.5", "--stage_repeats=1,2,1", "--block=se"))
    options = cli.train_config(
        _train_flags("--model_option=width=0.5", "--model_option=stage_repeats=1,2,1",
                     "--model_option=block=se")
    )  # fmt: skip
    assert (
        aliases.model_overrides
        == options.model_overrides
        == {
            "width": 0.5,
            "stage_repeats": (1, 2, 1),
            "block": "se",
        }
    )
    # A 3D-ResNet option as a number, checked against the preset's spec.
    resnet = cli.train_config(_train_flags("--model=resnet3d-18", "--model_option=dropout=0.3"))
    assert resnet.model_overrides == {"dropout": 0.3}
    wrong = cli.train_config(_train_flags("--model=resnet3d-18", "--model_option=width=0.5"))
    with pytest.raises(ValueError, match="Model 'resnet3d-18' has no option `width`"):
        resolve_spec(wrong.model, **wrong.model_overrides)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model_option=width"], "--model_option expects KEY=VALUE; received 'width'"),
        (["--model_option=width=0.5", "--model_option=width=1.0"], "width is given twice"),
        (["--width=1.0", "--model_option=width=0.5"], "--width and --model_option width both"),
        (["--model_option=stage_repeats=1,two,1"],
         "--model_option stage_repeats must be comma-separated integers; received 1,two,1"),
        (["--stage_repeats=1,two,1"],
         "--stage_repeats must be comma-separated integers; received 1,two,1"),
    ],
)  # fmt: skip
def test_model_option_errors(argv, message):
    with pytest.raises(TrainingError, match=message.replace("(", r"\(")):
        cli.train_config(_train_flags(*argv))


def test_model_flags_are_options_of_the_presets():
    from xwisenet_tf.models.presets import ResNet3DSpec, XwiseNetSpec

    options = {}
    for spec in (XwiseNetSpec, ResNet3DSpec):
        for field in dataclasses.fields(spec):
            options.setdefault(field.name, field.default)
    for name, (kind, _) in cli.MODEL_FLAGS.items():
        assert name in options, name
        expected = {tuple: "list", float: "float", bool: "bool"}.get(type(options[name]), "str")
        assert kind == expected, name


@pytest.mark.parametrize(
    ("script", "flag"),
    [("train.py", "--help"), ("evaluate.py", "--helpfull"), ("export.py", "--help")],
)
def test_help_exits_0(script, flag):
    result = subprocess.run(
        [PYTHON, str(REPO / script), flag],
        cwd=REPO, env=cli_env(), capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "--batch_size" in result.stdout or "--quantize" in result.stdout
