"""From a causal clip model to its step model: new frames in, the probabilities so far out.

A causal XwiseNet (`XwiseNetSpec.causal`, the `xwisenet-stream` preset) computes frame t from
frames 1..t only. Its step model runs the same layers, with the same weights, on the k newest
frames (``frames_per_step``, 1 by default):

- every layer with a temporal kernel of d > 1 frames (stem conv, stem pool, the temporal
  depthwise conv of every X-Conv) keeps its d - 1 previous input frames as state, puts them in
  front of the k new frames and computes k output frames (`padding="stream"`,
  `layers/common.py`);
- the global average pool over time becomes a running mean over the frames seen
  (`layers.RunningMean`, which takes in k frames per step as k one-frame steps would);
- everything else (pointwise convs, BatchNorm, the SS blocks, whose context is one vector per
  frame, eq. (3)) works on the k frames as it works on the frames of a clip.

After a step whose last frame is t, the step model's probabilities are the clip model's on
frames 1..t. A step of k frames runs each of the model's ops once on k frames instead of k
times on one: a LiteRT step pays every op's fixed cost (about a thousand small ops for
`xwisenet-stream`) once per k frames, at the price of up to k - 1 frames of latency
(`StreamingRecognizer` buffers the frames of a step).

A live stream should rather follow a change of action: with a half-life h (`build_step_model`'s
``half_life``) the running mean becomes an exponential moving average of the per-frame
features, the cumulative mean for its first frames (see `RunningMean`), and the state stays one
vector and a count. The head (global pool, dropout and a Dense layer, sec. III-C) gives logits
affine in that average, so after a cut from action A to action B, once the per-frame features
are B's, B's share of the average is ``1 - 2^(-k/h)`` after k frames and the logit margin of B
over A is ``(1 - 2^(-k/h)) m_B - 2^(-k/h) m_A``, m_A and m_B being the margins of A's and B's
features on their own. The top label turns to B ``h log2(1 + m_A / m_B)`` frames after the
features have turned: h frames for equal margins, within `FOLLOW_HALF_LIVES` = 2 half-lives of
the cut while A's margin is at most 3 times B's and h is at least the L frames the features
take to turn (the causal temporal kernels still see A; L is about 3 for a one-unit-per-stage
model, 9 for `xwisenet-stream` at 112 px). `tests/streaming/test_horizon.py` measures it in
Keras and TFLite: 6 frames for h = 4. The cumulative mean, after c frames of A, needs
``c m_A / m_B`` frames: ten minutes of walking at 25 fps, 15,000 frames.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
from keras import ops

from xwisenet_tf.layer_options import check_frames_per_step, check_half_life
from xwisenet_tf.layers.context_blocks import CBAMBlock, GCBlock, SEBlock, SSBlock
from xwisenet_tf.layers.running_mean import RunningMean

FRAME = "frame"
PROBABILITIES = "probabilities"
FEATURE_MEAN = "head_mean"
FRAMES_SEEN = "frames_seen"
# With a half-life h, the top label follows a change of action within this many h (the
# module's docstring derives it).
FOLLOW_HALF_LIVES = 2


class NotCausalError(ValueError):
    """The model looks at future frames (or across the clip), so it cannot stream."""


@dataclasses.dataclass(frozen=True)
class StepModel:
    """A step model and what its caller needs to run it.

    Attributes:
        model: Keras model with dict inputs `{"frame": (H, W, 3), <state>: ...}` (`frame`
            `(k, H, W, 3)` with k = `frames_per_step` > 1) and dict outputs
            `{"probabilities": (num_classes,), <state>: ...}`; every state is an input and an
            output of the same name, the output to be fed back at the next step.
        state_shapes: per-sample shape of every state, by name, in the model's input order.
        frame_shape: `(height, width, channels)` of one frame.
        half_life: `None`: the probabilities are over every frame seen; else the half-life in
            frames of the exponential average over time (`RunningMean`).
        frames_per_step: k, the frames one step takes; its probabilities are those after the
            last of them.
    """

    model: keras.Model
    state_shapes: dict[str, tuple[int, ...]]
    frame_shape: tuple[int, int, int]
    half_life: float | None = None
    frames_per_step: int = 1

    @property
    def state_names(self) -> list[str]:
        return list(self.state_shapes)

    @property
    def frame_input_shape(self) -> tuple[int, ...]:
        """Per-sample shape of the ``frame`` input: `frame_shape`, with `frames_per_step` in
        front when it is above 1."""
        k = self.frames_per_step
        return self.frame_shape if k == 1 else (k, *self.frame_shape)

    def frame_input(self, frames: np.ndarray) -> np.ndarray:
        """The ``frame`` input (batch 1) of the step on ``frames`` ``(k, H, W, 3)``."""
        frames = np.asarray(frames, np.float32)
        if frames.shape != (self.frames_per_step, *self.frame_shape):
            raise ValueError(
                f"a step takes {self.frames_per_step} frames {self.frame_shape}; received "
                f"shape {frames.shape}"
            )
        return frames if self.frames_per_step == 1 else frames[None]

    def initial_state(self, batch_size: int = 1) -> dict[str, np.ndarray]:
        """The state before the first frame: zeros (the causal padding), no frame seen."""
        return {
            name: np.zeros((batch_size, *shape), "float32")
            for name, shape in self.state_shapes.items()
        }

    def compiled(self):
        """A compiled step (``tf.function``, batch 1): a dict of numpy inputs (``frame`` and
        every state) to a dict of numpy outputs."""
        import tensorflow as tf

        shapes = {FRAME: self.frame_input_shape, **self.state_shapes}
        specs = {name: tf.TensorSpec((1, *shape), tf.float32) for name, shape in shapes.items()}
        model = self.model
        concrete = tf.function(lambda inputs: model(inputs, training=False)).get_concrete_function(
            specs
        )

        def run(inputs: dict) -> dict:
            outputs = concrete({k: np.asarray(v, np.float32) for k, v in inputs.items()})
            return {k: np.asarray(v) for k, v in outputs.items()}

        return run

    def stream(self, run, frames: np.ndarray):
        """Feeds ``frames`` ``(T, H, W, 3)`` (normalised) `frames_per_step` at a time through
        ``run`` (`compiled`, or a TFLite signature) from the initial state; yields
        ``(inputs, outputs)`` per step, the outputs after frames k, 2k, ... (the last
        ``T mod k`` frames, too few for a step, are left out)."""
        state = self.initial_state(1)
        k = self.frames_per_step
        for start in range(0, len(frames) - k + 1, k):
            inputs = {FRAME: self.frame_input(frames[start : start + k]), **state}
            outputs = run(inputs)
            state = {name: outputs[name] for name in self.state_shapes}
            yield inputs, outputs

    def macs_per_frame(self) -> int:
        """Multiply-accumulates of one step per frame it takes, batch 1
        (`xwisenet_tf.layers.complexity`)."""
        from xwisenet_tf.layers.complexity import count_macs

        return count_macs(self.model) // self.frames_per_step


def build_step_model(
    clip_model: keras.Model, half_life: float | None = None, frames_per_step: int = 1
) -> StepModel:
    """The step model of a causal clip model, with a copy of its weights.

    The clip model's graph is run once on a k-frame symbolic input through Keras' functional
    graph runner (`_run_through_graph`, what `keras.models.clone_model` uses), each layer
    replaced by its streaming form; the tests of `tests/streaming` pin the result.

    Args:
        clip_model: A causal functional model (`xwisenet-stream`).
        half_life: `None` or 0: the average over time covers every frame since the stream
            began (the clip model's on frames 1..t); a number of frames h: an exponential
            moving average with half-life h, whose top label follows a change of action within
            `FOLLOW_HALF_LIVES` * h frames (the module's docstring).
        frames_per_step: k, the frames one step takes: 1 (frame by frame, a ``frame`` input
            `(H, W, 3)`) or more (a ``frame`` input `(k, H, W, 3)`, the probabilities after its
            last frame). Each op runs once per k frames, which in LiteRT spreads its fixed
            cost over k frames; a live stream waits up to k - 1 frames longer for them.

    Raises:
        NotCausalError: naming the first layer that looks at a future frame, strides in time
            or pools across the clip, and how to get a causal model instead.
        ValueError: a negative `half_life`, a `frames_per_step` below 1.
    """
    half_life = check_half_life(half_life)
    frames_per_step = check_frames_per_step(frames_per_step)
    if not isinstance(clip_model, keras.Model) or not hasattr(clip_model, "_run_through_graph"):
        raise NotCausalError("a streaming model is built from a functional Keras model")
    _check_causal(clip_model)
    _, height, width, channels = clip_model.input_shape[1:]
    if frames_per_step == 1:
        frame = keras.Input(shape=(height, width, channels), name=FRAME)
        clip = ops.expand_dims(frame, 1)  # one frame as a one-frame clip
    else:
        frame = keras.Input(shape=(frames_per_step, height, width, channels), name=FRAME)
        clip = frame
    wiring = _StepWiring(half_life)
    probabilities = clip_model._run_through_graph(clip, operation_fn=wiring.step_operation)
    outputs = {PROBABILITIES: _only(probabilities), **wiring.new_states}
    inputs = {FRAME: frame, **wiring.states}
    model = keras.Model(inputs, outputs, name=f"{clip_model.name}_step")
    shapes = {name: tuple(x.shape[1:]) for name, x in wiring.states.items()}
    return StepModel(model, shapes, (height, width, channels), half_life, frames_per_step)


def _only(outputs):
    flat = outputs if isinstance(outputs, list | tuple) else [outputs]
    if len(flat) != 1:
        raise NotCausalError(f"a streaming model needs one output; this one has {len(flat)}")
    return flat[0]


class _StepWiring:
    """Maps each operation of the clip model to its streaming form, collecting the states."""

    def __init__(self, half_life: float | None = None):
        self.half_life = half_life
        self.states: dict[str, keras.KerasTensor] = {}
        self.new_states: dict[str, keras.KerasTensor] = {}

    def step_operation(self, operation):
        if isinstance(operation, keras.layers.GlobalAveragePooling3D):
            return self._running_mean(operation)
        if getattr(operation, "padding", None) == "causal" and hasattr(
            operation, "stream_state_shapes"
        ):
            return self._stateful(operation)
        if isinstance(operation, keras.layers.Layer):
            return self._copied(operation)
        return operation

    @staticmethod
    def _copied(layer):
        # A copy, so that the step model owns its layers (each with its own input shape).
        copy = type(layer).from_config(layer.get_config())

        def call(*args, **kwargs):
            outputs = copy(*args, **kwargs)
            copy.set_weights(layer.get_weights())
            return outputs

        return call

    def _stateful(self, layer):
        config = {**layer.get_config(), "padding": "stream"}
        stream = type(layer).from_config(config)

        def call(x, **kwargs):
            names = []
            for i, shape in enumerate(stream.stream_state_shapes(x.shape)):
                names.append(f"{layer.name}_state" + (f"{i}" if i else ""))
                self.states[names[-1]] = keras.Input(shape=shape, name=names[-1])
            outputs = stream([x, *(self.states[n] for n in names)], **kwargs)
            stream.set_weights(layer.get_weights())
            for name, new_state in zip(names, outputs[1:], strict=True):
                self.new_states[name] = new_state
            return outputs[0]

        return call

    def _running_mean(self, layer):
        def call(x, **kwargs):
            if x.shape[1] == 1:
                spatial = keras.layers.GlobalAveragePooling3D(name=layer.name)(x)  # one frame
            else:
                spatial = ops.mean(x, axis=(2, 3))  # (batch, k, C): one vector per frame
            channels = spatial.shape[-1]
            mean = keras.Input(shape=(channels,), name=FEATURE_MEAN)
            seen = keras.Input(shape=(1,), name=FRAMES_SEEN)
            self.states[FEATURE_MEAN], self.states[FRAMES_SEEN] = mean, seen
            new_mean, new_seen = RunningMean(self.half_life, name=f"{layer.name}_running_mean")(
                [spatial, mean, seen]
            )
            self.new_states[FEATURE_MEAN], self.new_states[FRAMES_SEEN] = new_mean, new_seen
            return new_mean

        return call


def _check_causal(model: keras.Model) -> None:
    """Raises NotCausalError at the first layer that does not work frame by frame."""
    advice = (
        "Train a causal model to stream: `python train.py --model=xwisenet-stream` "
        "(or `causal=True` in the model options)."
    )
    for layer in _all_layers(model):
        name = f"layer '{layer.name}' ({type(layer).__name__})"
        window = getattr(layer, "kernel_size", None) or getattr(layer, "pool_size", None)
        padding = getattr(layer, "padding", None)
        if isinstance(window, tuple) and len(window) == 3 and window[0] > 1:
            if padding != "causal":
                raise NotCausalError(
                    f"the model is not causal: {name} has a temporal window of {window[0]} "
                    f"frames with padding {padding!r}, so it looks at future frames. {advice}"
                )
        strides = getattr(layer, "strides", None)
        if isinstance(strides, tuple) and len(strides) == 3 and strides[0] > 1:
            raise NotCausalError(
                f"{name} strides {strides[0]} frames in time; a streaming model keeps every "
                f"frame. {advice}"
            )
        if isinstance(layer, GCBlock | SEBlock | CBAMBlock) or (
            isinstance(layer, SSBlock) and layer.context_pooling != "channel"
        ):
            raise NotCausalError(
                f"{name} pools its context over the whole clip; only the SS block with "
                f"per-frame context (context_pooling='channel') streams. {advice}"
            )
        if isinstance(
            layer, keras.layers.MaxPooling3D | keras.layers.AveragePooling3D | keras.layers.Conv3D
        ):
            raise NotCausalError(f"{name} is not one of this package's causal layers. {advice}")
    if not any(isinstance(x, keras.layers.GlobalAveragePooling3D) for x in model.layers):
        raise NotCausalError(
            "a streaming model needs the clip's global average pool over time "
            "(GlobalAveragePooling3D) before its classifier"
        )


def _all_layers(model):
    """Every layer, with the inner convolutions of the conv stacks."""
    for layer in model.layers:
        yield layer
        yield from getattr(layer, "convs", [])


def clip_macs_per_frame(clip_model: keras.Model) -> float:
    """MACs of the clip model divided by its frames, to compare with a step's."""
    from xwisenet_tf.layers.complexity import count_macs

    return count_macs(clip_model) / clip_model.input_shape[1]


__all__ = [
    "FEATURE_MEAN",
    "FOLLOW_HALF_LIVES",
    "FRAME",
    "FRAMES_SEEN",
    "PROBABILITIES",
    "NotCausalError",
    "StepModel",
    "build_step_model",
    "clip_macs_per_frame",
]
