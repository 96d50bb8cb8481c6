"""Export of trained models: TFLite (and SavedModel), verified against Keras."""

from xwisenet_tf.export.tflite import convert_to_tflite, run_tflite, tflite_op_names

__all__ = ["convert_to_tflite", "run_tflite", "tflite_op_names"]
