"""Case parsing and the interleaved-timing statistics (no models, no timing assertions)."""

import pytest

from xwisenet_tf.bench import timing
from xwisenet_tf.bench.cases import (
    ALL_KINDS,
    INFER,
    TRAIN,
    default_cases,
    parse_case,
    parse_cases,
)
from xwisenet_tf.models import list_models


def test_parse_case_reads_model_conv_and_variant():
    case = parse_case("resnet3d-18:st")
    assert (case.model, case.conv_type, case.variant) == ("resnet3d-18", "st", None)
    assert case.overrides == {"conv_type": "st"} and case.kinds == ALL_KINDS
    variant = parse_case("xwisenet+keras-bn")
    assert variant.base == "xwisenet" and variant.kinds == (TRAIN,)
    assert not variant.fused_bn and variant.fold_bn and not variant.jit_compile
    unfolded = parse_case("xwisenet+unfolded")
    assert not unfolded.fold_bn and unfolded.does(INFER) and not unfolded.does(TRAIN)
    assert parse_case("xwisenet+xla").jit_compile


@pytest.mark.parametrize("key", ["nonet", "resnet3d-18:conv4d", "xwisenet+turbo"])
def test_parse_case_names_the_bad_part(key):
    with pytest.raises(ValueError, match=key.split(":")[-1].split("+")[-1]):
        parse_case(key)


def test_default_cases_cover_every_preset_and_conv_type():
    keys = default_cases()
    assert set(list_models()) <= set(keys)
    assert {"resnet3d-18:st", "resnet3d-18:dw", "resnet3d-18:xwise"} <= set(keys)
    assert "resnet3d-18:traditional" not in keys  # that is resnet3d-18 itself
    assert len(parse_cases(",".join(keys + keys))) == len(keys)


def test_interleave_rotates_and_counts_calls():
    order = []
    calls = {k: (lambda k=k: order.append(k)) for k in "abc"}
    timed = timing.interleave(calls, rounds=3, per_round=2, warmup=2)
    # warm-up: 2 calls each, then rounds rotated by one: abc, bca, cab (2 calls per case)
    assert order[:6] == ["a", "a", "b", "b", "c", "c"]
    assert order[6:] == list("aabbcc") + list("bbccaa") + list("ccaabb")
    assert all(
        len(t["rounds"]) == 3 and all(len(r) == 2 for r in t["rounds"]) for t in timed.values()
    )


def test_summaries_and_within_round_ratios():
    timed = {
        "x": {"first_call_s": 1.0, "rounds": [[0.010, 0.012], [0.020, 0.022]]},
        "ref": {"first_call_s": 1.0, "rounds": [[0.040, 0.044], [0.080, 0.088]]},
    }
    stats = timing.summarize(timed["x"])
    assert stats["median_ms"] == pytest.approx(16.0) and stats["samples"] == 4
    assert stats["min_ms"] == pytest.approx(10.0) and stats["max_ms"] == pytest.approx(22.0)
    ratios = timing.round_ratios(timed, "x", "ref")
    assert ratios == pytest.approx([0.262, 0.25], abs=1e-3)  # load doubled in round 2: ratio kept
    summary = timing.ratio_summary(ratios)
    assert summary["rounds"] == 2 and summary["min"] <= summary["median"] <= summary["max"]


def test_training_groups_keep_the_reference_and_each_base_with_its_variants():
    from xwisenet_tf.bench.run_training import train_groups

    cases = parse_cases("xwisenet,xwisenet-fast,resnet3d-18,resnet3d-34,xwisenet+keras-bn")
    groups = [[c.key for c in g] for g in train_groups(cases, "resnet3d-18", size=2)]
    assert groups == [
        ["resnet3d-18", "xwisenet", "xwisenet-fast", "xwisenet+keras-bn"],
        ["resnet3d-18", "resnet3d-34"],
    ]
    assert [[c.key for c in g] for g in train_groups(cases[:2], "resnet3d-18", 1)] == [
        ["xwisenet"],
        ["xwisenet-fast"],
    ]
