"""Issue 17, item 2: a state dict of another architecture or width is refused, nothing written."""

import numpy as np
import pytest

from tests.weights.torch_names import export_state_dict
from xwisenet_tf.models import get_model
from xwisenet_tf.models.presets import resolve_spec
from xwisenet_tf.weights import WeightImportError, import_state_dict
from xwisenet_tf.weights.__main__ import main

CLIP = (4, 32, 32, 3)


def _shufflenet(width=1.0, num_classes=5):
    spec = resolve_spec("shufflenet3d-1.0x", width=width)
    model = get_model("shufflenet3d-1.0x", num_classes, input_shape=CLIP, width=width)
    return model, spec


@pytest.fixture(scope="module")
def half_width_npz(tmp_path_factory):
    model, spec = _shufflenet(width=0.5)
    path = tmp_path_factory.mktemp("state") / "shufflenet_0.5x.npz"
    np.savez(path, **export_state_dict(model, spec, "e3d"))
    return str(path)


def test_a_state_dict_round_trips_through_the_importer():
    source, spec = _shufflenet(width=0.5)
    target, _ = _shufflenet(width=0.5)
    state = export_state_dict(source, spec, "e3d")
    assert import_state_dict(target, spec, state, "e3d") == len(state)
    for ours, theirs in zip(target.weights, source.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_another_width_names_the_first_mismatching_tensors(half_width_npz):
    model, spec = _shufflenet(width=1.0)
    before = [np.asarray(w).copy() for w in model.weights]
    state = dict(np.load(half_width_npz))
    with pytest.raises(WeightImportError) as error:
        import_state_dict(model, spec, state, "e3d")
    message = str(error.value)
    assert "another shape" in message
    assert "features.0.banch1.2.weight: (24, 24, 1, 1, 1) in the file, (58, 24, 1, 1, 1)" in message
    assert "Nothing was assigned" in message
    for weight, value in zip(model.weights, before, strict=True):  # untouched
        np.testing.assert_array_equal(np.asarray(weight), value)


def test_another_architecture_is_refused():
    model, spec = _shufflenet(width=0.5)
    state = export_state_dict(model, spec, "e3d")
    resnet_like = {"conv1.weight": np.zeros((64, 3, 7, 7, 7), "float32"), **state}
    del resnet_like["conv1.0.weight"]
    with pytest.raises(WeightImportError, match=r"(?s)not in the state dict.*conv1\.0\.weight"):
        import_state_dict(model, spec, resnet_like, "e3d")
    with pytest.raises(WeightImportError, match=r"(?s)no place.*conv1\.weight"):
        import_state_dict(
            model, spec, {**state, "conv1.weight": resnet_like["conv1.weight"]}, "e3d"
        )
    with pytest.raises(WeightImportError, match="needs a 'resnet3d-\\*' preset"):
        import_state_dict(model, spec, state, "hara")


def test_cli_writes_nothing_for_a_state_dict_that_does_not_fit(half_width_npz, tmp_path, capsys):
    output = tmp_path / "model.keras"
    status = main(
        ["import", "--format", "e3d", "--preset", "shufflenet3d-1.0x", "--input", half_width_npz,
         "--output", str(output), "--frames", "4", "--size", "32"]
    )  # fmt: skip
    assert status == 2
    assert "shufflenet_0.5x.npz" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_cli_names_a_missing_file_and_a_pth_without_torch(tmp_path, capsys):
    args = ["import", "--format", "e3d", "--preset", "shufflenet3d-1.0x", "--output"]
    assert main([*args, str(tmp_path / "m.keras"), "--input", str(tmp_path / "no.npz")]) == 2
    assert "not found" in capsys.readouterr().err
    pth = tmp_path / "model.pth"
    pth.write_bytes(b"not a checkpoint")
    assert main([*args, str(tmp_path / "m.keras"), "--input", str(pth)]) == 2
    assert "model.pth" in capsys.readouterr().err
    assert not (tmp_path / "m.keras").exists()


def test_a_state_dict_of_the_other_format_is_named_as_such():
    from xwisenet_tf.weights import build_pretrained

    model, spec = _shufflenet(width=0.5)
    state = export_state_dict(model, spec, "e3d")
    with pytest.raises(WeightImportError, match=r"no classifier 'fc\.weight'.*conv1\.0\.weight"):
        build_pretrained("hara", "resnet3d-18", state, input_shape=CLIP)


def test_another_number_of_classes_gets_a_new_classifier():
    from xwisenet_tf.weights import build_pretrained

    model, spec = _shufflenet(width=0.5, num_classes=5)
    state = export_state_dict(model, spec, "e3d")
    imported, report = build_pretrained(
        "e3d", "shufflenet3d-1.0x", state, 3, CLIP, overrides={"width": 0.5}
    )
    assert not report.head_imported and report.tensors == len(state) - 2
    assert imported.get_layer("predictions").kernel.shape == (1024, 3)
    np.testing.assert_array_equal(
        np.asarray(imported.get_layer("head_conv").convs[0].kernel),
        np.asarray(model.get_layer("head_conv").convs[0].kernel),
    )
