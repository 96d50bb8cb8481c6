"""The step model of a causal XwiseNet gives, frame by frame, the clip model's probabilities."""

import numpy as np
import pytest

from xwisenet_tf.models import get_model, resolve_spec
from xwisenet_tf.streaming import NotCausalError, build_step_model, clip_macs_per_frame

# Small but complete: a Downsample and a Same Unit (with its SS block) in stage 3.
SMALL = {"width": 0.5, "stage_repeats": (1, 2, 1)}


def _causal_model(frames, height, image_width, **options):
    return get_model("xwisenet-stream", 5, input_shape=(frames, height, image_width, 3), **options)


def _randomise_statistics(model, rng):
    """BatchNorm statistics and the zero-initialised SS transforms away from their defaults,
    so that a wrong state or a frame mixed up would show."""
    for weight in model.weights:
        path = weight.path
        if "moving_variance" in path:
            weight.assign(rng.uniform(0.5, 2.0, weight.shape).astype("float32"))
        elif any(key in path for key in ("moving_mean", "beta", "transform_expand")):
            weight.assign(rng.normal(0.0, 0.5, weight.shape).astype("float32"))


def _stream(step, clips):
    state = step.initial_state(len(clips))
    for t in range(clips.shape[1]):
        outputs = step.model({"frame": clips[:, t], **state})
        state = {name: np.asarray(outputs[name]) for name in step.state_names}
        yield t + 1, np.asarray(outputs["probabilities"])


@pytest.mark.parametrize("frames,height,width", [(6, 32, 32), (5, 40, 24)])
def test_step_model_equals_the_causal_clip_model_on_the_frames_so_far(frames, height, width, rng):
    clip_model = _causal_model(frames, height, width, **SMALL)
    _randomise_statistics(clip_model, rng)
    step = build_step_model(clip_model)
    clips = rng.standard_normal((2, frames, height, width, 3)).astype("float32")
    checked = 0
    for seen, probabilities in _stream(step, clips):
        if seen not in (1, 2, 3, frames):
            continue
        prefix_model = _causal_model(seen, height, width, **SMALL)
        prefix_model.set_weights(clip_model.get_weights())
        expected = np.asarray(prefix_model(clips[:, :seen]))
        np.testing.assert_allclose(probabilities, expected, atol=1e-5, rtol=0)
        checked += 1
    assert checked == 4


def test_causal_clip_model_ignores_future_frames(rng):
    model = _causal_model(6, 32, 32, **SMALL)
    _randomise_statistics(model, rng)
    clips = rng.standard_normal((1, 6, 32, 32, 3)).astype("float32")
    prefix_model = _causal_model(4, 32, 32, **SMALL)
    prefix_model.set_weights(model.get_weights())
    full = np.asarray(model(clips))
    assert np.abs(full - np.asarray(prefix_model(clips[:, :4]))).max() > 1e-4  # frames 5-6 count


def test_step_state_names_and_initial_state():
    step = build_step_model(_causal_model(4, 32, 32, **SMALL))
    assert step.state_names[:2] == ["stem_conv_state", "stem_pool_state"]
    assert step.state_shapes["stem_conv_state"] == (2, 32, 32, 3)  # d - 1 = 2 past frames
    assert step.state_shapes["head_mean"] == (1024,)
    assert step.state_shapes["frames_seen"] == (1,)
    assert set(step.model.input) == {"frame", *step.state_names}
    assert set(step.model.output) == {"probabilities", *step.state_names}
    assert all(not v.any() for v in step.initial_state(3).values())


def test_a_frame_costs_one_sixteenth_of_a_clip():
    clip_model = _causal_model(16, 64, 64)  # the paper's xwisenet, causal
    step = build_step_model(clip_model)
    per_frame = clip_macs_per_frame(clip_model)
    # The classifier runs on every frame instead of once per clip: a fraction of a percent.
    assert per_frame <= step.macs_per_frame() <= 1.01 * per_frame


@pytest.mark.parametrize(
    "name,options,match",
    [
        ("xwisenet", {}, "not causal: layer 'stem_conv'"),
        ("xwisenet-simple", {}, "not causal"),
    ],
)
def test_a_model_that_sees_future_frames_is_refused(name, options, match):
    model = get_model(name, 3, input_shape=(4, 32, 32, 3), **options)
    with pytest.raises(NotCausalError, match=match) as error:
        build_step_model(model)
    assert "xwisenet-stream" in str(error.value)


@pytest.mark.parametrize(
    "options,match",
    [
        ({"temporal_strides": (2, 1, 1, 1)}, "temporal_strides=\\(1, 1, 1, 1\\)"),
        ({"block": "gc"}, "per-frame context"),
        ({"context_pooling": "temporal"}, "per-frame context"),
        ({"padding": "symmetric"}, "padding='same'"),
    ],
)
def test_causal_spec_refuses_what_cannot_run_frame_by_frame(options, match):
    with pytest.raises(ValueError, match=match):
        resolve_spec("xwisenet-stream", **options)
