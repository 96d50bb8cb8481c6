"""Layer normalisation of the context transform, written to quantise to full-integer TFLite."""

from __future__ import annotations

import keras
from keras import ops

from xwisenet_tf.layer_options import FLOAT_SCOPE


@keras.saving.register_keras_serializable(package="xwisenet_tf")
class ChannelLayerNorm(keras.layers.LayerNormalization):
    """`LayerNormalization` over the last axis as `(x - mean) * rsqrt(var + eps) * gamma + beta`.

    The LN of the SS/GC transform (paper eq. (3)). Keras computes `x * inv + (-mean * inv + beta)`,
    whose `NEG` the TFLite int8 quantiser leaves in float (a dequantise/quantise island per block);
    this form uses only ops with int8 kernels (MEAN, SUB, MUL, RSQRT, ADD). XNNPACK, LiteRT's
    CPU delegate, has no int8 RSQRT, so an int8 export keeps the normalisation in float
    (`FLOAT_SCOPE`, `xwisenet_tf.export.int8_recipe`): one vector per frame.
    Same weights and outputs as `keras.layers.LayerNormalization(axis=-1)`; computed in at least
    float32 under mixed precision, as Keras does.

    Input shape: any, normalised over the last axis. Output shape: same.
    """

    def __init__(self, epsilon: float = 1e-5, **kwargs):
        axis = kwargs.pop("axis", -1)
        if axis not in (-1, [-1]):
            raise ValueError(f"ChannelLayerNorm normalises the last axis only. Received: {axis}")
        if kwargs.pop("rms_scaling", False):
            raise ValueError("ChannelLayerNorm does not support rms_scaling")
        super().__init__(axis=-1, epsilon=epsilon, **kwargs)

    def call(self, inputs):
        x = ops.cast(inputs, "float32") if inputs.dtype in ("float16", "bfloat16") else inputs
        with keras.name_scope(FLOAT_SCOPE):
            mean = ops.mean(x, axis=-1, keepdims=True)
            centred = x - mean
            variance = ops.mean(centred * centred, axis=-1, keepdims=True)
            outputs = centred * ops.rsqrt(variance + self.epsilon)
            if self.scale:
                outputs = outputs * ops.cast(self.gamma, outputs.dtype)
            if self.center:
                outputs = outputs + ops.cast(self.beta, outputs.dtype)
        return ops.cast(outputs, self.compute_dtype)
