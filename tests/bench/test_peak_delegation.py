"""Pieces of the benchmark's XNNPACK, dense-peak and oneDNN reporting, without timing."""

import numpy as np

from xwisenet_tf.bench.cases import parse_case, parse_cases
from xwisenet_tf.bench.measure import (
    Settings,
    build_model,
    context_block_fallback,
    context_block_names,
    dense_peak_macs,
    dense_peak_model,
)
from xwisenet_tf.bench.report_sections import short_delegation
from xwisenet_tf.bench.run_onednn import onednn_cases

TINY = Settings(frames=4, size=32, num_classes=5, xwisenet_overrides={"width": 0.5})


def test_short_delegation_names_partitions_and_fallback_ops():
    one = {"ops": 9, "partitions": 1, "delegated_ops": 9, "fallback": {}}
    assert short_delegation(one) == "1 partition"
    split = {"ops": 40, "partitions": 7, "delegated_ops": 20, "fallback": {"STRIDED_SLICE": 18}}
    split["fallback"]["DIV"] = 2
    assert short_delegation(split) == "7 partitions; STRIDED_SLICE x18, DIV x2"
    assert short_delegation({"error": "failed to prepare"}) == "refused"
    assert short_delegation(None) == "–"


def test_context_block_fallback_matches_tensors_by_block_name():
    report = {
        "fallback_tensors": [
            "xwisenet_1/stage2_unit2_ss_1/add",
            "xwisenet_1/stage2_unit2_ss_1/stage2_unit2_ss_transform_expand_1/MatMul",
            "xwisenet_1/stage2_unit2_ss_transform_reduce_1/MatMul",  # not under the block
            "xwisenet_1/stage2_unit12_ss_1/mul",  # another block whose name starts alike
            "xwisenet_1/stage3_unit1_pw_conv_1/Conv2D",
        ]
    }
    got = context_block_fallback(report, ["stage2_unit2_ss", "stage4_unit1_ss"])
    assert got == {"stage2_unit2_ss": report["fallback_tensors"][:2]}


def test_bench_models_have_random_context_transforms_and_named_blocks():
    model = build_model(parse_case("xwisenet"), TINY, inference=True)
    kernels = [w for w in model.weights if w.path.endswith("_transform_expand/kernel")]
    assert kernels
    values = np.concatenate([np.ravel(k.numpy()) for k in kernels])
    assert np.all(values != 0) and 0.03 < values.std() < 0.07
    again = build_model(parse_case("xwisenet"), TINY, inference=True)  # seeded: same weights
    first = {w.path: w.numpy() for w in again.weights if w.path.endswith("_expand/kernel")}
    assert all(np.array_equal(first[k.path], k.numpy()) for k in kernels)
    names = context_block_names(model)
    assert "stage1_ss" in names and all(n.endswith("_ss") for n in names)
    assert context_block_names(build_model(parse_case("resnet3d-18"), TINY, inference=True)) == []


def test_dense_peak_model_is_one_convolution_of_the_stated_macs():
    settings = Settings(peak_size=8, peak_channels=16)
    model = dense_peak_model(settings)
    assert model.input_shape == (None, 8, 8, 16) and model.output_shape == (None, 8, 8, 16)
    assert dense_peak_macs(settings) == 8 * 8 * 16 * 16
    from xwisenet_tf.profiling import count_macs

    assert count_macs(model) == dense_peak_macs(settings)


def test_onednn_cases_are_the_runs_quick_list_cases_and_the_reference():
    cases = parse_cases("xwisenet,xwisenet-simple,resnet3d-18,resnet3d-34,xwisenet+keras-bn")
    assert onednn_cases(cases, "resnet3d-18", "xwisenet") == ["xwisenet", "resnet3d-18"]
    assert onednn_cases(cases, "resnet3d-34", "xwisenet") == [
        "xwisenet",
        "resnet3d-18",
        "resnet3d-34",
    ]
    assert onednn_cases(cases, "resnet3d-18", "xwisenet", "xwisenet-simple, resnet3d-18") == [
        "xwisenet-simple",
        "resnet3d-18",
    ]


def test_quick_runs_the_onednn_pass_for_subject_and_reference_only():
    from xwisenet_tf.bench.__main__ import _onednn_cases, _parser
    from xwisenet_tf.bench.cases import QUICK_CASES

    cases = parse_cases(",".join(QUICK_CASES))
    quick = _parser().parse_args(["run", "--quick"])
    assert _onednn_cases(quick, cases) == "xwisenet,resnet3d-18"
    assert _onednn_cases(_parser().parse_args(["run"]), cases) == ""  # run.onednn_cases decides
    given = _parser().parse_args(["run", "--quick", "--onednn_models=xwisenet-fast"])
    assert _onednn_cases(given, cases) == "xwisenet-fast"


def test_context_block_lines_report_fallback_refusal_and_partial_lists():
    from xwisenet_tf.bench.report_sections import context_block_lines

    clean = {"fallback": {}, "fallback_tensors": []}
    many = {"fallback": {"GATHER": 25}, "fallback_tensors": ["xwisenet_1/head/g"] * 20}
    rows = [{"key": "a", "tflite_fp32": {"xnnpack": clean, "context_block_fallback": {}}}]
    assert context_block_lines(rows) == [
        "- context blocks: every op delegated to XNNPACK (checked in the 1 TFLite models with "
        "context blocks)"
    ]
    rows[0]["tflite_int8"] = {"xnnpack": many, "context_block_fallback": {}}
    assert "in 1 of them only among the first 20 fallback ops" in context_block_lines(rows)[0]
    rows[0]["tflite_int8"]["context_block_fallback"] = {"stage1_ss": ["x/stage1_ss_1/add"]}
    assert context_block_lines(rows) == [
        "- context blocks on reference kernels, a int8: stage1_ss: x/stage1_ss_1/add"
    ]
    rows[0]["tflite_int8"] = {"xnnpack": {"error": "refused"}, "context_block_fallback": None}
    assert context_block_lines(rows) == ["- a int8: XNNPACK refused the graph"]
    assert context_block_lines([{"key": "r", "tflite_fp32": {"xnnpack": clean}}]) == []
