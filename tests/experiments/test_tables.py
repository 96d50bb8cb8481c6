"""Configurations per table, selection, model options and fingerprints."""

from __future__ import annotations

import pytest

from xwisenet_tf.experiments import ExperimentError, experiments
from xwisenet_tf.experiments.runner import (
    RunSettings,
    fingerprint,
    model_overrides,
    select,
    train_config,
)
from xwisenet_tf.experiments.tables import TABLES, default_image_size


@pytest.mark.parametrize(
    "table, count, default",
    [
        ("1", 1, 1),
        ("2", 12, 12),
        ("3a", 3, 3),
        ("3b", 4, 4),
        ("3c", 6, 6),
        ("4", 8, 5),
        ("5", 1, 1),
    ],
)
def test_configurations_per_table(table, count, default):
    exps = experiments(table)
    assert len(exps) == count
    assert len(select(exps, None)) == default
    assert len({e.slug for e in exps}) == count
    assert all(e.table == table for e in exps)


def test_table_contents():
    table2 = experiments("2")
    assert [e.slug for e in table2[:4]] == [
        "resnet3d-18-st",
        "resnet3d-18-dw",
        "resnet3d-18-traditional",
        "resnet3d-18-xwise",
    ]
    assert {e.overrides["conv_type"] for e in table2} == {"traditional", "st", "dw", "xwise"}
    pooling = {e.slug: e.overrides["context_pooling"] for e in experiments("3a")}
    assert pooling == {
        "channel-wise-pooling": "channel",
        "temporal-wise-pooling": "temporal",
        "channel-temporal-wise-pooling": "channel_temporal",
    }
    blocks = [e.overrides.get("block") for e in select(experiments("4"), None)]
    assert blocks == [None, "cbam", "se", "gc", "ss"]
    (kth,) = experiments("5")
    assert kth.input_shape == (16, 224, 224, 3) and kth.paper.paper_accuracy == 94.79
    assert default_image_size("5") == 224 and default_image_size("4") == 112
    with pytest.raises(ValueError, match="unknown table"):
        experiments("6")
    assert TABLES == ("1", "2", "3a", "3b", "3c", "4", "5")


def test_select_patterns():
    exps = experiments("2")
    assert [e.slug for e in select(exps, ["resnet3d-18-*"])] == [e.slug for e in exps[:4]]
    assert len(select(exps, ["*-xwise", "resnet3d-18-xwise"])) == 3
    assert [e.slug for e in select(experiments("4"), ["resnet3d-*"])] == [
        "resnet3d-18-traditional",
        "resnet3d-34-traditional",
        "resnet3d-50-traditional",
    ]
    with pytest.raises(ExperimentError, match="matches no configuration"):
        select(exps, ["resnet3d-101-*"])


def test_model_options_reach_only_presets_that_have_them():
    xwise, resnet = experiments("4")[3], experiments("2")[0]
    options = {"width": 0.5, "stage_repeats": "1,2,1", "block": "se"}
    assert model_overrides(xwise, options) == {
        "width": 0.5,
        "stage_repeats": (1, 2, 1),
        "block": None,  # the row's own option wins
    }
    assert model_overrides(resnet, options) == {"conv_type": "st"}


def test_fingerprint_identifies_the_trained_configuration(tmp_path):
    settings = RunSettings(dataset="synthetic", output_dir=str(tmp_path), epochs=3)
    table1 = experiments("1")[0]
    table4_ss = [e for e in experiments("4") if e.slug == "xwisenet-ss"][0]
    table3b_before = [e for e in experiments("3b") if e.slug == "before-channel-shuffle"][0]
    table4_none = [e for e in experiments("4") if e.slug == "xwisenet-none"][0]
    table3b_baseline = experiments("3b")[0]

    def key(exp, s=settings):
        return fingerprint(train_config(exp, s, str(tmp_path / exp.slug)))

    assert key(table1) == key(table4_ss) == key(table3b_before)
    assert key(table4_none) == key(table3b_baseline)  # xwisenet + no block = xwisenet-simple
    assert key(table4_none) != key(table4_ss)
    longer = RunSettings(dataset="synthetic", output_dir="elsewhere", epochs=30, data_dir="x")
    assert key(table1, longer) == key(table1)
    larger = RunSettings(dataset="synthetic", output_dir=str(tmp_path), image_size=64)
    assert key(table1, larger) != key(table1)


def test_dataset_defaults():
    settings = RunSettings()
    assert settings.dataset_for("5") == "kth"
    with pytest.raises(ExperimentError, match="give --dataset"):
        settings.dataset_for("2")
    assert RunSettings(dataset="kth:rel/kth").dataset_for("5").startswith("kth:/")
