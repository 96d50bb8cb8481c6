"""The registry of dataset kinds drives `prepare_dataset`, `ensure_dataset` and ``prepare``."""

import pytest

from xwisenet_tf.data import DataError, ensure_dataset, prepare_dataset
from xwisenet_tf.data import prepare as prepare_cli
from xwisenet_tf.data.dataset_kinds import DATASETS, KINDS, spec_forms


def test_the_kinds_and_their_spec_forms():
    assert DATASETS == ("kth", "folder", "csv", "synthetic")
    assert spec_forms() == "kth, kth:PATH, folder:PATH, csv:PATH or synthetic"


def test_prepare_offers_every_kind_and_its_flags():
    actions = {a.dest: a for a in prepare_cli.build_parser()._actions}
    assert list(actions["dataset"].choices) == list(DATASETS)
    for name, kind in KINDS.items():
        assert set(kind.flags) <= set(actions), name


@pytest.mark.parametrize("spec", ["imagenet", "folder", "csv:", "synthetic:somewhere"])
def test_a_spec_outside_the_forms_is_refused(tmp_path, spec):
    with pytest.raises(DataError) as e:
        ensure_dataset(spec, tmp_path)
    assert str(e.value) == f"unknown dataset spec {spec!r}; expected {spec_forms()}"


def test_prepare_dataset_names_the_kinds_and_checks_options(tmp_path):
    with pytest.raises(DataError, match=r"^unknown dataset 'ucf'; expected one of \('kth', "):
        prepare_dataset("ucf", tmp_path, tmp_path / "out")
    with pytest.raises(DataError, match="^dataset 'csv' needs a source path"):
        prepare_dataset("csv", None, tmp_path / "out")
    # KTH checks its options before it looks for the files; folder plans first.
    with pytest.raises(DataError, match=r"^unknown options for dataset 'kth': \['bogus'\]"):
        prepare_dataset("kth", tmp_path / "missing", tmp_path / "out", bogus=1)
    with pytest.raises(DataError, match="dataset folder not found"):
        prepare_dataset("folder", tmp_path / "missing", tmp_path / "out", bogus=1)
