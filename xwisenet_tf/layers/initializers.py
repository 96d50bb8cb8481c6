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
