"""``init_from e3d:PATH``: Efficient-3DCNNs ShuffleNet V2 weights factorised into XwiseNet's X-Conv."""

import numpy as np
import pytest

from tests.weights.torch_names import export_state_dict
from xwisenet_tf.models import get_model
from xwisenet_tf.models.presets import PRESETS, resolve_spec
from xwisenet_tf.weights import (
    WeightImportError,
    factorise_state_dict,
    import_state_dict,
    init_from,
)
from xwisenet_tf.weights.__main__ import main
from xwisenet_tf.weights.factorise import rank_one

CLIP = (8, 32, 32, 3)
CLASSES = 5
# XwiseNet with the structure of Efficient-3DCNNs' ShuffleNet V2: its depthwise convs are linear.
E3D_STRUCTURE = {
    "block": None,
    "inner_activation": False,
    "padding": "symmetric",
    "temporal_strides": PRESETS["shufflenet3d-1.0x"].temporal_strides,
}
TINY = {"width": 0.5, "stage_repeats": (1, 2, 1)}


def _e3d_state(model, spec, rng, rank_one_kernels=False):
    """An E3D state dict of `model`'s names and shapes: its dense kernels, random depthwise
    kernels (full rank, or rank 1 per channel) and BatchNorms far from the identity."""
    state = export_state_dict(model, spec, "e3d")
    for name, value in state.items():
        if name.endswith(("running_var", ".weight")) and value.ndim == 1:  # BN scale, variance
            state[name] = rng.uniform(0.5, 1.5, value.shape).astype("float32")
        elif value.ndim == 1:  # BN shift and mean, classifier bias
            state[name] = rng.normal(0.0, 0.2, value.shape).astype("float32")
        elif value.shape[1:] == (1, 3, 3, 3):  # depthwise (C, 1, 3, 3, 3)
            kernel = rng.normal(0.0, 0.3, value.shape)
            if rank_one_kernels:
                temporal = rng.normal(size=(value.shape[0], 3))
                spatial = rng.normal(size=(value.shape[0], 3, 3)) * 0.5
                kernel = temporal[:, None, :, None, None] * spatial[:, None, None, :, :]
            state[name] = kernel.astype("float32")
    return state


@pytest.fixture(scope="module")
def clips():
    return np.random.default_rng(1).normal(size=(2, *CLIP)).astype("float32")


@pytest.fixture(scope="module")
def shufflenet():
    """`shufflenet3d-1.0x` at width 1.5 (logits) and its spec."""
    spec = resolve_spec("shufflenet3d-1.0x", width=1.5)
    return get_model("shufflenet3d-1.0x", CLASSES, CLIP, None, width=1.5), spec


@pytest.fixture(scope="module")
def xwise_e3d():
    """XwiseNet 1.5x built with E3D's structure (logits)."""
    return get_model("xwisenet", CLASSES, CLIP, None, width=1.5, **E3D_STRUCTURE)


@pytest.fixture(scope="module")
def rank_one_state(shufflenet, clips):
    """A 1.5x E3D state dict whose depthwise kernels are rank 1, logits spread about 4."""
    model, spec = shufflenet
    state = _e3d_state(model, spec, np.random.default_rng(2), rank_one_kernels=True)
    import_state_dict(model, spec, state, "e3d")
    scale = 4.0 / np.ptp(model.predict(clips, verbose=0))  # the random net's logits are ~1e3
    state["classifier.1.weight"] = state["classifier.1.weight"] * np.float32(scale)
    return state


@pytest.fixture(scope="module")
def random_state(shufflenet):
    """A 1.5x E3D state dict with full-rank (He-initialised) depthwise kernels."""
    model, spec = shufflenet
    return _e3d_state(model, spec, np.random.default_rng(3))


@pytest.fixture(scope="module")
def tiny_state():
    """A state dict of a 0.5x ShuffleNet V2 with 1-2-1 units."""
    model = get_model("shufflenet3d-1.0x", CLASSES, CLIP, None, **TINY)
    spec = resolve_spec("shufflenet3d-1.0x", **TINY)
    return _e3d_state(model, spec, np.random.default_rng(4))


def _tiny_xwisenet(num_classes=CLASSES, **options):
    return get_model("xwisenet", num_classes, CLIP, None, **{**TINY, **E3D_STRUCTURE, **options})


def _values(model):
    return [np.asarray(w).copy() for w in model.weights]


def test_rank_one_kernels_give_the_e3d_logits(shufflenet, xwise_e3d, rank_one_state, clips):
    model, spec = shufflenet
    assert import_state_dict(model, spec, rank_one_state, "e3d") == len(rank_one_state)
    expected = model.predict(clips, verbose=0)
    report = factorise_state_dict(xwise_e3d, rank_one_state)
    logits = xwise_e3d.predict(clips, verbose=0)
    print(
        f"max abs logit difference {np.abs(logits - expected).max():.3g}, spread {np.ptp(expected):.3g}"
    )
    assert np.ptp(expected) > 3.0
    np.testing.assert_allclose(logits, expected, atol=1e-4, rtol=0)
    assert report.tensors == len(rank_one_state) and report.head_imported
    for stage, share in report.energy_kept.items():
        assert share == pytest.approx(1.0, abs=1e-6), stage
    assert report.overall_energy_kept == pytest.approx(1.0, abs=1e-6)


def test_full_rank_kernels_keep_part_of_their_energy(shufflenet, xwise_e3d, random_state, clips):
    report = factorise_state_dict(xwise_e3d, random_state)
    print(report.summary())
    assert list(report.energy_kept) == ["stage2", "stage3", "stage4"]
    for share in [*report.energy_kept.values(), report.overall_energy_kept]:
        assert 0.0 < share < 1.0
    assert "stage3" in report.summary() and f"{report.overall_energy_kept:.1%}" in report.summary()
    model, spec = shufflenet  # the factorisation is not exact then: the test above can fail
    import_state_dict(model, spec, random_state, "e3d")
    logits = xwise_e3d.predict(clips, verbose=0)
    assert np.abs(logits - model.predict(clips, verbose=0)).max() > 1e-2


def test_rank_one_is_the_best_rank_one_approximation():
    kernel = np.random.default_rng(5).normal(size=(3, 3, 3, 4, 1)).astype("float32")
    spatial, temporal, kept, total = rank_one(kernel)
    assert spatial.shape == (1, 3, 3, 4, 1) and temporal.shape == (3, 1, 1, 4, 1)
    product = temporal * spatial  # broadcast: (3, 3, 3, 4, 1)
    assert total == pytest.approx(np.sum(kernel.astype("float64") ** 2), rel=1e-6)
    # Eckart-Young: what the rank-1 part leaves is the energy of the other singular values.
    assert np.sum((kernel - product) ** 2) == pytest.approx(total - kept, rel=1e-4)
    assert (temporal.sum(axis=0) >= 0).all()
    spatial, temporal, kept, total = rank_one(product)  # already rank 1: exact
    np.testing.assert_allclose(temporal * spatial, product, atol=1e-6)
    assert kept == pytest.approx(total, rel=1e-6)


def test_spatial_batch_norms_are_the_exact_identity(tiny_state):
    model = _tiny_xwisenet()
    factorise_state_dict(model, tiny_state)
    x = np.random.default_rng(6).normal(size=(2, 4, 5, 5, 24)).astype("float32") * 10
    norm = model.get_layer("stage2_unit1_left_xconv").norms[0]
    assert norm.name.endswith("spatial_bn")
    np.testing.assert_array_equal(np.asarray(norm(x, training=False)), x)
    temporal = model.get_layer("stage3_unit2_xconv").norms[1]
    np.testing.assert_array_equal(
        np.asarray(temporal.moving_mean), tiny_state["features.2.banch2.4.running_mean"]
    )


def test_context_blocks_stay_the_identity(tiny_state, clips):
    plain, with_blocks = _tiny_xwisenet(), _tiny_xwisenet(block="ss")
    factorise_state_dict(plain, tiny_state)
    report = factorise_state_dict(with_blocks, tiny_state)
    assert report.context_blocks == {"stage1_ss": True, "stage3_unit2_ss": True}
    assert "all the identity" in report.summary()
    np.testing.assert_allclose(
        with_blocks.predict(clips, verbose=0), plain.predict(clips, verbose=0), atol=1e-5, rtol=0
    )
    report = factorise_state_dict(_tiny_xwisenet(block="se"), tiny_state)
    assert report.context_blocks == {"stage1_se": False, "stage3_unit2_se": False}
    assert "not the identity (e.g. 'stage1_se')" in report.summary()


def test_another_number_of_classes_keeps_the_new_classifier(tiny_state):
    model = _tiny_xwisenet(num_classes=3)
    head = _values(model.get_layer("predictions"))
    report = factorise_state_dict(model, tiny_state)
    assert not report.head_imported and report.tensors == len(tiny_state) - 2
    for new, old in zip(_values(model.get_layer("predictions")), head, strict=True):
        np.testing.assert_array_equal(new, old)


def test_another_width_is_refused_naming_the_tensor(tiny_state):
    model = _tiny_xwisenet(width=1.0)
    before = _values(model)
    with pytest.raises(WeightImportError) as error:
        factorise_state_dict(model, tiny_state)
    message = str(error.value)
    assert "features.0.banch1.2.weight: (24, 24, 1, 1, 1) in the file, (58, 24, 1, 1, 1)" in message
    assert "Nothing was assigned" in message
    for weight, value in zip(model.weights, before, strict=True):
        np.testing.assert_array_equal(np.asarray(weight), value)


def test_a_missing_or_extra_tensor_is_named_and_nothing_assigned(tiny_state):
    model = _tiny_xwisenet()
    before = _values(model)
    state = {k: v for k, v in tiny_state.items() if k != "features.1.banch2.3.weight"}
    with pytest.raises(WeightImportError, match=r"(?s)not in the state dict.*features\.1\.banch2\.3\.weight"):  # fmt: skip
        factorise_state_dict(model, state)
    extra = {**tiny_state, "features.9.banch2.0.weight": np.zeros((8, 8, 1, 1, 1), "float32")}
    with pytest.raises(WeightImportError, match=r"(?s)no place.*features\.9\.banch2\.0\.weight"):
        factorise_state_dict(model, extra)
    for weight, value in zip(model.weights, before, strict=True):
        np.testing.assert_array_equal(np.asarray(weight), value)


def test_a_model_without_xconv_units_is_refused(tiny_state):
    shufflenet = get_model("shufflenet3d-1.0x", CLASSES, CLIP, None, **TINY)
    with pytest.raises(WeightImportError, match="conv_type 'dw' units .*stage2_unit1_left_dwconv"):
        factorise_state_dict(shufflenet, tiny_state)
    st = _tiny_xwisenet(conv_type="st")
    with pytest.raises(WeightImportError, match="conv_type 'st'.*conv_type='xwise'"):
        factorise_state_dict(st, tiny_state)
    resnet = get_model("resnet3d-18", CLASSES, (4, 32, 32, 3), None)
    with pytest.raises(WeightImportError, match="'resnet3d-18' is not an XwiseNet"):
        factorise_state_dict(resnet, tiny_state)


def test_init_from_reads_e3d_path_and_names_a_bad_spec(tiny_state, tmp_path):
    path = tmp_path / "tiny.npz"
    np.savez(path, **tiny_state)
    model = _tiny_xwisenet()
    report = init_from(model, f"e3d:{path}")
    assert report.source == f"e3d:{path}" and report.summary().startswith(f"e3d:{path}: ")
    for spec in (f"hara:{path}", str(path), "e3d:"):
        with pytest.raises(WeightImportError, match="init_from must be 'e3d:PATH'") as error:
            init_from(model, spec)
        assert repr(spec) in str(error.value)
    with pytest.raises(WeightImportError, match=r"init_from 'e3d:.*no\.npz'.*not found"):
        init_from(model, f"e3d:{tmp_path / 'no.npz'}")
    with pytest.raises(WeightImportError, match=r"(?s)init_from 'e3d:.*tiny\.npz'.*another shape"):
        init_from(_tiny_xwisenet(width=1.0), f"e3d:{path}")


def test_cli_writes_the_factorised_xwisenet(tiny_state, tmp_path, capsys):
    source, output = tmp_path / "tiny.npz", tmp_path / "xwisenet.keras"
    np.savez(source, **tiny_state)
    status = main(
        ["import", "--format", "e3d", "--preset", "xwisenet-small", "--width", "0.5",
         "--input", str(source), "--output", str(output), "--frames", "8", "--size", "32"]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert status == 0 and output.is_file()
    assert "energy kept" in printed and "stage4" in printed and "context blocks" in printed
