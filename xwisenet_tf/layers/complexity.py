"""Analytic multiply-accumulate counts per layer (the paper's "FLOPs", DESIGN.md section 3).

Convention: one multiply-add = 1 MAC. Counted: convolutions (dense, depthwise, pointwise),
dense layers, and the products of the context blocks (attention-weighted sums and rescaling).
Not counted: biases, batch/layer normalisation (folded into the preceding convolution at
inference), activations, pooling, additions and softmax. This is the convention of the counters
behind the paper's reference figures (e.g. 8.32 G for 3D-ResNet-18 at 16x112x112).
"""

from __future__ import annotations

import math

import keras


def layer_macs(layer: keras.layers.Layer, input_shape) -> int:
    """MACs of one call of `layer` on an input of `input_shape` (batch dimension ignored)."""
    if hasattr(layer, "count_macs"):
        return int(layer.count_macs(input_shape))
    if isinstance(layer, keras.layers.Dense):
        positions = math.prod(input_shape[1:-1])
        return positions * input_shape[-1] * layer.units
    if isinstance(layer, keras.layers.Conv3D | keras.layers.Conv2D | keras.layers.Conv1D):
        out = layer.compute_output_shape(input_shape)
        kernel_taps = math.prod(layer.kernel_size)
        return math.prod(out[1:]) * kernel_taps * input_shape[-1] // layer.groups
    return 0
