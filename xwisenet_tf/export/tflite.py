"""TFLite conversion, op inspection and execution with the LiteRT interpreter."""

from __future__ import annotations

import keras
import numpy as np


def convert_to_tflite(model: keras.Model, batch_size: int = 1) -> bytes:
    """Converts `model` to a float32 TFLite flatbuffer with a static input shape.

    Only TFLite builtin ops are allowed (no Flex/SELECT_TF_OPS): a model that needs more fails
    here rather than on the phone.
    """
    import tensorflow as tf

    clips = keras.Input(batch_shape=(batch_size, *model.inputs[0].shape[1:]), name="clips")
    static = keras.Model(clips, model(clips, training=False), name=model.name)
    converter = tf.lite.TFLiteConverter.from_keras_model(static)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    return converter.convert()


def tflite_op_names(content: bytes) -> list[str]:
    """Sorted names of the operators in a TFLite flatbuffer; custom ops as 'CUSTOM:<name>'."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(content))
    codes = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    names = set()
    for op_code in model.operatorCodes:
        code = max(op_code.builtinCode, op_code.deprecatedBuiltinCode)
        if code == schema.BuiltinOperator.CUSTOM:
            custom = op_code.customCode
            names.add(f"CUSTOM:{custom.decode() if isinstance(custom, bytes) else custom}")
        else:
            names.add(codes[code])
    return sorted(names)


def run_tflite(content: bytes, inputs: np.ndarray, num_threads: int | None = None) -> np.ndarray:
    """Runs a single-input, single-output TFLite model on each item of `inputs` (batch 1 each)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=content, num_threads=num_threads)
    interpreter.allocate_tensors()
    input_detail = interpreter.get_input_details()[0]
    output_detail = interpreter.get_output_details()[0]
    outputs = []
    for item in inputs:
        interpreter.set_tensor(input_detail["index"], item[None].astype(input_detail["dtype"]))
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(output_detail["index"])[0])
    return np.stack(outputs)
