"""The full-integer (int8) recipe: every op in int8 except the few XNNPACK has no int8 kernel for.

LiteRT's CPU delegate, XNNPACK, runs int8 and float ops in one delegated graph, but an op it has
no kernel for splits the graph: the op and the partition boundaries around it run on TFLite's
reference kernels. In XwiseNet's int8 graph those were the context blocks' EXP, BATCH_MATMUL,
DIV and RSQRT (14 blocks, 58 partitions) and the classifier's SOFTMAX, which made int8 slower
than float (issue 15). The blocks now compute their weights with ELU, MUL and SUM
(`xwisenet_tf.layers.context_blocks`), and this recipe keeps in float what has no int8 kernel:

- the ops under `FLOAT_SCOPE`: each block's ELU (one value per position), its division by the
  sum of its weights and the LayerNorm of its transform (RSQRT), one vector per frame;
- the ops of `FLOAT_OP_TYPES` (the final SOFTMAX, whose int8 output also has a fixed 1/256 step).

The converter is run in two steps: calibration of the float graph on the representative clips,
then TFLite's MLIR quantiser with those ops' outputs denylisted, the selective quantisation of
``tf.lite.experimental.QuantizationDebugger`` (TensorFlow's guide "Inspecting quantization
errors"), without the debug instrumentation.
"""

from __future__ import annotations

import numpy as np

from xwisenet_tf.layer_options import FLOAT_SCOPE

FLOAT_OP_TYPES = ("SOFTMAX",)


def float_tensor_names(calibrated: bytes, float_outputs: tuple[str, ...] = ()) -> list[str]:
    """Output tensors of the ops the recipe keeps in float, by name, in a calibrated model;
    also those of the ``serving_default`` outputs named in ``float_outputs`` (a tensor that is
    a signature output carries the signature's name, not its scope)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=calibrated)
    names = {t["index"]: t["name"] for t in interpreter.get_tensor_details()}
    outputs_kept = set()
    if float_outputs:
        details = interpreter.get_signature_runner("serving_default").get_output_details()
        outputs_kept = {names[details[name]["index"]] for name in float_outputs}
    kept = set()
    for op in interpreter._get_ops_details():  # LiteRT's only op listing
        outputs = [names[i] for i in op["outputs"] if i >= 0]
        in_scope = any(_in_float_scope(name) or name in outputs_kept for name in outputs)
        if in_scope or op["op_name"] in FLOAT_OP_TYPES:
            kept.update(outputs)
    return sorted(kept)


def _in_float_scope(tensor_name: str) -> bool:
    # Fused ops are named "a;b"; a scope entered twice in one layer is "float_context_1".
    parts = (part for name in tensor_name.split(";") for part in name.split("/"))
    return any(part == FLOAT_SCOPE or part.startswith(f"{FLOAT_SCOPE}_") for part in parts)


def convert_int8(converter, float_outputs: tuple[str, ...] = ()) -> bytes:
    """Full-integer flatbuffer from a configured int8 ``TFLiteConverter`` (representative
    dataset set, `TFLITE_BUILTINS_INT8`), with the recipe's float ops, and the ops computing
    the signature outputs named in ``float_outputs`` in float too (a stream's running mean and
    count: `float_tensor_names`).

    The input and output types are the converter's ``inference_input_type`` and
    ``inference_output_type`` (float32 unless int8 I/O was asked for).
    """
    import tensorflow as tf
    from tensorflow.lite.python import convert

    converter._experimental_calibrate_only = True  # as QuantizationDebugger does
    calibrated = converter.convert()
    return convert.mlir_quantize(
        calibrated,
        disable_per_channel=converter._experimental_disable_per_channel,
        input_data_type=converter.inference_input_type or tf.float32,
        output_data_type=converter.inference_output_type or tf.float32,
        denylisted_nodes=float_tensor_names(calibrated, float_outputs),
    )


def unexpected_float_ops(content: bytes) -> list[str]:
    """Ops of an int8 flatbuffer that compute in float outside the recipe, as ``"NAME x N"``.

    Empty for a model converted by `convert_int8`: its float ops are the QUANTIZE/DEQUANTIZE at
    the float input/output and around the float ops, the ops under `FLOAT_SCOPE` and those of
    `FLOAT_OP_TYPES`.
    """
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=bytes(content))
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    counts: dict[str, int] = {}
    for op in interpreter._get_ops_details():
        indices = [i for i in (*op["inputs"], *op["outputs"]) if i >= 0]
        if not any(tensors[i]["dtype"] == np.float32 for i in indices):
            continue
        if op["op_name"] in ("QUANTIZE", "DEQUANTIZE", *FLOAT_OP_TYPES):
            continue
        if any(_in_float_scope(tensors[i]["name"]) for i in op["outputs"] if i >= 0):
            continue
        counts[op["op_name"]] = counts.get(op["op_name"], 0) + 1
    return [f"{name} x{n}" for name, n in sorted(counts.items())]
