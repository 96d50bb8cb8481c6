"""Import PyTorch zoo weights: ``python -m xwisenet_tf.weights import ...``.

    python -m xwisenet_tf.weights import --format e3d --preset shufflenet3d-1.0x \\
        --input kinetics_shufflenet_1.0x_G3_RGB_16_best.npz --output shufflenet3d_kinetics.keras
    python -m xwisenet_tf.weights import --format hara --preset resnet3d-18 \\
        --input resnet-18-kinetics.npz --output resnet3d18_kinetics.keras
    python -m xwisenet_tf.weights import --format e3d --preset xwisenet --width 1.5 \\
        --input kinetics_shufflenetv2_1.5x_RGB_16_best.npz --output xwisenet_from_e3d.keras

With `--format e3d` and an `xwisenet*` preset, each 3x3x3 depthwise kernel is factorised into
X-Conv's 1x3x3 and 3x1x1 kernels (`xwisenet_tf.weights.factorise`); the energy the factorisation
keeps is printed per stage.

The input is a `.npz` of the state dict's tensors (or the `.pth` itself when torch is
installed). Where torch is installed, a `.pth` becomes an `.npz` with::

    import numpy as np, torch; sd = torch.load("model.pth", map_location="cpu")
    np.savez("model.npz", **{k: v.numpy() for k, v in sd.get("state_dict", sd).items()})

Then fine-tune on your classes: ``python train.py --model shufflenet3d-1.0x --init_checkpoint
shufflenet3d_kinetics.keras ...``. See README, "Pretrained weights".
"""

from __future__ import annotations

import argparse
import os
import sys

from xwisenet_tf.errors import EXIT_ERROR, ArgumentParser, one_line, print_error

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="python -m xwisenet_tf.weights",
        description="Import pretrained weights of the PyTorch video zoos into a preset.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    imp = commands.add_parser(
        "import",
        help="import a PyTorch state dict into a preset and save it as .keras",
        description="Imports every tensor of a PyTorch state dict into the matching preset, by "
        "name, checking every shape; writes nothing if one does not fit.",
    )
    imp.add_argument(
        "--format",
        required=True,
        choices=["e3d", "hara"],
        help="e3d: Efficient-3DCNNs ShuffleNet V2 (shufflenet3d-* presets, or xwisenet* with "
        "the depthwise kernels factorised into X-Conv); hara: 3D-ResNets-PyTorch (resnet3d-* "
        "presets, shortcut A or B read from the weights)",
    )
    imp.add_argument(
        "--preset", required=True, help="e.g. shufflenet3d-1.0x, resnet3d-18, xwisenet"
    )
    imp.add_argument("--input", required=True, help="state dict: .npz (or .pth with torch)")
    imp.add_argument("--output", required=True, help="the model to write, a .keras file")
    imp.add_argument(
        "--num_classes",
        type=int,
        help="classifier outputs (default: the state dict's; another number gets a new, "
        "randomly initialised classifier)",
    )
    imp.add_argument(
        "--width",
        type=float,
        help="width multiplier of a shufflenet3d or xwisenet preset (0.5, 1.0, 1.5, 2.0), "
        "the width of the Efficient-3DCNNs checkpoint",
    )
    imp.add_argument("--frames", type=int, default=16, help="frames of the model's input clip")
    imp.add_argument("--size", type=int, default=112, help="height and width of the input clip")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs the CLI; returns the exit status (2 with a one-line error for bad input)."""
    args = _parser().parse_args(argv)
    from xwisenet_tf.weights.errors import WeightImportError
    from xwisenet_tf.weights.importer import import_file

    try:
        report = import_file(
            args.format,
            args.preset,
            args.input,
            args.output,
            num_classes=args.num_classes,
            input_shape=(args.frames, args.size, args.size, 3),
            overrides={} if args.width is None else {"width": args.width},
        )
    except (WeightImportError, ValueError) as error:  # keras' own ValueErrors too
        print_error(one_line(error))
        return EXIT_ERROR
    print(f"{report.summary()} Wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
