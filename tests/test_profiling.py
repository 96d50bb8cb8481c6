"""Complexity reproduces the paper (Tables II-V), with MACs counted as multiply-accumulates."""

import json

import keras
import pytest

from xwisenet_tf import paper_tables, profiling
from xwisenet_tf.layers import FoldedConv3D, FoldedMaxPool3D
from xwisenet_tf.models import get_model


@pytest.fixture(scope="module")
def rows():
    return {(r["table"], r["label"]): r for r in paper_tables.complexity_rows()}


def _rel(ours, paper):
    return abs(ours - paper) / paper


@pytest.mark.parametrize(
    "label,params_m,macs_g",
    [("3D-ResNet-18", 33.21, 8.32), ("3D-ResNet-34", 63.52, 12.71), ("3D-ResNet-50", 46.22, 10.10)],
)
def test_traditional_resnets_match_hara(rows, label, params_m, macs_g):
    row = rows[("IV", label)]
    assert _rel(row["params"], params_m * 1e6) < 0.01
    assert _rel(row["macs"], macs_g * 1e9) < 0.02


def test_resnet_heads_match_the_paper_figures(rows):
    """18/34 match with Kinetics' 400-class head; 50 only with Part-Kinetics' 10-class head."""
    assert rows[("IV", "3D-ResNet-18")]["num_classes"] == 400
    assert rows[("IV", "3D-ResNet-50")]["num_classes"] == 10
    resnet50_400 = profiling.count_params(get_model("resnet3d-50", 400))
    assert _rel(resnet50_400, 46.22e6) > 0.015  # the 400-class head cannot give 46.22 M


@pytest.mark.parametrize("conv_type", ["st", "dw", "xwise", "traditional"])
@pytest.mark.parametrize("depth", [18, 34, 50])
def test_table2_params_within_10_percent(rows, conv_type, depth):
    row = rows[("II", f"resnet3d-{depth} {conv_type}")]
    assert _rel(row["params"], row["paper_params"]) < 0.10


def test_xwisenet_params(rows):
    simple = rows[("IV", "XwiseNet + no block")]
    full = rows[("IV", "XwiseNet + ss")]
    assert _rel(simple["params"], 2.90e6) < 0.03
    assert _rel(full["params"], 3.51e6) < 0.03
    assert _rel(rows[("III(b)", "after 3D PConv")]["params"], 3.05e6) < 0.03
    for block, paper in (("se", 3.20), ("cbam", 3.20), ("gc", 3.50)):
        assert _rel(rows[("IV", f"XwiseNet + {block}")]["params"], paper * 1e6) < 0.03
    # The default (no temporal down-sampling) is the closest to the paper's 1.22 G MACs.
    assert _rel(simple["macs"], 1.22e9) < 0.12


def test_count_macs_of_a_small_model_by_hand():
    inputs = keras.Input((4, 8, 8, 3))
    x = FoldedConv3D(5, 3, strides=(1, 2, 2), name="conv")(inputs)  # 4x4x4x5 outputs
    x = FoldedMaxPool3D(3, 2)(x)  # 2x2x2x5, no MACs
    x = keras.layers.GlobalAveragePooling3D()(x)
    outputs = keras.layers.Dense(7)(x)
    model = keras.Model(inputs, outputs)
    assert profiling.count_macs(model) == 4 * 4 * 4 * 5 * 27 * 3 + 5 * 7
    assert profiling.count_params(model) == 27 * 3 * 5 + 5 + 5 * 7 + 7


def test_count_params_excludes_batch_norm_statistics():
    inputs = keras.Input((2, 4, 4, 3))
    outputs = keras.layers.BatchNormalization()(inputs)
    model = keras.Model(inputs, outputs)
    assert profiling.count_params(model) == 6
    assert profiling.count_params(model, trainable_only=False) == 12


def test_cli_prints_json_rows_and_readable_table(monkeypatch, capsys):
    few = [r for r in paper_tables.paper_rows() if r.table == "IV" and "XwiseNet" in r.label][:2]
    monkeypatch.setattr(paper_tables, "paper_rows", lambda: few)
    assert profiling.main(["--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 2
    assert {"table", "model", "conv_type", "block", "num_classes", "params", "macs"} <= set(rows[0])
    assert rows[0]["block"] is None and rows[1]["block"] == "cbam"
    profiling.main([])
    text = capsys.readouterr().out
    assert "XwiseNet + no block" in text and "+0.3%" in text


def test_rows_of_one_model_share_one_build(monkeypatch):
    """Table II's traditional 3D-ResNets are Table IV's: each distinct model is built once."""
    import xwisenet_tf.models

    builds = []
    get_model_ = xwisenet_tf.models.get_model

    def counting_get_model(*args, **kwargs):
        builds.append(args[0])
        return get_model_(*args, **kwargs)

    monkeypatch.setattr(xwisenet_tf.models, "get_model", counting_get_model)
    rows = [
        paper_tables.PaperRow("A", "ss", "xwisenet", 6, None, None, overrides={"block": "ss"}),
        paper_tables.PaperRow("B", "default", "xwisenet", 6, None, None),
        paper_tables.PaperRow("C", "other head", "xwisenet", 7, None, None),
    ]
    counted = paper_tables.complexity_rows(rows)
    assert builds == ["xwisenet", "xwisenet"]
    assert [r["label"] for r in counted] == ["ss", "default", "other head"]
    assert (counted[0]["params"], counted[0]["macs"]) == (counted[1]["params"], counted[1]["macs"])
    assert counted[2]["params"] == counted[0]["params"] + 1024 + 1  # one more class: a row + bias
    assert counted[2]["macs"] == counted[0]["macs"] + 1024
