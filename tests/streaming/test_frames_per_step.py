"""Several frames per step (issue 31, item 4): a step model of k frames gives, after each step,
the causal clip model's probabilities on every frame so far, in Keras and in TFLite; its
running mean takes in k frames as k one-frame steps would; `StreamingRecognizer` buffers them."""

import numpy as np
import pytest

from tests.streaming.test_step_model import SMALL, _causal_model, _randomise_statistics
from xwisenet_tf.export.stream import convert_step_model
from xwisenet_tf.layer_options import check_frames_per_step
from xwisenet_tf.layers.running_mean import RunningMean
from xwisenet_tf.streaming import StreamingRecognizer, build_step_model
from xwisenet_tf.tflite_runner import TFLiteRunner

FRAMES, SIZE = 8, 32


@pytest.fixture(scope="module")
def trained_like():
    rng = np.random.default_rng(3)
    clip_model = _causal_model(FRAMES, SIZE, SIZE, **SMALL)
    _randomise_statistics(clip_model, rng)
    clips = rng.standard_normal((2, FRAMES, SIZE, SIZE, 3)).astype("float32")
    return clip_model, clips


def _prefix_scores(clip_model, clips, seen):
    prefix = _causal_model(seen, SIZE, SIZE, **SMALL)
    prefix.set_weights(clip_model.get_weights())
    return np.asarray(prefix(clips[:, :seen]))


def _steps(step, run, clips):
    """``(t, probabilities (batch, classes))`` after each step, t its last frame."""
    k, state = step.frames_per_step, step.initial_state(len(clips))
    for start in range(0, clips.shape[1] - k + 1, k):
        frames = clips[:, start] if k == 1 else clips[:, start : start + k]
        outputs = run({"frame": frames, **state})
        state = {name: np.asarray(outputs[name]) for name in step.state_names}
        yield start + k, np.asarray(outputs["probabilities"])


@pytest.mark.parametrize("k", [1, 2, 4])
def test_keras_step_of_k_frames_equals_the_causal_clip_model(trained_like, k):
    clip_model, clips = trained_like
    step = build_step_model(clip_model, frames_per_step=k)
    assert step.frames_per_step == k
    assert step.frame_input_shape == ((SIZE, SIZE, 3) if k == 1 else (k, SIZE, SIZE, 3))
    checked = []
    for seen, probabilities in _steps(step, step.model, clips):
        expected = _prefix_scores(clip_model, clips, seen)
        np.testing.assert_allclose(probabilities, expected, atol=1e-5, rtol=0)
        checked.append(seen)
    assert checked == list(range(k, FRAMES + 1, k))


def test_one_frame_per_step_is_the_default_model(trained_like):
    """``frames_per_step=1`` builds today's step model: the same inputs, states and outputs,
    bit for bit."""
    clip_model, clips = trained_like
    default, one = build_step_model(clip_model), build_step_model(clip_model, frames_per_step=1)
    assert one.state_shapes == default.state_shapes and one.frame_input_shape == (SIZE, SIZE, 3)
    for (_, a), (_, b) in zip(
        default.stream(default.compiled(), clips[0]),
        one.stream(one.compiled(), clips[0]),
        strict=True,
    ):
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])


@pytest.mark.parametrize("k", [2, 4])
def test_steps_of_k_frames_keep_the_same_state_as_single_frames(trained_like, k):
    """With a half-life (which the clip model does not compute) the k-frame step model follows
    the one-frame step model: every state after frame t, within float rounding."""
    clip_model, clips = trained_like
    single = build_step_model(clip_model, half_life=1.5)
    several = build_step_model(clip_model, half_life=1.5, frames_per_step=k)
    assert several.state_shapes == single.state_shapes
    after = {
        (t + 1): outputs
        for t, (_, outputs) in enumerate(single.stream(single.compiled(), clips[0]))
    }
    for t, (_, outputs) in enumerate(several.stream(several.compiled(), clips[0]), start=1):
        expected = after[t * k]
        for name in ("probabilities", *several.state_names):
            np.testing.assert_allclose(outputs[name], expected[name], atol=1e-5, rtol=0)


@pytest.mark.parametrize("half_life", [None, 1.0, 2.5, 6.0])
@pytest.mark.parametrize("k", [2, 3, 5])
def test_running_mean_takes_k_frames_as_k_single_steps(half_life, k, rng):
    """The weights ``b_j = a_j prod_{i>j} (1 - a_i)`` (`RunningMean`): the same mean and count
    as k one-frame updates, through the switch from the cumulative to the exponential phase
    (after 1 / w frames: 1, 3 and 8 frames for these half-lives)."""
    layer = RunningMean(half_life)
    x = rng.standard_normal((2, 4 * k, 6)).astype("float32")
    mean, count = np.zeros((2, 6), "float32"), np.zeros((2, 1), "float32")
    singles = []
    for t in range(x.shape[1]):
        mean, count = (np.asarray(v) for v in layer([x[:, t], mean, count]))
        singles.append(mean)
    mean, count = np.zeros((2, 6), "float32"), np.zeros((2, 1), "float32")
    for start in range(0, x.shape[1], k):
        mean, count = (np.asarray(v) for v in layer([x[:, start : start + k], mean, count]))
        np.testing.assert_allclose(mean, singles[start + k - 1], atol=1e-6, rtol=0)
        assert (count == start + k).all()
    assert layer.compute_output_shape([(2, k, 6), (2, 6), (2, 1)]) == [(2, 6), (2, 1)]


@pytest.mark.parametrize("k", [2, 4])
def test_float_tflite_step_of_k_frames_equals_the_clip_model(trained_like, k):
    clip_model, clips = trained_like
    step = build_step_model(clip_model, frames_per_step=k)
    runner = TFLiteRunner(convert_step_model(step), num_threads=2)
    signature = runner.interpreter.get_signature_runner()
    assert tuple(signature.get_input_details()["frame"]["shape"]) == (1, k, SIZE, SIZE, 3)
    for seen, (_, outputs) in zip(
        range(k, FRAMES + 1, k),
        step.stream(lambda x: runner.run_signature(**x), clips[0]),
        strict=True,
    ):
        expected = _prefix_scores(clip_model, clips[:1], seen)[0]
        np.testing.assert_allclose(outputs["probabilities"][0], expected, atol=1e-4, rtol=0)


def test_float_tflite_step_of_k_frames_with_a_half_life_follows_single_frames(trained_like):
    """The exponential average's k-frame weights (a REDUCE_PROD in TFLite) give in LiteRT what
    the Keras one-frame step model gives after the same frames."""
    clip_model, clips = trained_like
    single = build_step_model(clip_model, half_life=1.5)
    step = build_step_model(clip_model, half_life=1.5, frames_per_step=4)
    runner = TFLiteRunner(convert_step_model(step), num_threads=2)
    expected = [out for _, out in single.stream(single.compiled(), clips[1])]
    run = lambda inputs: runner.run_signature(**inputs)  # noqa: E731
    for t, (_, outputs) in enumerate(step.stream(run, clips[1]), start=1):
        for name in ("probabilities", "head_mean", "frames_seen"):
            np.testing.assert_allclose(outputs[name], expected[4 * t - 1][name], atol=1e-4)


def test_int8_tflite_step_of_k_frames_agrees(trained_like):
    clip_model, clips = trained_like
    step = build_step_model(clip_model, frames_per_step=4)
    content = convert_step_model(step, "int8", calibration_clips=clips)
    runner = TFLiteRunner(content, num_threads=2, fallback=True)
    run = lambda inputs: runner.run_signature(**inputs)  # noqa: E731
    finals = np.stack([list(step.stream(run, clip))[-1][1]["probabilities"][0] for clip in clips])
    last = [list(step.stream(run, clip))[-1][1]["frames_seen"][0, 0] for clip in clips]
    assert last == [FRAMES, FRAMES]
    # Random weights give near-uniform scores; the int8 model stays close to them in value.
    assert np.abs(finals - np.asarray(clip_model(clips))).max() < 0.08


def test_recognizer_buffers_k_frames_and_returns_the_last_steps_probabilities(trained_like):
    """A live display gets, after every push, the newest probabilities there are: ``None``
    before the first step, then those after the last step's last frame until the next step."""
    clip_model, clips = trained_like
    recognizer = StreamingRecognizer.from_model(clip_model, None, 0.0, 1.0, frames_per_step=4)
    assert recognizer.frames_per_step == 4
    got = [recognizer.push(clips[0, t]) for t in range(FRAMES - 1)]
    assert got[:3] == [None, None, None]
    assert (recognizer.frames_seen, recognizer.frames_pending) == (4, 3)
    after_4 = _prefix_scores(clip_model, clips[:1], 4)[0]
    for t in (3, 4, 5, 6):
        np.testing.assert_allclose(got[t], after_4, atol=1e-5)
    last = recognizer.push(clips[0, FRAMES - 1])
    assert (recognizer.frames_seen, recognizer.frames_pending) == (FRAMES, 0)
    np.testing.assert_allclose(last, np.asarray(clip_model(clips[:1]))[0], atol=1e-5)
    recognizer.push(clips[1, 0])
    recognizer.reset()
    assert recognizer.frames_pending == 0 and recognizer.probabilities is None
    assert [recognizer.push(clips[1, t]) is None for t in range(4)] == [True] * 3 + [False]


def test_recognizer_runs_a_tflite_step_export_with_its_frames_per_step(trained_like, tmp_path):
    from xwisenet_tf.training.errors import TrainingError
    from xwisenet_tf.training.model_metadata import add_tflite_metadata

    clip_model, clips = trained_like
    step = build_step_model(clip_model, frames_per_step=2)
    metadata = {
        "class_names": list("abcde"),
        "input": {"mean_rgb": [0.0] * 3, "std_rgb": [1.0] * 3},  # the clips are normalised
        "export": {"frames_per_step": 2},
    }
    path = tmp_path / "step2.tflite"
    path.write_bytes(add_tflite_metadata(convert_step_model(step), metadata))
    recognizer = StreamingRecognizer.from_file(path, num_threads=1)
    assert recognizer.frames_per_step == 2 and recognizer.frame_shape == (SIZE, SIZE, 3)
    for t in range(FRAMES):
        probabilities = recognizer.push(clips[0, t])
    np.testing.assert_allclose(probabilities, np.asarray(clip_model(clips[:1]))[0], atol=1e-4)
    assert StreamingRecognizer.from_file(path, frames_per_step=2).frames_per_step == 2
    with pytest.raises(TrainingError, match="--stream_frames_per_step=4"):
        StreamingRecognizer.from_file(path, frames_per_step=4)


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2", None])
def test_frames_per_step_must_be_a_positive_int(bad):
    with pytest.raises(ValueError, match="Received: frames_per_step="):
        check_frames_per_step(bad)
    assert check_frames_per_step(np.int64(3)) == 3


def test_step_of_k_frames_refuses_another_number_of_frames(trained_like):
    clip_model, clips = trained_like
    step = build_step_model(clip_model, frames_per_step=2)
    with pytest.raises(ValueError, match="a step takes 2 frames"):
        step.frame_input(clips[0, :3])
    assert step.frame_input(clips[0, :2]).shape == (1, 2, SIZE, SIZE, 3)
