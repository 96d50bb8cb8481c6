"""`xnnpack_delegation`: which ops LiteRT's XNNPACK delegate runs and which fall back."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

from xwisenet_tf.export.delegation import describe_delegation, xnnpack_delegation
from xwisenet_tf.export.tflite import convert_to_tflite


def _exp_model():
    inputs = keras.Input((8, 16), batch_size=1)
    x = keras.layers.Dense(16, name="before")(inputs)
    x = ops.exp(x)
    return keras.Model(inputs, keras.layers.Dense(4, name="after")(x))


def test_float_graph_is_one_partition():
    report = xnnpack_delegation(convert_to_tflite(_exp_model()))
    assert report["partitions"] == 1 and report["fallback"] == {}
    assert report["delegated_ops"] == report["ops"]
    assert describe_delegation(report) == f"1 partition, all {report['ops']} ops"


def test_int8_exp_falls_back_and_splits_the_graph():
    """XNNPACK has no int8 EXP: the op runs on the reference kernel between two partitions."""
    rng = np.random.default_rng(0)
    calibration = rng.normal(size=(8, 1, 8, 16)).astype("float32")
    content = convert_to_tflite(_exp_model(), quantization="int8", calibration_data=calibration)
    report = xnnpack_delegation(content)
    assert report["fallback"] == {"EXP": 1}, report
    assert report["partitions"] == 2
    assert report["delegated_ops"] == report["ops"] - 1
    assert any("Exp" in name for name in report["fallback_tensors"])
    assert describe_delegation(report).endswith("on reference kernels: EXP x1")


def test_strided_time_slice_falls_back_in_float():
    """A stride-2 slice (a temporal stride taken by slicing) has no XNNPACK kernel."""
    inputs = keras.Input((8, 4, 4, 3), batch_size=1)
    outputs = keras.layers.Dense(2)(inputs[:, ::2])
    report = xnnpack_delegation(convert_to_tflite(keras.Model(inputs, outputs)))
    assert report["fallback"] == {"STRIDED_SLICE": 1}, report


@pytest.mark.parametrize(
    "preset", ["xwisenet", "xwisenet-fast", "shufflenet3d-1.0x", "resnet3d-18"]
)
def test_presets_run_in_one_xnnpack_partition_float_and_int8(preset):
    """No op of any preset falls back to reference kernels, in float or int8 (issue 15: strided
    time slices, the symmetric pool's GATHERs, the context blocks' EXP/BATCH_MATMUL/DIV/RSQRT
    and zero-scale ADDs of padding-only taps had split or broken these graphs)."""
    from xwisenet_tf.models import get_model
    from xwisenet_tf.optimize import fold_batch_norms

    shape = (8, 32, 32, 3)
    model = fold_batch_norms(get_model(preset, 5, input_shape=shape))
    rng = np.random.default_rng(0)
    for layer in model._flatten_layers():
        if layer.name.endswith("_transform_expand"):  # zero-initialised: trained ones are not
            layer.kernel.assign(rng.normal(0, 0.05, layer.kernel.shape).astype("float32"))
    calibration = rng.uniform(-1, 1, (4, *shape)).astype("float32")
    for quantization in ("none", "int8"):
        content = convert_to_tflite(model, quantization=quantization, calibration_data=calibration)
        report = xnnpack_delegation(content)
        assert (report["partitions"], report["fallback"]) == (1, {}), (quantization, report)
