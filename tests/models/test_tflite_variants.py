"""XwiseNet's conv type x context block combinations and ablation variants convert to TFLite
builtin ops only and match Keras (the presets: test_tflite.py)."""

import pytest

from tests.models.test_models import tiny
from tests.models.test_tflite import COMBINATIONS, assert_converts_and_matches


@pytest.mark.parametrize("conv_type,block", COMBINATIONS)
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
