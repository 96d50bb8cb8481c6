"""BatchNormalization that trains with TensorFlow's fused kernel."""

from __future__ import annotations

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="xwisenet_tf")
class BatchNorm(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` over the channel axis, fused when training on TF.

    Keras computes training-mode batch normalisation from separate mean, variance, subtract and
    multiply ops; for 5-D video tensors on CPU these (and their gradients) took ~40% of an
    XwiseNet training step. With the TensorFlow backend, training on the last axis, this layer
    calls the fused kernel (`FusedBatchNormV3`, oneDNN on CPU) on a 4-D view instead. The
    maths, the weights and the moving-statistics update are Keras' own (biased batch variance);
    every other case (inference, other backends or axes, masks, renorm) is the parent's code.
    `BatchNorm.fused_training = False` turns the fused path off (for benchmarks).
    """

    fused_training = True

    def call(self, inputs, training=None, mask=None):
        if not (training and self.trainable and self._can_fuse(inputs, mask)):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        shape = ops.shape(inputs)
        channels = inputs.shape[-1]
        folded = ops.reshape(inputs, (-1, 1, math.prod(inputs.shape[1:-1]), channels))
        outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            folded,
            scale=self.gamma if self.scale else tf.ones((channels,), "float32"),
            offset=self.beta if self.center else tf.zeros((channels,), "float32"),
            epsilon=self.epsilon,
            data_format="NHWC",
            is_training=True,
        )
        count = ops.cast(ops.shape(folded)[0] * folded.shape[2], "float32")
        variance = variance * (count - 1.0) / count  # the kernel returns the unbiased variance
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(
            self.moving_variance * self.momentum + variance * (1.0 - self.momentum)
        )
        return ops.reshape(outputs, shape)

    def _can_fuse(self, inputs, mask) -> bool:
        return (
            self.fused_training
            and keras.backend.backend() == "tensorflow"
            and mask is None
            and not self.renorm
            and self.axis in (-1, len(inputs.shape) - 1)
            and len(inputs.shape) >= 3
            and all(d is not None for d in inputs.shape[1:])
            and inputs.dtype in ("float32", "float16", "bfloat16")
        )
