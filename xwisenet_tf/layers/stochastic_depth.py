"""Stochastic depth for ShuffleNet V2 units (Huang et al., ECCV 2016), a small-data regulariser.

A Same Unit (paper Fig. 1(b)) sends half its channels through one X-Conv branch and concatenates
the other half. `SkipBranch` drops that branch per clip during training: with probability
``rate`` the branch's output is replaced by its input (the unit skipped, its channels passed on
unchanged, as a dropped residual block of Huang et al. passes its input on); in inference the
branch always runs, so the trained network is the one built. The layer computes nothing at
inference time and exports as a pass-through.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="xwisenet_tf")
class SkipBranch(keras.layers.Layer):
    """Replaces a unit branch's output by its input for a random share of the clips (training).

    Input shape:
        ``[branch_input, branch_output]``, two tensors of the same shape
        ``(batch, frames, height, width, channels)``.
    Output shape:
        The same shape: ``branch_output``, or ``branch_input`` for the skipped clips.

    Args:
        rate: Probability that a clip skips the branch in training, in [0, 1).
        seed: Seed of the draws.
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"`rate` must be in [0, 1). Received: rate={rate!r}")
        self.rate = float(rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        skip, branch = inputs
        if not training or not self.rate:
            return branch
        shape = (ops.shape(branch)[0],) + (1,) * (len(branch.shape) - 1)
        keep = keras.random.uniform(shape, seed=self.seed_generator) >= self.rate
        return ops.where(keep, branch, ops.cast(skip, branch.dtype))

    def compute_output_shape(self, input_shape):
        return input_shape[1]

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
