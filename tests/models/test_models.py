import keras
import numpy as np
import pytest
import tensorflow as tf

import xwisenet_tf
from xwisenet_tf.models import get_model, list_models

TINY_CLIP = (4, 32, 32, 3)
TINY_XWISENET = {"width": 0.5, "stage_repeats": (1, 2, 1)}


def tiny(name, num_classes=5, **overrides):
    if name.startswith(("xwisenet", "shufflenet")):
        overrides = {**TINY_XWISENET, **overrides}
    return get_model(name, num_classes, input_shape=TINY_CLIP, **overrides)


def test_list_models_has_the_paper_presets():
    assert {"xwisenet", "xwisenet-simple", "resnet3d-18", "resnet3d-34", "resnet3d-50"} <= set(
        list_models()
    )


@pytest.mark.parametrize("name", list_models())
def test_every_preset_saves_and_loads_with_equal_outputs(name, tmp_path, rng):
    model = tiny(name)
    x = rng.standard_normal((2, *TINY_CLIP)).astype("float32")
    y = model.predict(x, verbose=0)
    assert y.shape == (2, 5)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.models.load_model(path)  # safe_mode=True: no Lambda layers anywhere
    np.testing.assert_allclose(loaded.predict(x, verbose=0), y, atol=1e-6)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]


def test_friendly_constructor_and_fit_on_a_dataset(rng):
    model = xwisenet_tf.XwiseNet(num_classes=3, input_shape=TINY_CLIP, **TINY_XWISENET)
    assert model.name == "xwisenet"
    clips = rng.standard_normal((4, *TINY_CLIP)).astype("float32")
    labels = np.array([0, 1, 2, 1])
    dataset = tf.data.Dataset.from_tensor_slices((clips, labels)).batch(2)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(dataset, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert model.predict(dataset, verbose=0).shape == (4, 3)


def test_full_size_xwisenet_builds_with_paper_input():
    model = xwisenet_tf.XwiseNet(num_classes=400)
    assert model.input_shape == (None, 16, 112, 112, 3)
    assert model.output_shape == (None, 400)


def test_layer_names_are_stable_and_readable():
    model = get_model("xwisenet", 10)
    names = {layer.name for layer in model.layers}
    assert {
        "stem_conv",
        "stem_pool",
        "stage1_ss",
        "stage2_unit1_xconv",
        "stage2_unit1_left_xconv",
        "stage2_unit3_xconv",
        "stage2_unit3_ss",
        "stage2_unit3_shuffle",
        "stage3_unit8_ss",
        "stage4_unit4_xconv",
        "head_conv",
        "head_pool",
        "predictions",
    } <= names
    spatial = model.get_layer("stage2_unit3_xconv").convs[0]
    assert spatial.name == "stage2_unit3_xconv_spatial"
    assert "stage2_unit1_ss" not in names  # blocks sit in Same Units only
    resnet = get_model("resnet3d-18", 10, conv_type="st")
    assert "stage2_unit1_stconv1" in {layer.name for layer in resnet.layers}


@pytest.mark.parametrize(
    "position,expected_before",
    [
        ("before_shuffle", "stage3_unit2_concat"),
        ("after_shuffle", "stage3_unit2_shuffle"),
        ("after_pointwise", "stage3_unit2_xconv"),
    ],
)
def test_block_position_places_the_block(position, expected_before):
    model = tiny("xwisenet", block_position=position)
    block = model.get_layer("stage3_unit2_ss")
    assert block.input._keras_history.operation.name == expected_before
    expected_channels = 48 if position == "after_pointwise" else 96
    assert block.input.shape[-1] == expected_channels


def test_block_stages_and_block_type():
    model = tiny("xwisenet", block="gc", block_stages=(3,))
    names = [layer.name for layer in model.layers]
    assert "stage3_unit2_gc" in names
    assert not any(n.endswith("_gc") and not n.startswith("stage3") for n in names)
    assert not any(layer.name.endswith("_ss") for layer in tiny("xwisenet-simple").layers)


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"conv_type": "octave"}, r"conv_type.*\['traditional', 'st', 'dw', 'xwise'\].*'octave'"),
        ({"block": "nonlocal"}, r"block.*'nonlocal'"),
        ({"block_position": "middle"}, r"block_position.*before_shuffle.*'middle'"),
        ({"context_pooling": "spatial"}, r"context_pooling.*channel_temporal.*'spatial'"),
        ({"block_stages": (5,)}, r"block_stages.*\(5,\)"),
        ({"width": 0.75}, r"width.*0.75"),
        ({"temporal_strides": (3, 1, 1, 1)}, r"temporal_strides.*\(3, 1, 1, 1\)"),
        ({"dropout": 1.5}, r"dropout.*1.5"),
        ({"temporal_init": "zeros"}, r"temporal_init.*\['he', 'identity'\].*'zeros'"),
        ({"inner_activation": "yes"}, r"inner_activation.*'yes'"),
        ({"shortcut": "A"}, r"no option `shortcut`.*Received: shortcut='A'"),
    ],
)
def test_invalid_overrides_name_argument_value_and_choices(overrides, message):
    with pytest.raises(ValueError, match=message):
        get_model("xwisenet", 10, **overrides)


def test_invalid_preset_and_resnet_options():
    with pytest.raises(ValueError, match=r"name.*'resnet3d-101'"):
        get_model("resnet3d-101", 10)
    with pytest.raises(ValueError, match=r"no option `block`"):
        get_model("resnet3d-18", 10, block="ss")
    with pytest.raises(ValueError, match="num_classes"):
        get_model("xwisenet", 0)
    with pytest.raises(ValueError, match="input_shape"):
        get_model("xwisenet", 10, input_shape=(16, 112, 112))


def test_reference_implementation_gives_the_same_model_outputs(rng):
    folded = tiny("xwisenet")
    reference = tiny("xwisenet", implementation="reference")
    reference.set_weights(folded.get_weights())
    x = rng.standard_normal((1, *TINY_CLIP)).astype("float32")
    np.testing.assert_allclose(
        reference.predict(x, verbose=0), folded.predict(x, verbose=0), atol=1e-5
    )


def test_presets_that_mirror_pytorch_pad_symmetrically():
    from xwisenet_tf.models.presets import resolve_spec

    for name in list_models():
        expected = "same" if name.startswith("xwisenet") else "symmetric"  # the paper's: same
        spec = resolve_spec(name)
        assert spec.padding == expected, name
        model = get_model(name, 3, input_shape=(4, 32, 32, 3))
        # A causal preset pads time on the past side only, height and width as "same".
        layer_padding = "causal" if getattr(spec, "causal", False) else expected
        assert model.get_layer("stem_pool").padding == layer_padding, name
    # ShuffleNet V2 keeps its depthwise convs linear; the paper's X-Conv has its ReLUs.
    assert resolve_spec("shufflenet3d-1.0x").inner_activation is False
    assert resolve_spec("xwisenet").inner_activation is True
