"""Learning-rate schedules counted in optimizer steps (not epochs).

A small dataset has few steps per epoch; a schedule by steps gives it the same shape of training
as a large one (warm-up, then a smooth decay to zero), and needs no validation signal to decide
when to lower the rate, so a handful of validation videos cannot stop learning early.
"""

from __future__ import annotations

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="xwisenet_tf")
class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from ``peak / warmup_steps`` to ``peak``, then a half cosine to ``final``.

    ``lr(s) = peak * (s + 1) / warmup_steps`` for ``s < warmup_steps``, then
    ``final + (peak - final) * (1 + cos(pi * p)) / 2`` with
    ``p = (s - warmup_steps) / (total_steps - warmup_steps)`` clipped to [0, 1].

    Args:
        peak: Learning rate at the end of the warm-up.
        total_steps: Steps of the whole run; the rate reaches ``final`` there and stays.
        warmup_steps: Steps of the linear warm-up (0: none).
        final: Learning rate at ``total_steps``.
    """

    def __init__(self, peak: float, total_steps: int, warmup_steps: int = 0, final: float = 0.0):
        if not peak > 0:
            raise ValueError(f"`peak` must be > 0. Received: peak={peak!r}")
        if not isinstance(total_steps, int) or total_steps < 1:
            raise ValueError(f"`total_steps` must be an int >= 1. Received: {total_steps!r}")
        if not isinstance(warmup_steps, int) or not 0 <= warmup_steps <= total_steps:
            raise ValueError(
                f"`warmup_steps` must be an int in [0, total_steps={total_steps}]. "
                f"Received: {warmup_steps!r}"
            )
        if not 0 <= final <= peak:
            raise ValueError(f"`final` must be in [0, peak={peak}]. Received: final={final!r}")
        self.peak = float(peak)
        self.total_steps = total_steps
        self.warmup_steps = warmup_steps
        self.final = float(final)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        warm = self.peak * (step + 1.0) / max(self.warmup_steps, 1)
        span = max(self.total_steps - self.warmup_steps, 1)
        progress = ops.clip((step - self.warmup_steps) / span, 0.0, 1.0)
        cosine = self.final + (self.peak - self.final) * 0.5 * (1.0 + ops.cos(math.pi * progress))
        return ops.where(step < self.warmup_steps, warm, cosine)

    def get_config(self) -> dict:
        return {
            "peak": self.peak,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "final": self.final,
        }
