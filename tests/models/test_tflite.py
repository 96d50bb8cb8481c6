"""Every model converts to TFLite builtin ops only and matches Keras (DESIGN.md section 2)."""

import itertools

import numpy as np
import pytest

from tests.models.test_models import TINY_CLIP, tiny
from xwisenet_tf.export import convert_to_tflite, run_tflite, tflite_op_names
from xwisenet_tf.layers import BLOCKS, CONV_TYPES
from xwisenet_tf.models import list_models

NOT_BUILTIN = ("CUSTOM", "FLEX", "DELEGATE")


def _randomize_batch_norms(model, rng):
    """Non-trivial BatchNorm statistics so that the comparison sees inference-mode maths."""
    for weight in model.non_trainable_weights:
        if weight.path.endswith("moving_mean"):
            weight.assign(rng.normal(0, 0.1, weight.shape))
        elif weight.path.endswith("moving_variance"):
            weight.assign(rng.uniform(0.5, 1.5, weight.shape))


def assert_converts_and_matches(model, rng, atol=1e-4):
    _randomize_batch_norms(model, rng)
    content = convert_to_tflite(model)
    ops = tflite_op_names(content)
    assert not [op for op in ops if op.startswith(NOT_BUILTIN)], ops
    assert "CONV_3D" not in ops and "MAX_POOL_3D" not in ops, ops
    x = rng.standard_normal((2, *TINY_CLIP)).astype("float32")
    expected = model.predict(x, verbose=0)
    assert np.abs(expected).max() > 0.1  # logits, not a vanishing signal
    np.testing.assert_allclose(run_tflite(content, x), expected, atol=atol, rtol=1e-4)
    return ops


@pytest.mark.parametrize("name", list_models())
def test_every_preset_is_builtin_only(name, rng):
    ops = assert_converts_and_matches(tiny(name, classifier_activation=None), rng)
    if name.startswith("xwisenet"):
        assert "DEPTHWISE_CONV_2D" in ops


@pytest.mark.parametrize("conv_type,block", list(itertools.product(CONV_TYPES, BLOCKS)))
def test_every_xwisenet_block_and_conv_combination(conv_type, block, rng):
    model = tiny("xwisenet", conv_type=conv_type, block=block, classifier_activation=None)
    assert_converts_and_matches(model, rng)


@pytest.mark.parametrize(
    "overrides",
    [
        {"context_pooling": "temporal"},
        {"context_pooling": "channel_temporal"},
        {"block_position": "after_shuffle"},
        {"block_position": "after_pointwise"},
        {"temporal_strides": (2, 2, 1, 1)},
    ],
)
def test_xwisenet_ablation_variants(overrides, rng):
    assert_converts_and_matches(tiny("xwisenet", classifier_activation=None, **overrides), rng)


@pytest.mark.parametrize("conv_type", ["st", "dw", "xwise"])
def test_resnet_conv_variants(conv_type, rng):
    model = tiny("resnet3d-18", conv_type=conv_type, classifier_activation=None)
    assert_converts_and_matches(model, rng)
