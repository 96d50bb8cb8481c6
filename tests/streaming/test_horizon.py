"""Issue item 3: a stream with a half-life follows a change of action (walking, then boxing)
within `FOLLOW_HALF_LIVES` half-lives, in Keras and in the TFLite step export; the cumulative
mean stays as it was."""

import keras
import numpy as np
import pytest

from tests.streaming.test_step_model import _randomise_statistics
from xwisenet_tf.data.pipeline import MEAN_RGB, STD_RGB
from xwisenet_tf.data.synthetic import render_video
from xwisenet_tf.layer_options import check_half_life, ema_weight
from xwisenet_tf.layers import RunningMean
from xwisenet_tf.models import get_model
from xwisenet_tf.streaming import FOLLOW_HALF_LIVES, StreamingRecognizer, build_step_model
from xwisenet_tf.training.errors import TrainingError

HALF_LIFE = 4.0
WALKING, BOXING = 32, 24  # frames of each action, walking first
TINY = {"width": 0.5, "stage_repeats": (1, 1, 1)}
LABELS = ["walking", "boxing"]


def _running_mean(layer, frames):
    """`layer` over ``frames`` ``(T, 1, C)`` from the zero state: the mean after each frame."""
    mean, count = np.zeros_like(frames[0]), np.zeros((1, 1), "float32")
    means = []
    for x in frames:
        mean, count = (np.asarray(v) for v in layer([x, mean, count]))
        means.append(mean[0])
    return np.stack(means), count


def test_exponential_mean_forgets_the_old_value_by_half_every_half_life():
    h, switch, after = 4.0, 20, 12
    old, new = np.full((1, 3), 2.0, "float32"), np.full((1, 3), -1.0, "float32")
    frames = np.stack([old] * switch + [new] * after)
    means, count = _running_mean(RunningMean(half_life=h), frames)
    assert count[0, 0] == switch + after
    k = np.arange(1, after + 1)[:, None]
    # After the warm-up (1 / w = 6.3 frames here) the old value's weight halves every h frames.
    np.testing.assert_allclose(means[switch:], new + (old - new) * 2.0 ** (-k / h), atol=1e-5)
    np.testing.assert_allclose(means[:switch], np.broadcast_to(old, (switch, 3)), atol=1e-6)


def test_exponential_mean_starts_as_the_cumulative_mean():
    frames = np.random.default_rng(0).standard_normal((10, 1, 5)).astype("float32")
    weight = ema_weight(HALF_LIFE)
    warm_up = int(1 / weight)  # frames whose 1 / count is above the weight
    ema, _ = _running_mean(RunningMean(half_life=HALF_LIFE), frames)
    cumulative, _ = _running_mean(RunningMean(), frames)
    np.testing.assert_allclose(ema[:warm_up], cumulative[:warm_up], atol=1e-6)
    mean_so_far = np.cumsum(frames[:, 0], 0) / np.arange(1, 11)[:, None]
    np.testing.assert_allclose(cumulative, mean_so_far, atol=1e-6)
    expected = ema[warm_up - 1] + (frames[warm_up, 0] - ema[warm_up - 1]) * weight
    np.testing.assert_allclose(ema[warm_up], expected, atol=1e-6)


def test_running_mean_config_and_half_life_checks():
    layer = RunningMean(half_life=8, name="mean")
    assert layer.get_config()["half_life"] == 8.0
    assert RunningMean.from_config(layer.get_config()).half_life == 8.0
    assert RunningMean(half_life=0).half_life is None and RunningMean().half_life is None
    for bad in (-1, float("inf"), "soon", True):
        with pytest.raises(ValueError, match="Received: half_life="):
            RunningMean(half_life=bad)
    assert check_half_life(None) is None and check_half_life(2) == 2.0
    assert ema_weight(1.0) == 0.5


@pytest.fixture(scope="module")
def walking_then_boxing():
    """A tiny causal XwiseNet whose classifier is the midpoint between the mean per-frame
    features of a walking and a boxing video (equal margins, about 6 logits, on each), and the
    two videos one after the other."""
    keras.utils.set_random_seed(0)
    model = get_model("xwisenet-stream", 2, (8, 32, 32, 3), **TINY)
    _randomise_statistics(model, np.random.default_rng(1))
    walking = render_video("walking", np.random.default_rng(2), WALKING)
    boxing = render_video("boxing", np.random.default_rng(3), BOXING)
    recognizer = StreamingRecognizer.from_model(model, LABELS)
    features = []
    for video in (walking, boxing):
        recognizer.reset()
        for frame in video:
            recognizer.push(frame)
        features.append(recognizer._state["head_mean"][0].astype("float64"))
    difference, middle = features[0] - features[1], (features[0] + features[1]) / 2
    scale = 6.0 / (difference @ difference)  # the margin of each mean over the midpoint
    kernel = np.stack([difference, -difference], 1) * scale
    bias = np.array([-difference @ middle, difference @ middle]) * scale
    model.get_layer("predictions").set_weights([kernel.astype("float32"), bias.astype("float32")])
    return model, np.concatenate([walking, boxing])


def _labels(recognizer, video):
    return [LABELS[int(np.argmax(recognizer.push(frame)))] for frame in video]


def _frames_to_follow(labels):
    """After the cut: how many boxing frames until the label is boxing for good (None: never)."""
    after = labels[WALKING:]
    return next((k + 1 for k in range(len(after)) if set(after[k:]) == {"boxing"}), None)


def test_keras_stream_follows_a_change_of_action_within_two_half_lives(walking_then_boxing):
    model, video = walking_then_boxing
    labels = _labels(StreamingRecognizer.from_model(model, LABELS, half_life=HALF_LIFE), video)
    assert set(labels[:WALKING]) == {"walking"}
    frames = _frames_to_follow(labels)
    # h frames once the features are boxing's (equal margins), which takes the causal kernels
    # a few frames: 6 measured.
    assert HALF_LIFE < frames <= FOLLOW_HALF_LIVES * HALF_LIFE, labels
    cumulative = _labels(StreamingRecognizer.from_model(model, LABELS), video)
    assert set(cumulative) == {"walking"}  # 24 frames of boxing after 32 of walking: not yet


def test_tflite_step_export_follows_the_change_as_keras(walking_then_boxing, tmp_path):
    from xwisenet_tf.export.stream import convert_step_model
    from xwisenet_tf.training.model_metadata import add_tflite_metadata

    model, video = walking_then_boxing
    step = build_step_model(model, HALF_LIFE)
    path = tmp_path / "step.tflite"
    metadata = {"class_names": LABELS, "export": {"half_life": step.half_life}}
    path.write_bytes(add_tflite_metadata(convert_step_model(step), metadata))
    recognizer = StreamingRecognizer.from_file(path, num_threads=1)
    assert recognizer.half_life == HALF_LIFE and recognizer.class_names == LABELS
    np.testing.assert_allclose(recognizer.mean, MEAN_RGB)
    np.testing.assert_allclose(recognizer.std, STD_RGB)
    labels = _labels(recognizer, video)
    keras_labels = _labels(
        StreamingRecognizer.from_model(model, LABELS, half_life=HALF_LIFE), video
    )
    assert labels == keras_labels
    assert _frames_to_follow(labels) <= FOLLOW_HALF_LIVES * HALF_LIFE
    assert StreamingRecognizer.from_file(path, half_life=4).half_life == HALF_LIFE
    with pytest.raises(TrainingError, match="a half-life of 4 frames, a constant of its graph"):
        StreamingRecognizer.from_file(path, half_life=0)
    with pytest.raises(TrainingError, match="--stream_half_life=8"):
        StreamingRecognizer.from_file(path, half_life=8)
