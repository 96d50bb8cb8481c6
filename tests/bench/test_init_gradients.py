import numpy as np
import pytest

from xwisenet_tf.bench import init_gradients


def test_parse_variant():
    assert init_gradients.parse_variant("lin:inner_activation=false,width=0.5") == (
        "lin",
        "xwisenet",
        {"inner_activation": False, "width": 0.5},
    )
    assert init_gradients.parse_variant("s:model=xwisenet-simple")[1] == "xwisenet-simple"
    with pytest.raises(ValueError, match="OPTION=VALUE"):
        init_gradients.parse_variant("x:width")


def test_linear_depthwise_convs_pass_smaller_gradients_to_the_stem():
    """The measured effect (docs/training.md), at a tiny size: with the ReLUs between the
    depthwise convs the stem's gradient relative to the head's is larger."""
    rng = np.random.default_rng(0)
    clips = rng.standard_normal((4, 4, 32, 32, 3)).astype("float32")
    labels = np.array([0, 1, 2, 3])
    small = {"width": 0.5, "stage_repeats": (2, 4, 2)}
    paper = init_gradients.gradient_profile("xwisenet", small, clips, labels)
    linear = init_gradients.gradient_profile(
        "xwisenet", {**small, "inner_activation": False}, clips, labels
    )
    assert np.isfinite(paper["loss"]) and paper["head"] > 0
    assert paper["stem/head"] > 2 * linear["stem/head"]
