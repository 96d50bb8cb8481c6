"""Every model converts to TFLite builtin ops only and matches Keras (DESIGN.md section 2).

The presets and ResNet conv types are here; XwiseNet's conv type x block combinations and
ablation variants in test_tflite_variants.py: as one module (one xdist worker under --dist
loadfile) they were more than half of the oneDNN-off pass's work, its long pole."""

import itertools

import numpy as np
import pytest

from tests.models.test_models import TINY_CLIP, TINY_XWISENET, tiny
from xwisenet_tf.export import convert_to_tflite, run_tflite, tflite_op_names
from xwisenet_tf.layers import BLOCKS, CONV_TYPES
from xwisenet_tf.models import list_models, resolve_spec

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


def _tiny_spec(name, **overrides):
    """The spec of `tiny(name, **overrides)` (the model up to its name)."""
    if name.startswith(("xwisenet", "shufflenet")):
        overrides = {**TINY_XWISENET, **overrides}
    return resolve_spec(name, **overrides)


# Each distinct tiny model is converted once: at tiny width and depth xwisenet-small is
# xwisenet, and the combinations xwise+ss and xwise+None are the presets xwisenet and
# xwisenet-simple (same spec, so the same weights, input and check; only the model name differs).
PRESETS = []
for _name in list_models():
    if _tiny_spec(_name) not in [_tiny_spec(p) for p in PRESETS]:
        PRESETS.append(_name)
COMBINATIONS = [
    (conv_type, block)
    for conv_type, block in itertools.product(CONV_TYPES, BLOCKS)
    if _tiny_spec("xwisenet", conv_type=conv_type, block=block)
    not in [_tiny_spec(p) for p in PRESETS]
]


def test_duplicates_left_out_are_exact():
    assert set(list_models()) - set(PRESETS) == {"xwisenet-small"}
    assert _tiny_spec("xwisenet-small") == _tiny_spec("xwisenet")
    assert set(itertools.product(CONV_TYPES, BLOCKS)) - set(COMBINATIONS) == {
        ("xwise", "ss"),
        ("xwise", None),
    }
    assert _tiny_spec("xwisenet", conv_type="xwise", block="ss") == _tiny_spec("xwisenet")
    assert _tiny_spec("xwisenet", conv_type="xwise", block=None) == _tiny_spec("xwisenet-simple")


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_is_builtin_only(name, rng):
    ops = assert_converts_and_matches(tiny(name, classifier_activation=None), rng)
    if name.startswith("xwisenet"):
        assert "DEPTHWISE_CONV_2D" in ops


@pytest.mark.parametrize("conv_type", ["st", "dw", "xwise"])
def test_resnet_conv_variants(conv_type, rng):
    model = tiny("resnet3d-18", conv_type=conv_type, classifier_activation=None)
    assert_converts_and_matches(model, rng)
