"""The streaming bench, tiny: the float clip model, the float and int8 step models of each k,
timed in one run, with their ratio to the clip's per-frame share and their op counts
(``python -m xwisenet_tf.bench.stream`` measures `xwisenet-stream` at 16x112x112)."""

from xwisenet_tf.bench import stream

TINY = {"width": 0.5, "stage_repeats": (1, 1, 1)}


def test_one_run_times_the_clip_and_each_step_per_frame():
    results = stream.measure(
        "xwisenet-stream", (4, 32, 32), 1, 1, (1, 2), per_round=1, model_options=TINY
    )
    assert list(results["steps"]) == [
        "step k=1 float32",
        "step k=1 int8",
        "step k=2 float32",
        "step k=2 int8",
    ]
    for key, step in results["steps"].items():
        k = step["frames_per_step"]
        assert step["ms_per_frame"] == round(step["median_ms"] / k, 3)
        assert step["vs_clip_per_frame"] > 0 and step["ops"] == sum(step["op_counts"].values())
        assert ("vs_float32" in step) == key.endswith("int8")
    assert "DEQUANTIZE" not in results["steps"]["step k=2 float32"]["op_counts"]
    assert results["folded_batch_norms"] and results["clip_ops"] > 0
    printed = stream.report(results)
    assert "| step k=2 int8 |" in printed and "x the clip's per-frame share" in printed
    assert "| CONCATENATION |" in printed and "| total |" in printed
