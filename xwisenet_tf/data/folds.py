"""Grouped, stratified K-fold splits of a video dataset, for choosing recipes by cross-validation.

A user's few dozen clips cannot be judged by one split: one test video more or less right moves
the accuracy by several points, and a lucky split hides a recipe that memorises. `assign_folds`
cuts the videos into ``k`` folds so that

* **no group is in two folds**: videos sharing a group key (the same person, the same
  recording cut into several files) are tested together and never trained on while tested;
* **every fold holds each stratum evenly**: each class, and within a class each value of an
  optional stratum key (an outfit, a camera, a scenario), is spread over the folds, so that a
  fold never tests a look that training has never seen with that action.

Keys come from the sample ids with regular expressions: the first match of ``group`` (or its
first parenthesised group) is the group key, default the whole id (every video its own
group); the same for ``stratify`` (no match: the empty stratum). For KTH-style names
``group=r"person\\d+"``; for the office recordings of ``../shared/data/office3``
(``<action>/gabor_<action>_d<N>``, outfits d1-d5 and d11-d15) ``stratify=r"_d1\\d$"``.

The assignment is deterministic for a given ``seed`` and independent of the input order.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from xwisenet_tf.data.errors import DataError


def key_of(sample_id: str, pattern: str | None) -> str:
    """The key a regular expression gives a sample id (module docstring); ``None``: the id."""
    if pattern is None:
        return sample_id
    match = re.search(pattern, sample_id)
    if match is None:
        return ""
    return match.group(1) if match.re.groups else match.group(0)


def _compiled(pattern: str | None, what: str) -> None:
    if pattern is None:
        return
    try:
        re.compile(pattern)
    except re.error as e:
        raise DataError(f"{what} is not a regular expression ({e}); received {pattern!r}") from e


def assign_folds(
    samples: Sequence[tuple[str, str]],
    k: int,
    seed: int = 0,
    group: str | None = None,
    stratify: str | None = None,
) -> dict[str, int]:
    """Assigns every sample to one of ``k`` folds (module docstring).

    Groups are dealt stratum by stratum (class, then the ``stratify`` key; a group's stratum is
    that of its first sample in sorted order), in a seeded random order, each to the fold that
    holds the fewest videos of that stratum so far, ties broken by the fewest videos of the
    class, then of all classes, then by a seeded random order of the folds.

    Args:
        samples: ``(sample_id, class_name)`` pairs.
        k: Number of folds, >= 2.
        seed: Seed of the order groups are dealt in.
        group: Regular expression of the group key (default: each sample its own group).
        stratify: Regular expression of a stratum key within each class (default: none).

    Returns:
        ``{sample_id: fold}`` with folds ``0 .. k-1``.

    Raises:
        DataError: ``k`` < 2 or more than the number of groups, a bad regular expression, or
            a group whose samples have different classes.
    """
    if not isinstance(k, int) or k < 2:
        raise DataError(f"folds must be an integer >= 2; received folds={k!r}")
    _compiled(group, "group")
    _compiled(stratify, "stratify")
    groups: dict[str, list[tuple[str, str]]] = {}
    for sample_id, cls in sorted(samples):
        groups.setdefault(key_of(sample_id, group), []).append((sample_id, cls))
    if len(groups) < k:
        raise DataError(
            f"folds={k} needs at least {k} groups of videos; the dataset has {len(groups)}"
        )
    strata: dict[tuple[str, str], list[str]] = {}
    for name, members in sorted(groups.items()):
        classes = {cls for _, cls in members}
        if len(classes) > 1:
            raise DataError(
                f"group {name!r} (group={group!r}) holds videos of several classes "
                f"{sorted(classes)}; a group key must belong to one class"
            )
        stratum = (members[0][1], key_of(members[0][0], stratify))
        strata.setdefault(stratum, []).append(name)
    rng = random.Random(seed)
    totals = [0] * k
    in_class: dict[str, list[int]] = {}
    tie_order = list(range(k))
    fold_of_group: dict[str, int] = {}
    for stratum in sorted(strata):
        names = strata[stratum]
        rng.shuffle(names)
        rng.shuffle(tie_order)
        in_stratum = [0] * k
        of_class = in_class.setdefault(stratum[0], [0] * k)
        for name in names:
            fold = min(
                tie_order,
                key=lambda f: (in_stratum[f], of_class[f], totals[f], tie_order.index(f)),
            )
            size = len(groups[name])
            in_stratum[fold] += size
            of_class[fold] += size
            totals[fold] += size
            fold_of_group[name] = fold
    return {
        sample_id: fold_of_group[name]
        for name, members in groups.items()
        for sample_id, _ in members
    }
