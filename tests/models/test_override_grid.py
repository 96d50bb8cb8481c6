"""Every option value `get_model` accepts builds, runs and converts to TFLite builtins (issue 13).

The full cartesian grid of overrides is millions of models, so the grid is a pairwise covering
array generated here, deterministically, from the specs' own fields and validation choices: every
value of every option appears, and every pair of values of two options appears together in a
model where both take effect (a `block_position` only counts in a model that has a block in a
Same Unit). Every row is built and run; a row with `implementation="reference"` is compared with
its folded twin on the same weights; every folded model is converted to TFLite in one converter
call (one graph holding all of them) and each one's TFLite output is compared with Keras.

A new spec field fails `test_grid_has_values_for_every_option` until its values are known: from
a constant named after it (`<FIELD>S` or `MODEL_<FIELD>S` in `xwisenet_tf.models.presets`, as
CONV_TYPES, BLOCKS, TEMPORAL_INITS), a bool, or an entry in `EXPLICIT_VALUES` below.
"""

from __future__ import annotations

import dataclasses
import itertools
import typing

import keras
import numpy as np
import pytest

from tests.models.test_tflite import NOT_BUILTIN, _randomize_batch_norms
from xwisenet_tf.export import convert_to_tflite, run_tflite, tflite_op_names
from xwisenet_tf.models import get_model, presets
from xwisenet_tf.models.presets import ResNet3DSpec, XwiseNetSpec

CLIP = (8, 32, 32, 3)  # 8 frames: temporal strides of 2 at the stem and three stages all act
NUM_CLASSES = 3
STRIDE_VALUES = (1, 2)  # `_check_strides` accepts exactly these (checked below)
STAGES = (2, 3, 4)
# Two layouts of 4 units: each stage of 2-4 has a Same Unit (where blocks go) in one of them.
REPEATS_WITH_STAGE3 = (1, 2, 1)
REPEATS_WITH_STAGES_2_4 = (2, 1, 2)

# Options whose values are not a finite constant of the spec: representative values, or the
# sub-factors (one per position) the tuple is assembled from.
EXPLICIT_VALUES = {
    "width": tuple(presets.STAGE_CHANNELS),
    "depth": tuple(presets.RESNET_LAYOUTS),
    "dropout": (0.0, 0.5),
    "stochastic_depth": (0.0, 0.2),
    "stage_repeats": (REPEATS_WITH_STAGE3, REPEATS_WITH_STAGES_2_4),
    # A causal model excludes other options' values (temporal strides of 2, PyTorch padding,
    # clip-wide context blocks), which pairs of independent options cannot respect: causal
    # models are built, run, streamed and converted in tests/streaming, and the xwisenet-stream
    # preset in tests/models/test_tflite.py.
    "causal": (False,),
}
TUPLE_SUBFACTORS = {
    "temporal_strides": tuple((f"temporal_stride{i}", STRIDE_VALUES) for i in range(4)),
    "block_stages": tuple((f"block_stage{s}", (True, False)) for s in presets.XWISENET_STAGES),
}
BLOCKS_ON = tuple(b for b in presets.BLOCKS if b)
# An option only takes effect in a model where these other factors have these values (a
# conjunction); a pair counts as covered only by a row where both of its options take effect.
XWISENET_REQUIRES = {
    "block_stage1": {"block": BLOCKS_ON},
    "block_stage2": {"block": BLOCKS_ON, "stage_repeats": (REPEATS_WITH_STAGES_2_4,)},
    "block_stage3": {"block": BLOCKS_ON, "stage_repeats": (REPEATS_WITH_STAGE3,)},
    "block_stage4": {"block": BLOCKS_ON, "stage_repeats": (REPEATS_WITH_STAGES_2_4,)},
    "block_position": {
        "block": BLOCKS_ON,
        "stage_repeats": (REPEATS_WITH_STAGE3,),
        "block_stage3": (True,),
    },
    "context_pooling": {"block": ("ss",), "block_stage1": (True,)},
    "inner_activation": {"conv_type": ("st", "dw", "xwise")},
    "temporal_init": {"conv_type": ("st", "xwise")},
    "depthwise_init": {"conv_type": ("dw", "xwise")},
}
RESNET_REQUIRES = {}


def option_values(spec_class) -> dict[str, tuple]:
    """Field name -> the values the grid tries, from the spec's validation constants."""
    hints = typing.get_type_hints(spec_class)
    values = {}
    for field in dataclasses.fields(spec_class):
        name = field.name
        constant = next(
            (
                getattr(presets, c)
                for c in (f"{name.upper()}S", f"MODEL_{name.upper()}S")
                if isinstance(getattr(presets, c, None), tuple)
            ),
            None,
        )
        if name in TUPLE_SUBFACTORS or name in EXPLICIT_VALUES:
            values[name] = EXPLICIT_VALUES.get(name, ())
        elif constant is not None:
            values[name] = constant
        elif hints[name] is bool:
            values[name] = (True, False)
        else:
            values[name] = None
    return values


def factors(spec_class) -> dict[str, tuple]:
    """The covering array's factors: options, with tuple options split into sub-factors."""
    result = {}
    for name, values in option_values(spec_class).items():
        if name in TUPLE_SUBFACTORS:
            result.update(TUPLE_SUBFACTORS[name])
        else:
            result[name] = values
    if "conv_type" in result:  # conv_type first: the option every other one is paired with
        result = {"conv_type": result.pop("conv_type"), **result}
    return result


def _takes_effect(row: dict, factor: str, requires: dict) -> bool:
    return all(row.get(c, object()) in allowed for c, allowed in requires.get(factor, {}).items())


def _feasible(a, va, b, vb, requires) -> dict | None:
    """Values of the factors that make both `a=va` and `b=vb` take effect, or None if none do."""
    fixed = {a: va, b: vb}
    for factor in (a, b):
        for c, allowed in requires.get(factor, {}).items():
            if c in fixed:
                if fixed[c] not in allowed:
                    return None
            else:
                fixed[c] = allowed[0]
    return fixed


def covering_array(
    domains: dict[str, tuple], requires: dict, anchor: str | None = None
) -> list[dict]:
    """Rows (factor -> value) covering every coverable pair of values of two factors (of
    `anchor` and another factor if `anchor` is given).

    Greedy and deterministic (AETG-like): each row starts from the first uncovered pair (with the
    values it needs to take effect), then every other factor takes the value that covers the
    most uncovered pairs with the factors already set, the least used value on a tie.
    """
    names = list(domains)

    def pairs_of(row):
        live = [f for f in names if f in row and _takes_effect(row, f, requires)]
        return {
            ((a, row[a]), (b, row[b]))
            for a, b in itertools.combinations(live, 2)
            if anchor in (None, a, b)
        }

    uncovered = {
        ((a, va), (b, vb))
        for a, b in itertools.combinations(names, 2)
        if anchor in (None, a, b)
        for va in domains[a]
        for vb in domains[b]
        if _feasible(a, va, b, vb, requires) is not None
    }
    uses = {(f, v): 0 for f in names for v in domains[f]}
    rows = []
    while uncovered:
        (a, va), (b, vb) = min(uncovered, key=lambda p: (names.index(p[0][0]), repr(p)))
        row = _feasible(a, va, b, vb, requires)
        for factor in names:
            if factor in row:
                continue
            row[factor] = max(
                domains[factor],
                key=lambda v, f=factor: (
                    len(pairs_of({**row, f: v}) & uncovered),
                    -uses[(f, v)],
                    -domains[f].index(v),
                ),
            )
        row = {f: row[f] for f in names}
        uncovered -= pairs_of(row)
        for f in names:
            uses[(f, row[f])] += 1
        rows.append(row)
    return rows


def overrides_of(row: dict) -> dict:
    """A covering-array row as `get_model` overrides (sub-factors assembled into tuples)."""
    overrides = {k: v for k, v in row.items() if not k.startswith(("temporal_stride", "block_st"))}
    overrides["temporal_strides"] = tuple(row[f"temporal_stride{i}"] for i in range(4))
    if "block_stage1" in row:
        overrides["block_stages"] = tuple(
            s for s in presets.XWISENET_STAGES if row[f"block_stage{s}"]
        )
    return overrides


def _rows():
    xwisenet = covering_array(factors(XwiseNetSpec), XWISENET_REQUIRES, "conv_type")
    resnet = covering_array(factors(ResNet3DSpec), RESNET_REQUIRES, "conv_type")
    rows = [("xwisenet", overrides_of(r)) for r in xwisenet]
    for r in resnet:
        overrides = overrides_of(r)
        rows.append((f"resnet3d-{overrides.pop('depth')}", overrides))
    return rows


def _row_id(row) -> str:
    name, overrides = row
    return name + ":" + ",".join(f"{v}" for v in overrides.values()).replace(" ", "")


def _all_values_known() -> bool:
    return all(
        v is not None for s in (XwiseNetSpec, ResNet3DSpec) for v in option_values(s).values()
    )


ROWS = _rows() if _all_values_known() else []


def _conversion_rows(rows) -> list[int]:
    """Rows whose folded models go through the converter: the fewest (greedy) that hold every
    value of every option where it takes effect, ResNet depths included.

    TFLite conversion costs 5-10 s per tiny model on 2 cores, so converting all the rows would
    take minutes; they are all built, run and checked against the reference instead.
    """
    requires = {"xwisenet": XWISENET_REQUIRES}

    def singles(index):
        name, overrides = rows[index]
        row = {**overrides, "name": name}
        for i, s in enumerate(overrides["temporal_strides"]):
            row[f"temporal_stride{i}"] = s
        for s in presets.XWISENET_STAGES if "block_stages" in overrides else ():
            row[f"block_stage{s}"] = s in overrides["block_stages"]
        live = requires.get(name, RESNET_REQUIRES)
        skip = ("temporal_strides", "block_stages", "implementation", "depth")
        return {
            (name.split("-")[0], k, repr(v))
            for k, v in row.items()
            if k not in skip and _takes_effect(row, k, live)
        }

    eligible = [i for i, (name, _) in enumerate(rows) if name in CONVERTIBLE_NAMES]
    wanted = set().union(*(singles(i) for i in eligible)) if eligible else set()
    chosen = []
    while wanted:
        best = max(eligible, key=lambda i: (len(singles(i) & wanted), -i))
        chosen.append(best)
        wanted -= singles(best)
    return sorted(chosen)


# ResNet rows are built, run and checked against the reference here but not converted: at
# 33-63 M parameters each they would put gigabytes into one flatbuffer (the converter alone took
# minutes), and what they add is converted elsewhere: every preset with its default options
# (symmetric padding, shortcuts A and B) by test_tflite.test_every_preset_is_builtin_only, and
# every conv type's layers in the XwiseNet rows converted here.
CONVERTIBLE_NAMES = ("xwisenet",)
CONVERTED = _conversion_rows(ROWS)


def test_grid_has_values_for_every_option():
    for spec_class in (XwiseNetSpec, ResNet3DSpec):
        missing = [k for k, v in option_values(spec_class).items() if v is None]
        assert not missing, (
            f"{spec_class.__name__} has option(s) {missing} with no values in the override grid: "
            f"name their allowed values in xwisenet_tf.models.presets as {missing[0].upper()}S "
            "(as CONV_TYPES, BLOCKS) or add them to EXPLICIT_VALUES in "
            "tests/models/test_override_grid.py"
        )


def test_grid_values_are_exactly_what_the_specs_accept():
    for spec_class in (XwiseNetSpec, ResNet3DSpec):
        for name, values in option_values(spec_class).items():
            for value in values or ():
                dataclasses.replace(spec_class(), **{name: value}).validate()
    for bad in ({"temporal_strides": (1, 3, 1, 1)}, {"width": 0.75}, {"depth": 101}):
        spec_class = ResNet3DSpec if "depth" in bad else XwiseNetSpec
        with pytest.raises(ValueError):
            dataclasses.replace(spec_class(), **bad).validate()


def test_covering_array_covers_every_value_and_pair():
    domains = {"a": (1, 2, 3), "b": ("x", "y"), "c": (None, "on"), "d": (True, False)}
    requires = {"d": {"c": ("on",)}}
    rows = covering_array(domains, requires)
    assert rows == covering_array(domains, requires)  # deterministic
    # At least 9: the 6 (a, d) pairs need c='on', the 3 (a, c=None) pairs 3 more rows.
    assert 9 <= len(rows) <= 10
    for a, b in itertools.combinations(domains, 2):
        for va, vb in itertools.product(domains[a], domains[b]):
            if (a, b, va) == ("c", "d", None):
                assert _feasible(a, va, b, vb, requires) is None  # d has no effect without c
                continue
            assert any(
                r[a] == va and r[b] == vb and all(_takes_effect(r, f, requires) for f in (a, b))
                for r in rows
            ), (a, va, b, vb)
    xwisenet = factors(XwiseNetSpec)
    rows = [r for n, r in ROWS if n == "xwisenet"]
    for factor, values in xwisenet.items():
        for conv_type, value in itertools.product(presets.CONV_TYPES, values):
            if factor != "conv_type" and (
                _feasible("conv_type", conv_type, factor, value, XWISENET_REQUIRES) is not None
            ):
                assert any(
                    r["conv_type"] == conv_type and _row_value(r, factor) == value for r in rows
                ), (conv_type, factor, value)
    assert len(ROWS) < 60, len(ROWS)  # the test's time budget


def _row_value(overrides: dict, factor: str):
    if factor.startswith("temporal_stride"):
        return overrides["temporal_strides"][int(factor[-1])]
    if factor.startswith("block_stage"):
        return int(factor[-1]) in overrides["block_stages"]
    return overrides[factor]


@pytest.fixture(scope="module")
def grid_results():
    """Builds and runs every row, then converts the `CONVERTED` rows' folded models in one
    converter call (one graph holding them all)."""
    if not ROWS:
        pytest.fail("the override grid lacks values for an option (see the test above)")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, *CLIP)).astype("float32")
    results, converted = {}, []
    inputs = keras.Input(CLIP, name="clips")
    for index, (name, overrides) in enumerate(ROWS):
        result = results[index] = {}
        try:
            folded_overrides = {**overrides, "implementation": "folded"}
            model = get_model(name, NUM_CLASSES, CLIP, None, **folded_overrides)
            _randomize_batch_norms(model, rng)
            result["keras"] = np.asarray(model(x, training=False))
            if overrides["implementation"] == "reference":
                reference = get_model(name, NUM_CLASSES, CLIP, None, **overrides)
                reference.set_weights(model.get_weights())
                result["reference"] = np.asarray(reference(x, training=False))
            if index in CONVERTED:
                wrapped = keras.Model(model.input, model.output, name=f"row{index}")
                converted.append((index, wrapped(inputs)))
        except Exception as error:  # reported by the row's own test
            result["error"] = f"{type(error).__name__}: {error}"
    outputs = keras.layers.Concatenate(name="rows")([out for _, out in converted])
    content = convert_to_tflite(keras.Model(inputs, outputs, name="override_grid"))
    tflite = run_tflite(content, x).reshape(len(converted), NUM_CLASSES)
    for (index, _), out in zip(converted, tflite, strict=True):
        results[index]["tflite"] = out
    return {"rows": results, "ops": tflite_op_names(content)}


def test_grid_converts_to_builtin_ops_only(grid_results):
    ops = grid_results["ops"]
    assert not [op for op in ops if op.startswith(NOT_BUILTIN)], ops
    assert "CONV_3D" not in ops and "MAX_POOL_3D" not in ops, ops
    assert "DEPTHWISE_CONV_2D" in ops


@pytest.mark.parametrize("index", range(len(ROWS)), ids=[_row_id(r) for r in ROWS])
def test_every_row_builds_runs_and_converts(index, grid_results):
    name, overrides = ROWS[index]
    result = grid_results["rows"][index]
    assert "error" not in result, f"get_model({name!r}, **{overrides}): {result.get('error')}"
    logits = result["keras"]
    assert logits.shape == (1, NUM_CLASSES)
    assert np.all(np.isfinite(logits)) and np.abs(logits).max() > 1e-3
    if "reference" in result:
        np.testing.assert_allclose(result["reference"], logits, rtol=1e-4, atol=1e-5)
    if index in CONVERTED:
        np.testing.assert_allclose(result["tflite"], logits[0], atol=1e-4, rtol=1e-4)


def test_temporal_stride_xconv_matches_reference_and_converts(rng):
    """Issue 13: X-Conv with temporal strides in the stages (folded DepthwiseConv3D with a
    (3, 1, 1) kernel and stride (2, 1, 1)) equals the grouped reference and converts."""
    overrides = {"width": 0.5, "stage_repeats": (1, 1, 1), "temporal_strides": (1, 2, 2, 2)}
    folded = get_model("xwisenet", NUM_CLASSES, CLIP, None, **overrides)
    _randomize_batch_norms(folded, rng)
    reference = get_model(
        "xwisenet", NUM_CLASSES, CLIP, None, implementation="reference", **overrides
    )
    reference.set_weights(folded.get_weights())
    x = rng.standard_normal((1, *CLIP)).astype("float32")
    expected = np.asarray(folded(x, training=False))
    assert np.abs(expected).max() > 0.1
    np.testing.assert_allclose(np.asarray(reference(x, training=False)), expected, atol=1e-5)
    content = convert_to_tflite(folded)
    ops = tflite_op_names(content)
    assert not [op for op in ops if op.startswith(NOT_BUILTIN)], ops
    np.testing.assert_allclose(run_tflite(content, x), expected, atol=1e-4, rtol=1e-4)
