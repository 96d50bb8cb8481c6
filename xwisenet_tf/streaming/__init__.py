"""Frame-by-frame recognition with a causal XwiseNet (the `xwisenet-stream` preset).

`build_step_model(clip_model)` turns a trained causal model into a step model
`(frame, state) -> (probabilities, new_state)` with the same weights, over every frame so far
or (``half_life``) an exponential average that follows a change of action within
`FOLLOW_HALF_LIVES` half-lives, one frame per step or (``frames_per_step``) several at once;
`StreamingRecognizer` wraps it (Keras or TFLite): `push(frame) -> probabilities`, `reset()`.

Names resolve on first use, so `import xwisenet_tf.streaming` loads no TensorFlow.
"""

from __future__ import annotations

from xwisenet_tf.lazy import lazy_attributes

_LAZY = {
    "FRAME": "step_model",
    "FRAMES_SEEN": "step_model",
    "FEATURE_MEAN": "step_model",
    "FOLLOW_HALF_LIVES": "step_model",
    "NotCausalError": "step_model",
    "PROBABILITIES": "step_model",
    "StepModel": "step_model",
    "StreamingRecognizer": "recognizer",
    "build_step_model": "step_model",
    "clip_macs_per_frame": "step_model",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
