"""Parameter and multiply-accumulate counts, and the paper's complexity tables (II-IV).

Conventions (DESIGN.md section 3):
- Parameters are the trainable weights, as PyTorch's `sum(p.numel() for p in parameters())`
  counts them: BatchNorm's gamma/beta are in, its moving mean/variance are not.
- MACs: one multiply-add = 1, counted analytically per layer
  (`xwisenet_tf.layers.complexity`). The paper's "FLOPs" are MACs: 3D-ResNet-18 at 16x112x112
  is 8.32 G either way.

`count_params` and `count_macs` live in `xwisenet_tf.layers.complexity` (below the paper's
tables, which use them) and are this module's public names.

`python -m xwisenet_tf.profiling` prints our figures beside the paper's; `--json` prints one JSON
list of rows {"table", "model", "conv_type", "block", "num_classes", "params", "macs"}.
"""

from __future__ import annotations

import json
import sys

from xwisenet_tf.layers.complexity import count_macs, count_params

__all__ = ["count_macs", "count_params", "main"]


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
