"""TFLite conversion (float, fp16, dynamic-range, full int8), op inspection and execution with
the LiteRT interpreter (``ai-edge-litert``, through `xwisenet_tf.tflite_runner`). The metadata entry of a ``.tflite`` file is read
and written by `xwisenet_tf.training.model_metadata`.

Every conversion goes through one function, `tflite_converter`: the Keras model is wrapped in a
SavedModel serving signature with a static batch-1 input (`xwisenet_tf.export.saved_model`) and
converted with ``tf.lite.TFLiteConverter.from_saved_model``, allowing TFLite builtin ops only (no
Flex/SELECT_TF_OPS): a model that needs more fails here rather than on the phone.
"""

from __future__ import annotations

import os
import re
import tempfile
import warnings
from collections.abc import Callable, Iterable

import keras
import numpy as np

from xwisenet_tf.export.errors import ExportError
from xwisenet_tf.export.int8_recipe import convert_int8
from xwisenet_tf.export.options import (  # noqa: F401 - QUANTIZATIONS: xwisenet_tf.export's
    QUANTIZATIONS,
    check_quantization,
)
from xwisenet_tf.tflite_runner import TFLiteRunner

NOT_BUILTIN_PREFIXES = ("CUSTOM", "FLEX", "DELEGATE")

CalibrationData = np.ndarray | Iterable[np.ndarray] | Callable[[], Iterable[np.ndarray]]


def tflite_converter(
    model: keras.Model,
    quantization: str = "none",
    calibration_data: CalibrationData | None = None,
    int8_io: bool = False,
    batch_size: int = 1,
):
    """A configured ``tf.lite.TFLiteConverter`` for `model` (builtin ops only).

    The model is exported to a temporary SavedModel (serving signature ``serving_default``,
    input named after the model's input layer, output ``probabilities``/``outputs``) with a
    static input shape ``(batch_size, *model.input_shape[1:])``; the temporary directory lives
    as long as the converter.

    Args:
        model: A single-input, single-output Keras model with a fully defined clip shape.
        quantization: ``"none"`` (float32), ``"fp16"`` (float16 weights), ``"dynamic"`` (int8
            weights, float activations) or ``"int8"`` (full integer: weights and activations,
            calibrated on `calibration_data`; float input/output unless `int8_io`).
        calibration_data: int8 only: representative inputs, an array of clips
            ``(N, *clip_shape)`` or an iterable of clips (with or without the batch axis) or a
            zero-argument callable returning such an iterable (called once per conversion).
        int8_io: int8 only: int8 output and, for float-input models, int8 input (quantisation
            parameters in the interpreter's input/output details); a uint8-input model
            (`with_preprocessing`) keeps its uint8 input.
        batch_size: The static batch size of the input.

    Returns:
        The converter; call ``.convert()`` (or use `convert_to_tflite`, which also checks the
        ops and turns converter errors into `ExportError`).

    Raises:
        ExportError: bad quantization, missing calibration data, or an input shape that is not
            fully defined.
    """
    import tensorflow as tf

    from xwisenet_tf.export.saved_model import build_export_archive
    from xwisenet_tf.layers.context_blocks import tflite_form

    check_quantization(quantization)
    if quantization == "int8" and calibration_data is None:
        raise ExportError("int8 quantization needs calibration_data (representative clips)")
    if int8_io and quantization != "int8":
        raise ExportError(f"int8_io needs quantization='int8'; received {quantization!r}")
    workdir = tempfile.TemporaryDirectory(prefix="xwisenet_tflite_")
    path = os.path.join(workdir.name, "saved_model")
    with tflite_form():  # traced (at write_out) with the context blocks' int8-friendly form
        archive, input_spec = build_export_archive(model, batch_size=batch_size)
        archive.write_out(path, verbose=False)
    converter = tf.lite.TFLiteConverter.from_saved_model(path, signature_keys=["serving_default"])
    converter._xwisenet_workdir = workdir  # keeps the SavedModel until the converter is gone
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantization == "fp16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quantization == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif quantization == "int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.representative_dataset = _representative_dataset(
            calibration_data, input_spec.name, tuple(input_spec.shape), input_spec.dtype
        )
        if int8_io:
            if input_spec.dtype == tf.float32:
                converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
    return converter


def _representative_dataset(data, input_name: str, shape: tuple, dtype) -> Callable:
    def generate():
        items = data() if callable(data) else data
        count = 0
        for item in items:
            clip = np.asarray(item)
            if clip.shape != shape:
                clip = clip.reshape(shape)
            count += 1
            yield {input_name: clip.astype(dtype.as_numpy_dtype)}
        if not count:
            raise ExportError("calibration_data yielded no clip")

    return generate


def convert_to_tflite(
    model: keras.Model,
    batch_size: int = 1,
    quantization: str = "none",
    calibration_data: CalibrationData | None = None,
    int8_io: bool = False,
) -> bytes:
    """Converts `model` to a TFLite flatbuffer with a static input shape, builtin ops only.

    Arguments as in `tflite_converter` (by default float32, batch 1).

    Raises:
        ExportError: the conversion failed (the message keeps the converter's error lines,
            e.g. the op that has no builtin kernel) or the result holds non-builtin ops.
    """
    converter = tflite_converter(model, quantization, calibration_data, int8_io, batch_size)
    try:
        with warnings.catch_warnings():
            # The int8 calibrator uses tf.lite.Interpreter, which warns it is deprecated.
            warnings.filterwarnings(
                "ignore",
                message="(?s).*tf.lite.Interpreter is deprecated.*|.*Statistics for quantized inputs.*",
            )
            content = convert_int8(converter) if quantization == "int8" else converter.convert()
    except ExportError:
        raise
    except Exception as e:  # noqa: BLE001 - ConverterError, RuntimeError from the calibrator...
        raise ExportError(
            f"TFLite conversion of {model.name} (quantization={quantization}) failed: "
            f"{_summarize_error(e)}"
        ) from e
    foreign = non_builtin_ops(content)
    if foreign:
        raise ExportError(
            f"TFLite conversion of {model.name} (quantization={quantization}) produced "
            f"non-builtin ops {foreign}; only TFLite builtin ops are allowed"
        )
    return content


def _summarize_error(error: Exception, limit: int = 400) -> str:
    """One line from a converter error: the ops TFLite has no builtin for, else the first
    error line."""
    text = str(error)
    ops = list(
        dict.fromkeys(re.findall(r"'([\w.]+)' op is neither a custom op nor a flex op", text))
    )
    if ops:
        return f"no TFLite builtin op for {', '.join(ops)} (only builtin ops are allowed)"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    line = (errors or lines or [type(error).__name__])[0]
    return line if len(line) <= limit else line[: limit - 3] + "..."


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


def non_builtin_ops(content: bytes) -> list[str]:
    """The ops of `content` that are not TFLite builtins (custom, Flex, delegate ops)."""
    return [op for op in tflite_op_names(content) if op.startswith(NOT_BUILTIN_PREFIXES)]


def float_op_names(content: bytes) -> list[str]:
    """Ops that compute in float32 (a float32 input or output tensor), with their count.

    For a full-integer model this lists only the QUANTIZE/DEQUANTIZE at a float input or
    output (and the CAST of a uint8 input), i.e. everything else runs on int8.
    """
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(content))
    codes = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    counts: dict[str, int] = {}
    for graph in model.subgraphs:
        for op in graph.operators:
            tensors = [graph.tensors[i] for i in [*op.inputs, *op.outputs] if i >= 0]
            if any(t.type == schema.TensorType.FLOAT32 for t in tensors):
                op_code = model.operatorCodes[op.opcodeIndex]
                name = codes[max(op_code.builtinCode, op_code.deprecatedBuiltinCode)]
                counts[name] = counts.get(name, 0) + 1
    return [f"{name} x{n}" for name, n in sorted(counts.items())]


# The runner of every TFLite model of the package, under the name the export API documents.
TFLiteModel = TFLiteRunner


def run_tflite(content: bytes, inputs: np.ndarray, num_threads: int | None = None) -> np.ndarray:
    """Runs a single-input, single-output TFLite model on each item of `inputs` (batch 1 each).

    Quantised (int8/uint8) inputs and outputs are converted as in `TFLiteRunner`.
    """
    model = TFLiteRunner(content, num_threads=num_threads)
    return np.stack([model(item) for item in inputs])
