"""Table I: eq. (1) on constructed inputs with known answers, and the SS block probe."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from xwisenet_tf.experiments.cosine import (
    SSProbe,
    average_cosine_similarity,
    frame_features,
    measure_similarity,
)


def _brute_force(frames: np.ndarray) -> float:
    n = len(frames)
    total = 0.0
    for i in range(n):
        for j in range(n):
            a, b = frames[i], frames[j]
            na, nb = np.linalg.norm(a), np.linalg.norm(b)
            total += 0.0 if na == 0 or nb == 0 else float(a @ b / (na * nb))
    return total / n**2


def test_identical_frames_give_one():
    frame = np.array([0.3, -1.0, 2.0, 5.0])
    assert average_cosine_similarity(np.tile(frame, (7, 1))) == pytest.approx(1.0)


def test_identical_directions_of_any_length_give_one():
    frames = np.outer([0.5, 1.0, 3.0, 100.0], [1.0, 2.0, -2.0])
    assert average_cosine_similarity(frames) == pytest.approx(1.0)


@pytest.mark.parametrize("n", [1, 2, 5, 16])
def test_orthogonal_frames_give_one_over_n(n):
    # Only the diagonal (i = j) terms are 1: eq. (1) includes them.
    assert average_cosine_similarity(np.eye(n) * 3.0) == pytest.approx(1.0 / n)


def test_opposite_frames_give_zero():
    x = np.array([1.0, 2.0, 3.0])
    assert average_cosine_similarity(np.stack([x, -x])) == pytest.approx(0.0)


def test_half_identical_half_orthogonal():
    # Frames a, a, b, b with a _|_ b: 8 of the 16 pairs have cos 1 -> 0.5.
    a, b = np.array([1.0, 0.0]), np.array([0.0, 4.0])
    assert average_cosine_similarity(np.stack([a, a, b, b])) == pytest.approx(0.5)


def test_known_angle():
    # Two frames at 60 degrees: (1 + 1 + 2 cos 60) / 4 = 0.75.
    a = np.array([1.0, 0.0])
    b = np.array([np.cos(np.pi / 3), np.sin(np.pi / 3)])
    assert average_cosine_similarity(np.stack([a, b])) == pytest.approx(0.75)


def test_zero_frame_has_no_direction():
    frames = np.array([[1.0, 0.0], [0.0, 0.0]])
    assert average_cosine_similarity(frames) == pytest.approx(0.25)


def test_matches_the_double_sum_and_batches(rng):
    clips = rng.normal(size=(3, 6, 10))
    batched = average_cosine_similarity(clips)
    assert batched.shape == (3,)
    np.testing.assert_allclose(batched, [_brute_force(c) for c in clips], rtol=1e-12)
    nested = average_cosine_similarity(clips.reshape(1, 3, 6, 10))
    assert nested.shape == (1, 3)


def test_bad_shape():
    with pytest.raises(ValueError, match=r"\(\.\.\., N, D\)"):
        average_cosine_similarity(np.ones(4))


def test_frame_features(rng):
    x = rng.normal(size=(2, 4, 3, 5, 6))
    assert frame_features(x).shape == (2, 4, 90)
    np.testing.assert_allclose(frame_features(x, "mean"), x.mean(axis=(2, 3)))
    context = rng.normal(size=(2, 4, 6))
    assert frame_features(context) is not None and frame_features(context).shape == (2, 4, 6)
    with pytest.raises(ValueError, match="reduce"):
        frame_features(x, "max")


def _tiny_xwisenet():
    from xwisenet_tf.models import get_model

    return get_model("xwisenet", 6, (4, 32, 32, 3), width=0.5, stage_repeats=(1, 2, 1))


def test_probe_returns_the_blocks_input_context_and_output(rng):
    model = _tiny_xwisenet()
    # Non-zero C_c so that the blocks are not the identity.
    for block in SSProbe(model).blocks:
        for weight in block.weights:
            weight.assign(rng.normal(scale=0.3, size=weight.shape).astype("float32"))
    clips = rng.normal(size=(2, 4, 32, 32, 3)).astype("float32")
    probe = SSProbe(model)
    assert [b.name for b in probe.blocks] == ["stage1_ss", "stage3_unit2_ss"]
    parts = probe(clips)
    for block in probe.blocks:
        reference = keras.Model(model.inputs[0], [block.input, block.output])
        x, y = (keras.ops.convert_to_numpy(t) for t in reference(clips))
        np.testing.assert_allclose(parts[block.name]["input"], x, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(parts[block.name]["output"], y, rtol=1e-4, atol=1e-4)
        batch, frames, _, _, channels = x.shape
        assert parts[block.name]["context"].shape == (batch, frames, channels)
        assert not np.allclose(x, y)


def test_new_ss_blocks_are_the_identity_so_input_and_output_agree(rng):
    # C_c is zero-initialised (GCNet): an untrained block returns its input.
    model = _tiny_xwisenet()
    clips = rng.normal(size=(3, 4, 32, 32, 3)).astype("float32")
    result = measure_similarity(model, [clips[:2], (clips[2:], None)])
    assert result["num_clips"] == 3
    assert set(result["blocks"]) == {"stage1_ss", "stage3_unit2_ss"}
    for values in result["blocks"].values():
        assert values["output"] == pytest.approx(values["input"], abs=1e-6)
        for value in values.values():
            assert -1.0 <= value <= 1.0
    # Post-ReLU, max-pooled features are non-negative: similarities in [1/N, 1].
    stem = result["blocks"]["stage1_ss"]
    assert 0.25 - 1e-6 <= stem["input"] <= 1.0
    mean = result["mean"]
    assert mean["input"] == pytest.approx(np.mean([v["input"] for v in result["blocks"].values()]))


def test_model_without_ss_block():
    from xwisenet_tf.models import get_model

    model = get_model("xwisenet", 6, (4, 32, 32, 3), width=0.5, stage_repeats=(1, 2, 1), block="gc")
    with pytest.raises(ValueError, match="no SS block"):
        SSProbe(model)
    with pytest.raises(ValueError, match="no SS block named"):
        SSProbe(_tiny_xwisenet(), ["stage9_ss"])
