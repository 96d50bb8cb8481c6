"""The report on hand-written results (no training): Markdown rows, the paper's orderings, a
Table IV row taken from Table II's identical configuration, Table I, the figures."""

from __future__ import annotations

import json

import pytest

from xwisenet_tf.experiments import ExperimentError, experiments, write_report
from xwisenet_tf.experiments.configurations import DONE_FILE, fingerprint, model_overrides
from xwisenet_tf.training import TrainConfig

COSINE = {
    "num_clips": 6,
    "reduce": "flatten",
    "blocks": {
        "stage1_ss": {"input": 0.3, "context": 0.25, "output": 0.2},
        "stage3_unit2_ss": {"input": 0.2, "context": 0.3, "output": 0.4},
    },
    "mean": {"input": 0.25, "context": 0.275, "output": 0.3},
}


def _write(out, exp, accuracy, macs=1e9, with_run=False, **extra):
    """A ``done.json`` of ``exp``; ``with_run`` adds the run's config.json and history.csv."""
    directory = out / f"table{exp.table}" / exp.slug
    (directory / "train").mkdir(parents=True)
    done = {
        "table": exp.table,
        "slug": exp.slug,
        "label": exp.label,
        "dir": f"table{exp.table}/{exp.slug}",
        "dataset": "synthetic",
        "input_shape": [8, 32, 32, 3],
        "epochs": 3,
        "batch_size": 4,
        "num_test_videos": 12,
        "video_accuracy": accuracy,
        "clip_accuracy": 0.5,
        "params": 2e6,
        "macs": macs,
        "reused_from": None,
        **extra,
    }
    if with_run:
        config = TrainConfig(
            dataset="synthetic",
            model=exp.model,
            model_overrides=model_overrides(exp, {}),
            epochs=3,
        ).resolved()
        run = {"config": config.to_dict(), "resolved": {}}
        (directory / "train" / "config.json").write_text(json.dumps(run))
        done["fingerprint"] = fingerprint(config)
        history = "epoch,loss,val_loss\n1,2.0,2.1\n2,1.5,1.9\n3,1.2,1.8\n"
        (directory / "train" / "history.csv").write_text(history)
        done["history"] = f"{done['dir']}/train/history.csv"
    (directory / DONE_FILE).write_text(json.dumps(done))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    _write(out, experiments("1")[0], 0.5, checkpoint="table1/xwisenet-ss/train/best.keras",
           cosine=COSINE)  # fmt: skip
    table2 = {e.slug: e for e in experiments("2")}
    _write(out, table2["resnet3d-18-st"], 0.50, macs=2e9, with_run=True)
    _write(out, table2["resnet3d-18-xwise"], 0.71, macs=6e9, with_run=True)
    _write(out, table2["resnet3d-18-traditional"], 0.64, with_run=True)
    table4 = {e.slug: e for e in experiments("4")}
    for slug, accuracy in (("xwisenet-se", 0.66), ("xwisenet-gc", 0.73), ("xwisenet-ss", 0.8)):
        _write(out, table4[slug], accuracy, with_run=True)
    path = write_report(str(out), paper_complexity=False, log=lambda _: None)
    return out, (out / "report.md").read_text(), path


def test_accuracy_rows_and_the_runs_settings(report):
    out, text, path = report
    assert path == str(out / "report.md")
    assert "ours: dataset `synthetic`, 8x32x32 clips, 3 epochs, batch 4, 12 test videos" in text
    assert "| resnet3d-18 st | 50.00 | 50.00 | 78.00 | 2.00 | 2.000 |  |  | 14.13 | 5.55 | 3 |" in (
        text
    )
    assert "| resnet3d-50 st | not run |  | 79.08 |" in text
    assert "## Table III" not in text  # no results, no section


def test_the_papers_orderings_are_checked_either_way(report):
    _, text, _ = report
    assert (
        "- resnet3d-18: ranking by video accuracy, ours: X-Conv 71.00 > Traditional-Conv 64.00 > "
        "ST-Conv 50.00"
    ) in text
    assert (
        "- resnet3d-18: X-Conv minus ST-Conv video accuracy: ours +21.00 points, paper -0.88; "
        "X-Conv MACs / ST-Conv MACs: ours 3.00, paper 0.70"
    ) in text
    assert "- paper's SS > GC > SE: holds here (SS 80.00, GC 73.00, SE 66.00)" in text


def test_table4_takes_the_identical_table2_configuration(report):
    _, text, _ = report
    assert "| 3D-ResNet-18 (= table2/resnet3d-18-traditional) | 64.00 |" in text
    assert "| XwiseNet + cbam | not run |" in text


def test_table1_and_the_figures(report):
    out, text, _ = report
    assert "| stage3_unit2_ss | 0.2000 | 0.3000 | 0.4000 |" in text
    assert "| **paper** | 0.2826 | 0.2499 | 0.2102 |" in text
    assert "the paper's reading): 1 of 2 blocks; mean over blocks: no." in text
    for name in ("fig5_table2_tradeoff", "fig6_table2_loss", "fig7_table4_tradeoff"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 1000
        assert f"![{name}.png](figures/{name}.png)" in text


def test_no_results_is_an_error(tmp_path):
    with pytest.raises(ExperimentError, match="no finished configuration"):
        write_report(str(tmp_path), log=lambda _: None)
