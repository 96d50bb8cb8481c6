"""Initialisers of the temporal convolutions."""

from __future__ import annotations

import keras
import numpy as np


@keras.saving.register_keras_serializable(package="xwisenet_tf")
class CentreTapIdentity(keras.initializers.Initializer):
    """A temporal kernel `(d, 1, 1, C_in, M)` that passes every frame through unchanged.

    The centre tap is the identity (ones for a depthwise kernel, `M == 1`; the identity matrix
    for a dense one, `M == C_in`), every other tap zero. A temporal convolution so initialised
    starts as a no-op, so an X-Conv starts as the 2D depthwise separable convolution it inflates:
    the paper's argument for X-Conv (sec. I) made the starting point of training.
    """

    def __call__(self, shape, dtype=None):
        depth, height, width, channels, multiplier = shape
        if (height, width) != (1, 1) or multiplier not in (1, channels):
            raise ValueError(
                "CentreTapIdentity initialises a temporal kernel (d, 1, 1, C, 1) or "
                f"(d, 1, 1, C, C). Received shape={tuple(shape)}"
            )
        kernel = np.zeros(shape, "float32")
        centre = kernel[depth // 2, 0, 0]
        if multiplier == 1:
            centre[:] = 1.0
        else:
            np.fill_diagonal(centre, 1.0)
        return keras.ops.convert_to_tensor(kernel, dtype=dtype or "float32")


@keras.saving.register_keras_serializable(package="xwisenet_tf")
class CentredDepthwise(keras.initializers.Initializer):
    """A depthwise kernel `(d, kh, kw, C, 1)` near the identity: the centre tap 1 plus He-scaled
    noise times `noise`.

    With He noise alone the taps of a channel often nearly cancel; the BatchNorm after the
    convolution then divides by a tiny standard deviation, and with a ReLU between the spatial and
    temporal depthwise convs (X-Conv, sec. III-A) these amplifications multiply: at
    initialisation the stem's gradient is ~10^4 times the head's on the 16-unit XwiseNet. With the
    centre tap dominant every channel keeps its signal and the gradients stay within ~10^2.
    """

    def __init__(self, noise: float = 0.3, seed=None):
        self.noise = float(noise)
        self.seed = seed
        self._he = keras.initializers.VarianceScaling(2.0, "fan_out", seed=seed)

    def __call__(self, shape, dtype=None):
        depth, height, width = shape[:3]
        kernel = self.noise * keras.ops.convert_to_numpy(self._he(shape, "float32"))
        kernel[depth // 2, height // 2, width // 2] += 1.0
        return keras.ops.convert_to_tensor(kernel, dtype=dtype or "float32")

    def get_config(self):
        return {"noise": self.noise, "seed": self.seed}
