"""Grouped, stratified K-fold splits (`xwisenet_tf.data.folds`) and the folder option using them."""

import collections

import pytest

from xwisenet_tf.data import DataError
from xwisenet_tf.data.folder import plan_folder
from xwisenet_tf.data.folds import assign_folds, key_of

# An office-style dataset: 3 actions x 10 takes, outfits d1-d5 and d11-d15.
OFFICE = [
    (f"{a}/gabor_{a}_d{d}", a)
    for a in ("boxing", "handclapping", "handwaving")
    for d in (*range(1, 6), *range(11, 16))
]
OUTFIT = r"_d1\d$"


def _by_fold(folds):
    out = collections.defaultdict(list)
    for sample_id, fold in folds.items():
        out[fold].append(sample_id)
    return out


def test_every_fold_holds_each_class_and_outfit_once():
    folds = assign_folds(OFFICE, 5, seed=0, stratify=OUTFIT)
    assert sorted(folds) == sorted(s for s, _ in OFFICE)
    for fold, ids in _by_fold(folds).items():
        strata = collections.Counter((i.split("/")[0], key_of(i, OUTFIT)) for i in ids)
        assert len(ids) == 6 and set(strata.values()) == {1}, (fold, ids)


def test_uneven_folds_differ_by_at_most_one_video_per_stratum():
    folds = assign_folds(OFFICE, 3, seed=1, stratify=OUTFIT)
    sizes = [len(ids) for ids in _by_fold(folds).values()]
    assert sorted(sizes) == [10, 10, 10]
    for ids in _by_fold(folds).values():
        per_class = collections.Counter(i.split("/")[0] for i in ids)
        assert set(per_class.values()) <= {3, 4}


def test_groups_stay_together_and_assignment_is_deterministic():
    samples = [(f"walk/person{p:02d}_walk_d{d}", "walk") for p in range(1, 7) for d in (1, 2, 3)]
    samples += [(f"box/person{p:02d}_box_d{d}", "box") for p in range(1, 7) for d in (1, 2, 3)]
    group = r"person\d+_\w+?_"
    folds = assign_folds(samples, 3, seed=4, group=group)
    for g in {key_of(s, group) for s, _ in samples}:
        assert len({folds[s] for s, _ in samples if key_of(s, group) == g}) == 1
    assert folds == assign_folds(list(reversed(samples)), 3, seed=4, group=group)
    assert folds != assign_folds(samples, 3, seed=5, group=group)


def test_key_of_takes_the_first_parenthesised_group():
    assert key_of("boxing/person03_boxing_d2_seq1", r"(person\d+)_") == "person03"
    assert key_of("a/b", r"person\d+") == ""
    assert key_of("a/b", None) == "a/b"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(k=1), "folds must be an integer >= 2"),
        (dict(k=31), "needs at least 31 groups"),
        (dict(k=2, group="("), "group is not a regular expression"),
        (dict(k=2, group=r"d\d+$"), "holds videos of several classes"),
    ],
)
def test_bad_fold_settings_are_refused(kwargs, message):
    with pytest.raises(DataError, match=message):
        assign_folds(OFFICE, **kwargs)


def test_folder_dataset_fold_option(tmp_path):
    for sample_id, _ in OFFICE:
        path = tmp_path / f"{sample_id}.avi"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"")
    tests = []
    for fold in range(5):
        plan = plan_folder(tmp_path, folds=5, fold=fold, stratify=OUTFIT)
        split = {s.id: s.split for job in plan.jobs for s in job.samples}
        assert len(split) == 30 and plan.info["split_source"] == "folds"
        tests.append({i for i, s in split.items() if s == "test"})
    assert all(len(t) == 6 for t in tests)
    assert set().union(*tests) == {s for s, _ in OFFICE}
    with pytest.raises(DataError, match="fold must be an integer in"):
        plan_folder(tmp_path, folds=5, fold=5)
    with pytest.raises(DataError, match="need folds=K"):
        plan_folder(tmp_path, fold=1)
