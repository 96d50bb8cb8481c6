"""Which ops of a TFLite model LiteRT's XNNPACK delegate runs, and which fall back.

XNNPACK replaces each maximal run of ops it supports by one delegate node (a partition); the
ops it has no kernel for stay on TFLite's reference kernels between partitions. A graph that
splits into many partitions pays for the fallback ops and for leaving and re-entering the
delegate around each (issue 15: the int8 context blocks made XwiseNet's int8 model slower
than float).

LiteRT does not list the delegated ops, but it appends one node per partition whose inputs and
outputs are the partition's boundary tensors. An original op is delegated exactly when the
tensors it produces are either partition outputs or only read inside a partition; that is
decided here from the graph, last op first.
"""

from __future__ import annotations

from collections import Counter, defaultdict


def xnnpack_delegation(content: bytes, num_threads: int | None = None) -> dict:
    """Partitions and fallback ops of `content` under LiteRT's default XNNPACK delegate.

    Returns:
        ``{"ops": N, "partitions": P, "delegated_ops": D, "fallback": {op name: count},
        "fallback_tensors": [output tensor names of the fallback ops, at most 20]}``;
        ``{"error": message}`` when XNNPACK refuses the graph (it then runs on reference
        kernels only, `xwisenet_tf.tflite_runner.TFLiteRunner` with ``fallback=True``).
    """
    from ai_edge_litert.interpreter import Interpreter

    kwargs = {} if num_threads is None else {"num_threads": num_threads}
    interpreter = Interpreter(model_content=bytes(content), **kwargs)
    ops = interpreter._get_ops_details()  # LiteRT's only op listing
    model_outputs = {d["index"] for d in interpreter.get_output_details()}
    try:
        interpreter.allocate_tensors()
    except RuntimeError as e:
        return {"error": str(e).split("failed to create XNNPACK runtime")[-1].strip()[:200]}
    wrapper = interpreter._interpreter
    partition_inputs, partition_outputs = set(), set()
    for node in range(len(ops), wrapper.NumNodes()):
        partition_inputs.update(int(t) for t in wrapper.NodeInputs(node))
        partition_outputs.update(int(t) for t in wrapper.NodeOutputs(node))
    readers = defaultdict(list)
    for op in ops:
        for tensor in op["inputs"]:
            readers[int(tensor)].append(op["index"])
    delegated: dict[int, bool] = {}
    for op in reversed(ops):  # TFLite stores ops in execution order
        outputs = [int(t) for t in op["outputs"]]
        if any(t in partition_outputs for t in outputs):
            delegated[op["index"]] = True
            continue
        left = any(
            t in partition_inputs or t in model_outputs or any(not delegated[r] for r in readers[t])
            for t in outputs
        )
        delegated[op["index"]] = not left and wrapper.NumNodes() > len(ops)
    fallback = [op for op in ops if not delegated[op["index"]]]
    names = {d["index"]: d["name"] for d in interpreter.get_tensor_details()}
    return {
        "ops": len(ops),
        "partitions": wrapper.NumNodes() - len(ops),
        "delegated_ops": len(ops) - len(fallback),
        "fallback": dict(Counter(op["op_name"] for op in fallback).most_common()),
        "fallback_tensors": [names[int(op["outputs"][0])] for op in fallback[:20]],
    }


def describe_delegation(report: dict) -> str:
    """One line for logs and tables, e.g. ``"1 partition, all 620 ops"``."""
    if "error" in report:
        return f"XNNPACK refused the graph ({report['error']})"
    partitions = f"{report['partitions']} partition{'s' * (report['partitions'] != 1)}"
    if not report["fallback"]:
        return f"{partitions}, all {report['ops']} ops"
    ops = ", ".join(f"{name} x{count}" for name, count in report["fallback"].items())
    return f"{partitions}; on reference kernels: {ops}"
