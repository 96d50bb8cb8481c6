"""Scaling sweep, profile and peak-memory probe on tiny models (fields only, no timings)."""

import json

from tests.bench.conftest import TINY_ARGS
from xwisenet_tf.bench.__main__ import main
from xwisenet_tf.bench.cases import parse_case
from xwisenet_tf.bench.measure import Settings, build_model
from xwisenet_tf.bench.memory import peak_memory
from xwisenet_tf.bench.profile import attribute, layer_kinds
from xwisenet_tf.profiling import count_macs

TINY = Settings(frames=4, size=32, num_classes=5, train_batch=2, xwisenet_overrides={"width": 0.5})
# One unit per stage (as the CLI tests' TINY_ARGS): the subprocess tests build, trace and run
# every model again after importing TensorFlow, and the stage-2 unit-2 layers checked by name
# below are not needed there.
ONE_UNIT = Settings(
    **{
        **TINY.as_dict(),
        "xwisenet_overrides": {**TINY.xwisenet_overrides, "stage_repeats": (1, 1, 1)},
    }
)


def test_sweep_writes_points_with_mac_ratios(tmp_path):
    argv = ["sweep", *TINY_ARGS, "--sweep_frames=4,8", "--sweep_sizes=", f"--out_dir={tmp_path}"]
    assert main(argv) == 0
    result = json.loads((tmp_path / "sweep.json").read_text())
    points = {(p["frames"], p["size"]): p for p in result["points"]}
    assert set(points) == {(4, 32), (8, 32)}
    base = points[(4, 32)]
    assert base["mac_ratio"] == 1.0 and base["latency_per_mac"] == 1.0
    assert points[(8, 32)]["mac_ratio"] > 1.5  # twice the frames: about twice the MACs
    for p in points.values():
        assert p["latency"]["median_ms"] > 0 and p["train"]["clips_per_s"] > 0
        assert p["train_time_per_mac"] > 0
    assert isinstance(result["findings"], list)
    assert "| xwisenet | 8x32 |" in (tmp_path / "sweep.md").read_text()
    assert (tmp_path / "sweep.png").read_bytes()[:4] == b"\x89PNG"


def test_layer_kinds_account_for_every_mac():
    model = build_model(parse_case("xwisenet"), TINY, inference=True)
    kinds, macs = layer_kinds(model)
    assert sum(macs.values()) == count_macs(model)
    assert kinds["stage2_unit2_xconv_spatial"] == "depthwise spatial conv 1x3x3"
    assert kinds["stage2_unit2_xconv_temporal"] == "depthwise temporal conv 3x1x1"
    assert kinds["stage2_unit2_pw"] == "ReLU in conv stacks"
    assert kinds["stage2_unit2_pw_conv"] == "pointwise conv 1x1x1"
    assert kinds["stage2_unit2_shuffle"] == "channel shuffle"
    assert kinds["stage2_unit2_ss"] == "context block (SSBlock)"
    op = "gradient_tape/xwisenet_1/stage2_unit2_xconv_1/stage2_unit2_xconv_spatial_1/x:Conv2D"
    assert attribute(op, kinds) == (
        "backward",
        "depthwise spatial conv 1x3x3",
        "stage2_unit2_xconv_spatial",
    )
    assert attribute("adam/Mul_3:Mul", kinds)[0] == "optimizer"


def test_profile_attributes_ops_to_layer_kinds(tmp_path):
    argv = ["profile", *TINY_ARGS, "--profile_models=xwisenet", "--profile_steps=1"]
    assert main([*argv, f"--out_dir={tmp_path}"]) == 0
    result = json.loads((tmp_path / "profile.json").read_text())
    (case,) = result["cases"]
    for mode in ("inference", "training"):
        p = case[mode]
        kinds = {r["name"]: r for r in p["by_kind"]}
        assert {"pointwise conv 1x1x1", "depthwise spatial conv 1x3x3", "channel shuffle"} <= set(
            kinds
        )
        assert p["op_ms"] > 0 and p["ops_per_call"] > 10 and p["by_type"]
        assert kinds.get("other", {"share": 0})["share"] < 0.1  # nearly every op is attributed
    assert "backward" in {r["name"] for r in case["training"]["by_pass"]}
    assert "### xwisenet: inference" in (tmp_path / "profile.md").read_text()


def test_peak_memory_subprocess_reports_inference_and_training():
    import numpy as np

    ballast = np.ones(2 * 1024**3 // 8)  # 2 GiB resident in this (parent) process
    memory = peak_memory("xwisenet", ONE_UNIT)
    del ballast
    assert "error" not in memory, memory
    # The child's own peak, not the parent's: `ru_maxrss` would report the 2 GiB ballast.
    assert 50 < memory["baseline_mb"] < 1800, memory  # a process with TensorFlow loaded
    assert 0 <= memory["infer_peak_mb"] <= memory["train_peak_mb"]
    assert memory["train_peak_mb"] > 1, memory  # two training steps allocate something


def test_runtime_configs_run_in_their_own_subprocesses():
    from xwisenet_tf.bench.runtime import markdown, run_runtime

    settings = Settings(**{**ONE_UNIT.as_dict(), "rounds": 1, "calls": 1, "train_rounds": 0})
    result = run_runtime(
        ["onednn-off", "inter-op-1"], settings, reference="shufflenet3d-1.0x", repeats=1
    )
    runs = {name: items[0] for name, items in result["runs"].items()}
    assert "error" not in runs["onednn-off"], runs
    assert runs["onednn-off"]["onednn"] is False
    from xwisenet_tf.bench.machine import describe

    # the other configs inherit this process's oneDNN state: on by default on AVX-512 Intel,
    # off on AMD/AVX2-only CPUs or under TF_ENABLE_ONEDNN_OPTS=0
    assert runs["inter-op-1"]["inter_op_threads"] == 1
    assert runs["inter-op-1"]["onednn"] == describe()["onednn"]
    assert result["summary"]["inter-op-1"]["latency_ratio"] > 0
    assert "| inter-op-1 |" in markdown(result)
