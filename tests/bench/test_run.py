"""`python -m xwisenet_tf.bench run` on tiny models writes a valid JSON, Markdown and PNG.

No timing assertions (the machine is shared): fields, ratios and the output checks only.
"""

import json

import pytest

from tests.bench.conftest import TINY_ARGS
from xwisenet_tf.bench.__main__ import main

CASES = "xwisenet,shufflenet3d-1.0x,xwisenet+unfolded,xwisenet+keras-bn,xwisenet+frozen"
REFERENCE = "shufflenet3d-1.0x"  # tiny stand-in for resnet3d-18 (33 M parameters at any size)
# A dense peak well above the tiny models' op sizes (12.8 M MACs), still well under a millisecond.
PEAK_ARGS = ["--peak_size=28", "--peak_channels=128"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    argv = ["run", *TINY_ARGS, f"--models={CASES}", f"--reference={REFERENCE}", *PEAK_ARGS]
    assert main([*argv, "--skip_memory", "--tflite_dynamic", f"--out_dir={out}"]) == 0
    return out


def test_json_has_every_measurement_and_within_run_ratios(run_dir):
    result = json.loads((run_dir / "benchmark.json").read_text())
    assert result["machine"]["cpus"] >= 1 and result["machine"]["tensorflow"]
    assert result["command"].startswith("python -m xwisenet_tf.bench run")
    rows = {r["key"]: r for r in result["cases"]}
    assert list(rows) == CASES.split(",")
    for key in ("xwisenet", REFERENCE):
        row = rows[key]
        assert row["params"] > 0 and row["macs"] > 0
        for kind in ("keras_b1", "keras_b8", "tflite_fp32", "tflite_int8", "tflite_dynamic"):
            assert row[kind]["median_ms"] > 0, (key, kind)
            assert row[kind]["p10_ms"] <= row[kind]["median_ms"] <= row[kind]["p90_ms"]
        assert row["keras_b1"]["samples"] == 2 and row["keras_b1"]["rounds"] == 2
        assert row["train"]["clips_per_s"] > 0
        assert set(row["gmacs_per_s"]) >= {"keras_b1", "keras_b8", "train_approx", "tflite_fp32"}
        assert "int8_vs_fp32" in row["ratios"] and "dynamic_vs_fp32" in row["ratios"]
    subject = rows["xwisenet"]["ratios"]
    for key in ("keras_b1_vs_reference", "train_clips_vs_reference", "tflite_fp32_vs_reference"):
        assert subject[key]["median"] > 0 and subject[key]["rounds"] >= 1
    assert "keras_b1_vs_reference" not in rows[REFERENCE]["ratios"]
    # variants: only their own measurements, compared with the base
    unfolded, keras_bn = rows["xwisenet+unfolded"], rows["xwisenet+keras-bn"]
    assert "keras_b1_vs_base" in unfolded["ratios"] and "train" not in unfolded
    assert "train_time_vs_base" in keras_bn["ratios"] and "keras_b1" not in keras_bn
    assert unfolded["params"] == rows["xwisenet"]["params"]
    # BatchNorm folding keeps the outputs (same weights, same clip)
    assert unfolded["output_check"]["max_abs_diff"] < 1e-5
    assert unfolded["output_check"]["same_top1"]
    frozen = rows["xwisenet+frozen"]
    assert frozen["output_check"]["max_abs_diff"] < 1e-5 and frozen["output_check"]["same_top1"]
    assert "keras_b1_vs_base" in frozen["ratios"] and "train" not in frozen
    names = result["ratios"]
    assert f"xwisenet / {REFERENCE} Keras batch-1 latency" in names
    assert "xwisenet TFLite int8 / fp32 latency" in names
    assert "xwisenet TFLite dynamic-range / fp32 latency" in names
    assert "xwisenet+keras-bn / xwisenet training step time" in names
    targets = {(t["target"], t["case"]): t for t in result["targets"]}
    assert set(targets) >= {
        ("latency", "xwisenet"),
        ("int8", "xwisenet"),
        ("training", "xwisenet"),
        ("int8 half", "xwisenet"),
        ("int8 no slower", "xwisenet"),
    }
    assert {name for name, case in targets if case != "xwisenet"} <= {"int8 no slower"}
    for t in targets.values():
        assert t["value"] > 0 and t["met"] in (True, False)
        assert t["met"] == (
            t["value"] <= t["threshold"] if t["op"] == "<=" else t["value"] >= t["threshold"]
        )


def test_markdown_has_the_tables(run_dir):
    text = (run_dir / "benchmark.md").read_text()
    assert text.startswith("# XwiseNet speed benchmark")
    assert "python -m xwisenet_tf.bench run" in text
    assert f"| case | conv | params (M) | GMACs | Keras b1 ms | b1 vs {REFERENCE} |" in text
    assert "| case | fp32 ms | int8 ms | int8 / fp32 |" in text
    assert "| case | dynamic-range ms | dynamic / fp32 | MB |" in text
    assert "Optimisation effects" in text and "xwisenet+keras-bn" in text
    assert "Targets (the speed issue's item 2; issue 15)" in text
    assert f"| Keras batch-1 latency / {REFERENCE}'s | xwisenet |" in text
    table_rows = [line for line in text.splitlines() if line.startswith("| xwisenet |")]
    assert len(table_rows) == 4  # main, TFLite, dynamic-range and oneDNN on/off tables


def test_tflite_models_record_xnnpack_delegation(run_dir):
    result = json.loads((run_dir / "benchmark.json").read_text())
    rows = {r["key"]: r for r in result["cases"]}
    for key in ("xwisenet", REFERENCE):
        for kind in ("tflite_fp32", "tflite_int8", "tflite_dynamic"):
            report = rows[key][kind]["xnnpack"]
            assert "error" not in report, (key, kind, report)
            assert report["partitions"] >= 1 and report["ops"] >= report["delegated_ops"] > 0
            assert sum(report["fallback"].values()) == report["ops"] - report["delegated_ops"]
    # xwisenet's SS blocks (random transform kernels, as training gives): nothing falls back
    for kind in ("tflite_fp32", "tflite_int8"):
        assert rows["xwisenet"][kind]["context_block_fallback"] == {}, kind
    assert "context_block_fallback" not in rows[REFERENCE]["tflite_int8"]  # no context blocks
    text = (run_dir / "benchmark.md").read_text()
    header = next(line for line in text.splitlines() if line.startswith("| case | fp32 ms |"))
    assert header.endswith("| share of peak fp32 / int8 | MB fp32 / int8 | XNNPACK fp32 / int8 |")
    row = next(
        line
        for line in text.splitlines()
        if line.startswith("| xwisenet |") and "partition" in line
    )
    assert row.count("partition") == 2  # fp32 / int8
    assert "- context blocks: every op delegated to XNNPACK" in text


def test_dense_peak_and_each_case_share_of_it(run_dir):
    result = json.loads((run_dir / "benchmark.json").read_text())
    peak = result["peak"]
    assert peak["macs"] == 28 * 28 * 128 * 128 and "1x1 convolution 128 -> 128" in peak["op"]
    for kind in ("keras_b1", "tflite_fp32", "tflite_int8"):
        assert peak[kind]["gmacs_per_s"] > 0 and peak[kind]["samples"] == 2, kind
    for kind in ("tflite_fp32", "tflite_int8"):
        assert peak[kind]["xnnpack"]["partitions"] == 1 and not peak[kind]["xnnpack"]["fallback"]
        assert peak[kind]["delegate"] == "xnnpack"
    for row in result["cases"]:
        shares = row["peak_share"]
        expected = {"tflite_fp32", "tflite_int8", "keras_b1"} if not row["variant"] else set()
        assert expected <= set(shares), row["key"]
        assert all(0 < v <= 1.5 for v in shares.values()), (row["key"], shares)
    text = (run_dir / "benchmark.md").read_text()
    assert "Dense peak of this machine" in text and "LiteRT int8" in text
    assert "| share of peak b1 / b2 / train |" in text


def test_keras_with_onednn_on_and_off_in_subprocesses(run_dir):
    result = json.loads((run_dir / "benchmark.json").read_text())
    assert result["machine"]["cpu"] and result["machine"]["avx512"] in (True, False)
    onednn = result["onednn"]
    assert onednn["cpu"] == result["machine"]["cpu"]
    assert onednn["cases"] == ["xwisenet", REFERENCE]  # base cases only, no variants
    assert set(onednn["configs"]) == {"onednn-on", "onednn-off"}
    for name, on in (("onednn-on", True), ("onednn-off", False)):
        config = onednn["configs"][name]
        assert config["errors"] == [] and config["runs"] == 1, config
        assert config["onednn"] is on
        assert config["env"] == {"TF_ENABLE_ONEDNN_OPTS": "1" if on else "0"}
        assert config["keras_peak_gmacs_per_s"] > 0
        for key in onednn["cases"]:
            case = config["cases"][key]
            assert case["keras_b1_ms"] > 0 and case["train_clips_per_s"] > 0, (name, key)
        assert config["cases"]["xwisenet"]["keras_b1_vs_reference"] > 0
    text = (run_dir / "benchmark.md").read_text()
    assert "Keras with oneDNN on / off" in text and "AVX-512:" in text
    assert f"| case | b1 ms on / off | b1 vs {REFERENCE} on / off |" in text


def test_plot_is_a_png(run_dir):
    data = (run_dir / "benchmark.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
