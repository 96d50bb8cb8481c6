"""Export of trained models: SavedModel and TFLite (float, fp16, dynamic-range, full int8),
each verified against the Keras model.

Public API::

    export_model(ExportOptions(...)) -> report           # export.py; writes export_report.json
    tflite_converter(model, quantization=..., calibration_data=..., int8_io=...)  # the converter
    convert_to_tflite(model, batch_size=1, quantization="none", ...) -> bytes
    tflite_op_names(content), non_builtin_ops(content), float_op_names(content)
    run_tflite(content, inputs, num_threads=None), TFLiteModel(content, num_threads)
    add_tflite_metadata(content, data), read_tflite_metadata(content_or_path)
    export_saved_model(model, path, class_names)
    FramePreprocessing, with_preprocessing(model), to_uint8_frames(clips)
    read_class_names(path)                                 # .tflite, SavedModel dir or .keras
    ExportError

Names are imported on first use, so ``import xwisenet_tf.export`` stays light. The metadata
functions live in `xwisenet_tf.training.model_metadata` (prediction reads what export writes).
"""

from __future__ import annotations

from xwisenet_tf.lazy import lazy_attributes

_LAZY = {
    "ExportError": "errors",
    "ExportOptions": "options",
    "export_model": "exporter",
    "load_checkpoint": "job",
    "read_report": "exporter",
    "REPORT_FILE": "exporter",
    "QUANTIZATIONS": "options",
    "TFLiteModel": "tflite",
    "add_tflite_metadata": "xwisenet_tf.training.model_metadata",
    "convert_to_tflite": "tflite",
    "float_op_names": "tflite",
    "non_builtin_ops": "tflite",
    "read_tflite_metadata": "xwisenet_tf.training.model_metadata",
    "run_tflite": "tflite",
    "tflite_converter": "tflite",
    "tflite_op_names": "tflite",
    "export_saved_model": "saved_model",
    "FramePreprocessing": "preprocessing",
    "to_uint8_frames": "preprocessing",
    "with_preprocessing": "preprocessing",
    "read_class_names": "xwisenet_tf.training.model_metadata",
    "read_model_metadata": "xwisenet_tf.training.model_metadata",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
