"""The step model in TFLite (float and int8) and `StreamingRecognizer` on Keras and TFLite."""

import numpy as np
import pytest

from tests.streaming.test_step_model import SMALL, _causal_model, _randomise_statistics
from xwisenet_tf.export.stream import convert_step_model
from xwisenet_tf.export.tflite import non_builtin_ops, tflite_op_names
from xwisenet_tf.streaming import StreamingRecognizer, build_step_model
from xwisenet_tf.tflite_runner import TFLiteRunner

FRAMES, SIZE = 6, 32


@pytest.fixture(scope="module")
def trained_like():
    rng = np.random.default_rng(1)
    clip_model = _causal_model(FRAMES, SIZE, SIZE, **SMALL)
    _randomise_statistics(clip_model, rng)
    clips = rng.standard_normal((3, FRAMES, SIZE, SIZE, 3)).astype("float32")
    return clip_model, build_step_model(clip_model), clips


def _prefix_scores(clip_model, clips, seen):
    prefix = _causal_model(seen, SIZE, SIZE, **SMALL)
    prefix.set_weights(clip_model.get_weights())
    return np.asarray(prefix(clips[:, :seen]))


def test_float_tflite_step_equals_the_clip_model_frame_by_frame(trained_like):
    clip_model, step, clips = trained_like
    content = convert_step_model(step)
    assert not non_builtin_ops(content)
    runner = TFLiteRunner(content, num_threads=2)
    names = runner.interpreter.get_signature_list()["serving_default"]
    assert set(names["inputs"]) == {"frame", *step.state_names}
    assert set(names["outputs"]) == {"probabilities", *step.state_names}
    for index, clip in enumerate(clips):
        run = lambda inputs: runner.run_signature(**inputs)  # noqa: E731
        for seen, (_, outputs) in enumerate(step.stream(run, clip), start=1):
            if seen in (1, 3, FRAMES):
                expected = _prefix_scores(clip_model, clip[None], seen)[0]
                np.testing.assert_allclose(outputs["probabilities"][0], expected, atol=1e-4)
        assert index < 3


def test_int8_tflite_step_is_full_integer_and_agrees(trained_like):
    clip_model, step, clips = trained_like
    content = convert_step_model(step, "int8", calibration_clips=clips)
    ops = tflite_op_names(content)
    assert not non_builtin_ops(content)
    assert "CONV_2D" in ops and "DEPTHWISE_CONV_2D" in ops
    runner = TFLiteRunner(content, num_threads=2, fallback=True)
    run = lambda inputs: runner.run_signature(**inputs)  # noqa: E731
    expected = np.asarray(clip_model(clips))
    finals = np.stack([list(step.stream(run, clip))[-1][1]["probabilities"][0] for clip in clips])
    # Random weights give near-uniform scores; the int8 model stays close to them in value.
    assert np.abs(finals - expected).max() < 0.08


def test_int8_step_keeps_its_count_and_mean_in_float_past_the_calibration_clips(trained_like):
    """Calibrated on 6-frame clips, an int8 count stopped at 6 (and the mean's 1 / count with
    it); the running mean's arithmetic stays in float (`convert_int8`'s ``float_outputs``)."""
    clip_model, _, clips = trained_like
    step = build_step_model(clip_model, half_life=3)
    content = convert_step_model(step, "int8", calibration_clips=clips)
    runner = TFLiteRunner(content, num_threads=1, fallback=True)
    run = lambda inputs: runner.run_signature(**inputs)  # noqa: E731
    frames = np.concatenate([clips[0], clips[1], clips[2]])  # 18 frames
    *_, (_, last) = step.stream(run, frames)
    *_, (_, expected) = step.stream(step.compiled(), frames)
    assert last["frames_seen"][0, 0] == len(frames)
    assert (
        np.abs(last["head_mean"] - expected["head_mean"]).max()
        < 0.1 * np.abs(expected["head_mean"]).max()
    )


def test_recognizer_push_gives_the_step_probabilities_and_resets(trained_like):
    clip_model, step, clips = trained_like
    recognizer = StreamingRecognizer.from_model(clip_model, ["a", "b", "c", "d", "e"], 0.0, 1.0)
    for t in range(FRAMES):
        probabilities = recognizer.push(clips[0, t])
    assert recognizer.frames_seen == FRAMES
    np.testing.assert_allclose(probabilities, np.asarray(clip_model(clips[:1]))[0], atol=1e-5)
    assert [name for name, _ in recognizer.top_k(5)] == [
        "abcde"[i] for i in np.argsort(-probabilities)
    ]
    recognizer.reset()
    assert recognizer.frames_seen == 0 and recognizer.top_k() == []
    first = recognizer.push(clips[1, 0])
    np.testing.assert_allclose(first, _prefix_scores(clip_model, clips[1:2], 1)[0], atol=1e-5)


def test_recognizer_crops_and_resizes_a_frame_of_any_size(trained_like):
    clip_model, _, _ = trained_like
    recognizer = StreamingRecognizer.from_model(clip_model, None, 0.0, 1.0)
    wide = np.random.default_rng(2).integers(0, 256, (48, 80, 3)).astype("uint8")
    direct = recognizer.push(wide)
    recognizer.reset()
    import tensorflow as tf

    centre = tf.image.resize(wide[:, 16:64].astype("float32"), (SIZE, SIZE)).numpy()
    np.testing.assert_allclose(recognizer.push(centre), direct, atol=1e-6)
    with pytest.raises(ValueError, match=r"\(height, width, 3\)"):
        recognizer.push(np.zeros((32, 32)))
