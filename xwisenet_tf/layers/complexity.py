"""Analytic multiply-accumulate counts per layer and per model (the paper's "FLOPs",
DESIGN.md section 3), and parameter counts.

Convention: one multiply-add = 1 MAC. Counted: convolutions (dense, depthwise, pointwise),
dense layers, and the products of the context blocks (attention-weighted sums and rescaling).
Not counted: biases, batch/layer normalisation (folded into the preceding convolution at
inference), activations, pooling, additions and softmax. This is the convention of the counters
behind the paper's reference figures (e.g. 8.32 G for 3D-ResNet-18 at 16x112x112).

Parameters are the trainable weights, as PyTorch's `sum(p.numel() for p in parameters())`
counts them: BatchNorm's gamma/beta are in, its moving mean/variance are not.
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


def count_params(model: keras.Model, trainable_only: bool = True) -> int:
    """Number of parameters (trainable only by default, the paper's convention)."""
    weights = model.trainable_weights if trainable_only else model.weights
    return int(sum(math.prod(w.shape) for w in weights))


def count_macs(model: keras.Model) -> int:
    """Multiply-accumulates of one forward pass for one clip (batch size 1)."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += count_macs(layer)
            continue
        inputs = layer.input
        if isinstance(inputs, list | tuple):
            if hasattr(layer, "count_macs"):  # a streaming step: [frame, *states]
                total += layer.count_macs([(1, *x.shape[1:]) for x in inputs])
            continue  # merge layers (add, concatenate) do no multiply-accumulates
        total += layer_macs(layer, (1, *inputs.shape[1:]))
    return int(total)
