"""BatchNormalization that trains with TensorFlow's fused kernel."""

from __future__ import annotations

import math

import keras
from keras import ops

from xwisenet_tf.layers.traced_gradients import release_traced_graphs


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

    The fused kernel runs on a 4-D view of the input, `BatchNorm.fused_layout`:

    - `"rows"` (default): the forward pass on `(positions, 1, 1, channels)`, one row per
      position, and its gradient on the `"clips"` view (a custom gradient calling the kernel
      that TensorFlow's registered gradient calls). With oneDNN on 2 cores the forward kernel
      is 2.5-4x faster on rows than on clips once the tensor outgrows the caches (XwiseNet's
      stage-2 activations at batch 16, 17.7 MB), while the gradient kernel is faster on clips.
    - `"clips"`: `(batch, 1, positions per clip, channels)` both ways, the path before
      issue 15 (`python -m xwisenet_tf.bench.training_speed` times one against the other).

    Both give the same outputs, statistics and gradients: the kernels reduce over the same
    positions, and the gradient kernel gets the same inputs either way.

    A `tf.custom_gradient` traced in a graph stays in TensorFlow's gradient registry, and its
    graph with it, for the life of the process; Keras' optimizer traces one per training step
    too. Each training trace of this layer first lets the registry hold the earlier ones only
    as long as their graphs are in use (`xwisenet_tf.layers.traced_gradients`): a session that
    builds and trains model after model keeps the last trace only.
    """

    fused_training = True
    FUSED_LAYOUTS = ("rows", "clips")
    fused_layout = "rows"

    def call(self, inputs, training=None, mask=None):
        if not (training and self.trainable and self._can_fuse(inputs, mask)):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        if not tf.executing_eagerly():  # a training trace: the earlier ones' graphs let go
            release_traced_graphs()
        channels = inputs.shape[-1]
        scale = self.gamma if self.scale else tf.ones((channels,), "float32")
        offset = self.beta if self.center else tf.zeros((channels,), "float32")
        outputs, mean, variance = self._fused_normalize(
            inputs, tf.convert_to_tensor(scale), tf.convert_to_tensor(offset)
        )
        count = ops.cast(ops.size(inputs) // channels, "float32")
        variance = variance * (count - 1.0) / count  # the kernel returns the unbiased variance
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(
            self.moving_variance * self.momentum + variance * (1.0 - self.momentum)
        )
        return outputs

    def _fused_normalize(self, inputs, scale, offset):
        """`(outputs, batch mean, unbiased batch variance)` from `FusedBatchNormV3`."""
        import tensorflow as tf

        channels = inputs.shape[-1]
        clips = (-1, 1, math.prod(inputs.shape[1:-1]), channels)
        rows = clips if self.fused_layout == "clips" else (-1, 1, 1, channels)
        # As `tf.compat.v1.nn.fused_batch_norm`, which this layer called before issue 15.
        epsilon = max(self.epsilon, 1.001e-5)
        empty = tf.constant([], "float32")

        def forward(x, scale, offset, view):
            return tf.raw_ops.FusedBatchNormV3(
                x=tf.reshape(x, view),
                scale=scale,
                offset=offset,
                mean=empty,
                variance=empty,
                epsilon=epsilon,
                exponential_avg_factor=1.0,
                data_format="NHWC",
                is_training=True,
            )

        if rows == clips:  # TensorFlow's registered gradient
            y, mean, variance = forward(inputs, scale, offset, clips)[:3]
            return tf.reshape(y, tf.shape(inputs)), mean, variance

        @tf.custom_gradient
        def normalize(x, scale, offset):
            y, mean, variance, reserve_1, reserve_2, reserve_3 = forward(x, scale, offset, rows)

            def grad(dy, *_):  # the statistics outputs feed the moving averages only
                dx, dscale, doffset, _, _ = tf.raw_ops.FusedBatchNormGradV3(
                    y_backprop=tf.reshape(dy, clips),
                    x=tf.reshape(x, clips),
                    scale=scale,
                    reserve_space_1=reserve_1,
                    reserve_space_2=reserve_2,
                    reserve_space_3=reserve_3,
                    epsilon=epsilon,
                    data_format="NHWC",
                    is_training=True,
                )
                return tf.reshape(dx, tf.shape(x)), dscale, doffset

            return (tf.reshape(y, tf.shape(x)), mean, variance), grad

        return normalize(inputs, scale, offset)

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
