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

# Mirrors xwisenet_tf.export.exporter (ExportOptions defaults, QUANTIZATIONS): this module checks
# the cheap arguments before TensorFlow loads (a typo fails in a fraction of a second, with one
# line on stderr); the library checks everything again.
QUANTIZATIONS = ("none", "fp16", "dynamic", "int8")
_DEFAULTS = {
    "num_calibration_clips": 100,
    "calibration_split": "train",
    "num_verify_clips": 32,
    "num_threads": min(4, os.cpu_count() or 1),
    "latency_runs": 20,
    "data_dir": "data_cache",
}

flags.DEFINE_string("checkpoint", None, "A .keras checkpoint, or a training model_dir.")
flags.DEFINE_string("output_dir", None, "Directory for the exported models and the report.")
flags.DEFINE_bool("saved_model", False, "Export a SavedModel (signature 'serving_default').")
flags.DEFINE_bool("tflite", False, "Export a TFLite model (static batch 1).")
flags.DEFINE_string(
    "quantize",
    "none",
    "TFLite quantization: none (float32), fp16 (float16 weights), dynamic (int8 weights), "
    "int8 (full integer, calibrated on --calibration_data).",
)
flags.DEFINE_integer(
    "num_frames", None, "Frames per clip of the exported input (default: the checkpoint's)."
)
flags.DEFINE_integer(
    "image_size", None, "Frame height and width of the exported input (default: the checkpoint's)."
)
flags.DEFINE_string(
    "calibration_data",
    None,
    "Prepared dataset directory (python -m xwisenet_tf.data.prepare) for int8 calibration and "
    "verification. Default: the checkpoint's training data, else the synthetic dataset.",
)
flags.DEFINE_integer(
    "num_calibration_clips", _DEFAULTS["num_calibration_clips"], "Clips to calibrate int8."
)
flags.DEFINE_string(
    "calibration_split", _DEFAULTS["calibration_split"], "Split of the calibration clips."
)
flags.DEFINE_string(
    "verify_split", None, "Split of the verification clips (default: test, else validation)."
)
flags.DEFINE_integer(
    "num_verify_clips",
    _DEFAULTS["num_verify_clips"],
    "Clips on which the export is compared with Keras.",
)
flags.DEFINE_bool(
    "include_preprocessing",
    False,
    "The exported model takes uint8 RGB frames [0, 255] and normalises them itself.",
)
flags.DEFINE_bool("int8_io", False, "With --quantize int8: int8 input/output tensors.")
flags.DEFINE_bool(
    "fold_batch_norms", True, "Fold BatchNorms into the convolutions before converting."
)
flags.DEFINE_integer(
    "num_threads", _DEFAULTS["num_threads"], "Interpreter threads for the latency measurement."
)
flags.DEFINE_integer(
    "latency_runs", _DEFAULTS["latency_runs"], "Timed runs for the median latency."
)
flags.DEFINE_bool(
    "evaluate_accuracy",
    False,
    "Also report clip and video accuracy of the exported and the Keras model on the whole "
    "verification split.",
)
flags.DEFINE_string("data_dir", _DEFAULTS["data_dir"], "Cache of the synthetic fallback dataset.")

FLAGS = flags.FLAGS


def main(argv: list[str]) -> int:
    logging.set_verbosity(logging.WARNING)  # TensorFlow's SavedModel INFO lines
    if len(argv) > 1:
        usage_error(f"unexpected arguments {argv[1:]}")
    if not FLAGS.checkpoint:
        usage_error("--checkpoint is required (a .keras file or a training model_dir)")
    if not FLAGS.output_dir:
        usage_error("--output_dir is required")
    _precheck()
    return run_command(_export)


def _export() -> None:
    from xwisenet_tf.export import export_model
    from xwisenet_tf.export.exporter import ExportOptions

    options = ExportOptions(
        checkpoint=FLAGS.checkpoint,
        output_dir=FLAGS.output_dir,
        saved_model=FLAGS.saved_model,
        tflite=FLAGS.tflite,
        quantize=FLAGS.quantize,
        num_frames=FLAGS.num_frames,
        image_size=FLAGS.image_size,
        calibration_data=FLAGS.calibration_data,
        num_calibration_clips=FLAGS.num_calibration_clips,
        calibration_split=FLAGS.calibration_split,
        verify_split=FLAGS.verify_split,
        num_verify_clips=FLAGS.num_verify_clips,
        include_preprocessing=FLAGS.include_preprocessing,
        int8_io=FLAGS.int8_io,
        fold_batch_norms=FLAGS.fold_batch_norms,
        num_threads=FLAGS.num_threads,
        latency_runs=FLAGS.latency_runs,
        evaluate_accuracy=FLAGS.evaluate_accuracy,
        data_dir=FLAGS.data_dir,
    )
    export_model(options)
    print(f"Report: {os.path.join(options.output_dir, 'export_report.json')}")


def _precheck() -> None:
    """The checks of `ExportOptions.validate` that need no TensorFlow, with its messages."""
    if not FLAGS.saved_model and not FLAGS.tflite:
        usage_error("nothing to export: pass --tflite and/or --saved_model")
    if FLAGS.quantize not in QUANTIZATIONS:
        usage_error(
            f"--quantize {FLAGS.quantize!r}: unknown quantization; expected one of "
            f"{', '.join(QUANTIZATIONS)}"
        )
    if not os.path.exists(FLAGS.checkpoint):
        usage_error(
            f"--checkpoint {FLAGS.checkpoint}: not found; expected a .keras file written by "
            "train.py or its model_dir"
        )
    data = FLAGS.calibration_data
    if data is not None:
        if not os.path.isdir(data):
            usage_error(f"--calibration_data {data}: directory not found")
        if not os.path.isfile(os.path.join(data, "manifest.json")):
            usage_error(
                f"--calibration_data {data}: holds no prepared dataset (no manifest.json); "
                "expected a directory written by `python -m xwisenet_tf.data.prepare` "
                "(TFRecords + manifest)"
            )


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
