r"""Exports a trained checkpoint to SavedModel and/or TFLite, verified against Keras.

    python export.py --checkpoint runs/xwisenet-kth/best.keras --output_dir exported \
        --tflite --quantize int8 --calibration_data data_cache/kth

Writes the model(s), a metadata sidecar per model (class names, input) and export_report.json
(size, TFLite ops, agreement with Keras, latency) into --output_dir. The library function is
`xwisenet_tf.export.export_model`. An error is one line ``error: <message>`` on stderr, exit
status 2 (docs/architecture.md).
"""

from __future__ import annotations

import os

from absl import app, flags, logging

import xwisenet_tf.quiet_start  # noqa: F401 - TensorFlow starts without its start-up lines
from xwisenet_tf.errors import parse_flags, run_command, usage_error
from xwisenet_tf.export.options import ExportOptions
from xwisenet_tf.settings import define_absl_flags, flag_values

# One flag per field of `ExportOptions` (its default and help), defined and checked before
# TensorFlow loads: a typo fails in a fraction of a second, with one line on stderr.
define_absl_flags(ExportOptions)

FLAGS = flags.FLAGS


def main(argv: list[str]) -> int:
    logging.set_verbosity(logging.WARNING)  # TensorFlow's SavedModel INFO lines
    if len(argv) > 1:
        usage_error(f"unexpected arguments {argv[1:]}")
    if not FLAGS.checkpoint:
        usage_error("--checkpoint is required (a .keras file or a training model_dir)")
    if not FLAGS.output_dir:
        usage_error("--output_dir is required")
    options = ExportOptions(**flag_values(ExportOptions, FLAGS))
    return run_command(lambda: _export(options))


def _export(options: ExportOptions) -> None:
    options.validate()  # the options that need no TensorFlow, before it loads
    from xwisenet_tf.export import export_model

    export_model(options)
    print(f"Report: {os.path.join(options.output_dir, 'export_report.json')}")


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
