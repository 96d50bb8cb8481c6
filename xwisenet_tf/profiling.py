"""Parameter and multiply-accumulate counts, and the paper's complexity tables (II-IV).

Conventions (DESIGN.md section 3):
- Parameters are the trainable weights, as PyTorch's `sum(p.numel() for p in parameters())`
  counts them: BatchNorm's gamma/beta are in, its moving mean/variance are not.
- MACs: one multiply-add = 1, counted analytically per layer
  (`xwisenet_tf.layers.complexity`). The paper's "FLOPs" are MACs: 3D-ResNet-18 at 16x112x112
  is 8.32 G either way.

`python -m xwisenet_tf.profiling` prints our figures beside the paper's; `--json` prints one JSON
list of rows {"table", "model", "conv_type", "block", "num_classes", "params", "macs"}.
"""

from __future__ import annotations

import json
import math
import sys

import keras

from xwisenet_tf.layers.complexity import layer_macs


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
            continue  # merge layers (add, concatenate) do no multiply-accumulates
        total += layer_macs(layer, (1, *inputs.shape[1:]))
    return int(total)


def main(argv: list[str] | None = None) -> int:
    from xwisenet_tf.paper_tables import complexity_rows, format_rows

    argv = sys.argv[1:] if argv is None else argv
    rows = complexity_rows()
    if "--json" in argv:
        print(json.dumps(rows, indent=1))
    else:
        print(format_rows(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
