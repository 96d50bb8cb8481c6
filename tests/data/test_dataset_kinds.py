"""The registry of dataset kinds drives `prepare_dataset`, `ensure_dataset` and ``prepare``."""

import json
import os

import pytest

from xwisenet_tf.data import DataError, ensure_dataset, prepare_dataset
from xwisenet_tf.data import prepare as prepare_cli
from xwisenet_tf.data.dataset_kinds import DATASETS, KINDS, spec_forms, spec_kind


def test_the_kinds_and_their_spec_forms():
    assert DATASETS == ("kth", "folder", "csv", "synthetic")
    assert spec_forms() == "kth, kth:PATH, folder:PATH, csv:PATH, synthetic or prepared:PATH"


def test_prepare_offers_every_kind_and_its_flags():
    actions = {a.dest: a for a in prepare_cli.build_parser()._actions}
    assert list(actions["dataset"].choices) == list(DATASETS)
    for name, kind in KINDS.items():
        assert set(kind.flags) <= set(actions), name


@pytest.mark.parametrize(
    "spec", ["imagenet", "folder", "csv:", "synthetic:somewhere", "prepared", "prepared:"]
)
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


def test_a_prepared_directory_is_used_as_it_is(tmp_path):
    from conftest import write_known_dataset

    prepared = write_known_dataset(tmp_path / "k400", [4, 4])
    cache = tmp_path / "cache"
    assert ensure_dataset(f"prepared:{prepared}", cache) == str(prepared)
    relative = os.path.relpath(prepared)
    assert ensure_dataset(f"prepared:{relative}", cache, progress=False) == str(prepared)
    assert not cache.exists()  # nothing converted, nothing written
    # A manifest without a kind (as here) gives no kind; one that records it gives its own.
    assert spec_kind(f"prepared:{prepared}") == "prepared"
    manifest = json.loads((prepared / "manifest.json").read_text())
    (prepared / "manifest.json").write_text(json.dumps(dict(manifest, dataset="synthetic")))
    assert spec_kind(f"prepared:{prepared}") == "synthetic"
    assert spec_kind(f"prepared:{tmp_path / 'missing'}") == "prepared"
    assert spec_kind("folder:/data/x") == "folder"


def test_a_prepared_spec_without_manifest_or_with_options_is_refused(tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    with pytest.raises(DataError) as e:
        ensure_dataset(f"prepared:{videos}", tmp_path / "cache")
    message = str(e.value)
    assert message.startswith(f"{videos}: no manifest.json, so not a prepared directory")
    assert "python -m xwisenet_tf.data.prepare" in message
    with pytest.raises(DataError, match=r"takes no dataset options \(received \['fold'\]\)"):
        ensure_dataset(f"prepared:{videos}", tmp_path / "cache", fold=0)
    assert not (tmp_path / "cache").exists()
