"""Issue 15's training path against the one before it: the same model, the same numbers.

The new path (the defaults) fuses each unit's channel shuffle with the next unit's channel split
(`ChannelShuffleSplit`) and runs the fused BatchNorm forward on rows; the old one
(`python -m xwisenet_tf.bench.training_speed`'s `old_path` and `build(..., path="old")`) is the
layer graph and BatchNorm view before. Same weights and names, same outputs and gradients.
"""

import keras
import numpy as np
import pytest

from xwisenet_tf.bench import training_speed
from xwisenet_tf.layers.shuffle import ChannelShuffle, ChannelShuffleSplit, ChannelSplit
from xwisenet_tf.models import resolve_spec
from xwisenet_tf.models.xwisenet import build_xwisenet

CLIP = (4, 32, 32, 3)
TINY = {"width": 0.5, "stage_repeats": (1, 3, 1), "dropout": 0.0}


@pytest.mark.parametrize("training", [True, False])
def test_channel_shuffle_split_is_shuffle_then_split(training, rng):
    import tensorflow as tf

    x = tf.constant(rng.standard_normal((2, 3, 4, 5, 12)).astype("float32"))
    probes = [tf.constant(rng.standard_normal((2, 3, 4, 5, 6)).astype("float32")) for _ in "ab"]
    results = []
    for layers in ([ChannelShuffleSplit()], [ChannelShuffle(2), ChannelSplit()]):
        with tf.GradientTape() as tape:
            tape.watch(x)
            halves = x
            for layer in layers:
                halves = layer(halves, training=training)
            loss = sum(tf.reduce_sum(h * p) for h, p in zip(halves, probes, strict=True))
        results.append([*halves, tape.gradient(loss, x)])
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    first, second = (np.asarray(h)[0, 0, 0, 0] for h in results[0][:2])
    channels = np.asarray(x)[0, 0, 0, 0]
    np.testing.assert_array_equal(first, channels[[0, 6, 1, 7, 2, 8]])  # 2i + g <- g * 6 + i
    np.testing.assert_array_equal(second, channels[[3, 9, 4, 10, 5, 11]])


def test_channel_shuffle_split_layer_contract():
    layer = ChannelShuffleSplit(name="shuffle")
    assert [tuple(s) for s in layer.compute_output_shape((2, 3, 4, 4, 8))] == [(2, 3, 4, 4, 4)] * 2
    clone = ChannelShuffleSplit.from_config(layer.get_config())
    assert clone.name == "shuffle"
    with pytest.raises(ValueError, match="divisible by 4"):
        ChannelShuffleSplit()(np.zeros((1, 1, 1, 1, 6), "float32"))
    inputs = keras.Input((2, 3, 3, 8))
    left, right = ChannelShuffleSplit()(inputs)
    assert tuple(left.shape) == tuple(right.shape) == (None, 2, 3, 3, 4)


def _pair(preset: str, **overrides):
    """The old and the new training graph of one preset, with the same weights."""
    if preset == "shufflenet3d-1.0x":
        overrides.pop("width", None)
    spec = resolve_spec(preset, **overrides)
    models = {}
    for path in training_speed.PATHS:
        keras.utils.set_random_seed(0)
        models[path] = build_xwisenet(spec, 5, CLIP, fuse_shuffle_split=path == "new")
    models["new"].set_weights(models["old"].get_weights())
    return models


def _outputs_and_gradients(model, path, x, probe, context=None):
    import tensorflow as tf

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            y = model(x, training=True)
            loss = tf.reduce_sum(y * probe)
        return [y, *tape.gradient(loss, model.trainable_weights)]

    with context or training_speed.path_context(path):  # read when the step is traced
        step.get_concrete_function(x)
    return [np.asarray(t) for t in step(x)]


CASES = [
    ("xwisenet", {}),
    ("xwisenet", {"block_position": "after_pointwise"}),
    ("xwisenet", {"block_position": "after_shuffle"}),  # no fusion: the block needs the shuffle
    ("xwisenet-simple", {}),
    ("shufflenet3d-1.0x", {}),  # DW-Conv, PyTorch padding, width 1.0 (116 channels)
    ("xwisenet-stream", {}),  # causal
]


@pytest.mark.parametrize("preset,overrides", CASES)
def test_fused_shuffle_split_graph_is_exact(preset, overrides, rng):
    """The layer graphs alone (the same BatchNorm path): data movement only, equal bits."""
    import contextlib

    import tensorflow as tf

    models = _pair(preset, **{**TINY, **overrides})
    assert [w.path for w in models["new"].weights] == [w.path for w in models["old"].weights]
    x = tf.constant(rng.standard_normal((4, *CLIP)).astype("float32"))
    probe = tf.constant(rng.standard_normal((4, 5)).astype("float32"))
    new, old = (
        _outputs_and_gradients(models[p], p, x, probe, contextlib.nullcontext())
        for p in ("new", "old")
    )
    for a, b in zip(new, old, strict=True):
        np.testing.assert_array_equal(a, b)
    for training in (False, True):
        np.testing.assert_array_equal(
            models["new"](x, training=training), models["old"](x, training=training)
        )


@pytest.mark.parametrize("preset,overrides", CASES)
def test_old_and_new_paths_give_the_same_outputs_and_gradients(preset, overrides, rng):
    """Both changes: equal up to float rounding (oneDNN's forward BatchNorm kernel sums in
    another order on the rows view; ~25 BatchNorms in a row amplify that to ~1e-5)."""
    import tensorflow as tf

    models = _pair(preset, **{**TINY, **overrides})
    x = tf.constant(rng.standard_normal((4, *CLIP)).astype("float32"))
    probe = tf.constant(rng.standard_normal((4, 5)).astype("float32"))
    new, old = (_outputs_and_gradients(models[p], p, x, probe) for p in ("new", "old"))
    np.testing.assert_allclose(new[0], old[0], atol=5e-5)  # class probabilities
    scale = max(float(np.abs(g).max()) for g in old[1:])
    for a, b in zip(new[1:], old[1:], strict=True):
        np.testing.assert_allclose(a, b, atol=1e-3 * scale)


def test_fused_graph_replaces_split_layers_only():
    models = _pair("xwisenet", **TINY)
    names = {p: [layer.name for layer in m.layers] for p, m in models.items()}
    removed = set(names["old"]) - set(names["new"])
    assert set(names["new"]) <= set(names["old"])
    # Every Same Unit's split is done by the unit before it.
    assert removed == {
        f"stage{s}_unit{u}_split"
        for s, n in zip((2, 3, 4), (1, 3, 1), strict=True)
        for u in range(2, n + 1)
    }
    shuffles = [layer for layer in models["new"].layers if layer.name.endswith("_shuffle")]
    assert {type(layer).__name__ for layer in shuffles} == {"ChannelShuffle", "ChannelShuffleSplit"}
    assert type(models["new"].get_layer("stage4_unit1_shuffle")) is ChannelShuffle  # the last


def test_checkpoints_load_across_the_two_graphs(tmp_path, rng):
    models = _pair("xwisenet", **TINY)
    x = rng.standard_normal((2, *CLIP)).astype("float32")
    for source, target in (("old", "new"), ("new", "old")):
        for weight in models[source].weights:
            weight.assign(rng.standard_normal(weight.shape).astype("float32") * 0.1 + 0.5)
        path = str(tmp_path / f"{source}.weights.h5")
        models[source].save_weights(path)
        models[target].load_weights(path)
        np.testing.assert_allclose(
            models[target].predict(x, verbose=0), models[source].predict(x, verbose=0), atol=1e-6
        )
    saved = tmp_path / "new.keras"
    models["new"].save(saved)
    loaded = keras.models.load_model(saved)  # safe_mode: ChannelShuffleSplit is registered
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), models["new"].predict(x, verbose=0), atol=1e-6
    )


def test_training_speed_bench_runs_both_paths():
    result = training_speed.measure(
        "xwisenet-small",
        batch=2,
        frames=2,
        size=32,
        num_classes=3,
        rounds=1,
        warmup=1,
        log=lambda _: None,
    )
    assert set(result["clips_per_s"]) == {"old", "new"}
    assert result["speedup_new_over_old"]["rounds"] == 1
    first = result["first_step_loss"]
    assert abs(first["old"] - first["new"]) < 1e-5 * max(1.0, abs(first["old"]))
    assert result["machine"]["cpu"]
    assert result["dense_peak_gmacs_per_s"] > 0 and result["mac_bound_clips_per_s"] > 0
    text = training_speed.report(result)
    assert "new / old clips/s" in text and "MAC-bound limit" in text
