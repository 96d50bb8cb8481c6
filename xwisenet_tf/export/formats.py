"""One exporter per format: SavedModel and TFLite files of an `ExportJob`, each verified
against the Keras model on the clips of its `VerificationData`, with its metadata sidecar.

Each function writes its file(s) atomically and returns ``(file name, report entry)``; the
entry is what ``export_report.json`` records of the file (`xwisenet_tf.export.exporter`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from xwisenet_tf import files
from xwisenet_tf.export.errors import ExportError

if TYPE_CHECKING:
    from xwisenet_tf.export.job import ExportJob
    from xwisenet_tf.export.verification_data import VerificationData

FILE_TAGS = {"none": "float32", "fp16": "fp16", "dynamic": "dynamic", "int8": "int8"}
REFERENCE = "Keras model (float32)"


def model_metadata(job: ExportJob, extra: dict) -> dict:
    """The ``xwisenet_tf.model/1`` metadata of an exported file: the checkpoint's, with the
    exported input (clip shape, normalisation, dtype) and ``extra``."""
    from xwisenet_tf.data.pipeline import MEAN_RGB, STD_RGB

    source_input = dict(job.metadata.get("input") or {})
    preprocessing = job.options.include_preprocessing
    return {
        "format": "xwisenet_tf.model/1",
        "class_names": job.class_names,
        "input": {
            **source_input,
            "num_frames": job.num_frames,
            "image_size": job.image_size,
            "frame_stride": job.frame_stride,
            "mean_rgb": list(MEAN_RGB),
            "std_rgb": list(STD_RGB),
            "layout": "NTHWC",
            "dtype": "uint8" if preprocessing else "float32",
            "normalization": "in_model" if preprocessing else "(x - mean_rgb) / std_rgb",
        },
        "model": job.metadata.get("model"),
        "model_spec": job.metadata.get("model_spec"),
        "dataset": job.metadata.get("dataset"),
        "source_checkpoint": job.metadata["checkpoint"],
        **extra,
    }


def _write_sidecar(path: str, data: dict) -> None:
    files.write_json(f"{path}.json", data)


def write_tflite(
    path: str,
    content: bytes,
    metadata: dict,
    entry: dict,
    job: ExportJob,
    data: VerificationData,
    predict_clip: Callable[[np.ndarray], np.ndarray],
) -> tuple[str, dict]:
    """Writes a verified TFLite export and its sidecar, after adding to its report ``entry``
    the clip and video accuracy (sec. IV-C) of ``predict_clip`` (one clip -> its scores) when
    ``--evaluate_accuracy`` asks for it.

    Returns:
        ``(file name, entry)``, as every exporter.
    """
    if job.options.evaluate_accuracy:
        entry["accuracy"] = data.accuracy(lambda batch: np.stack([predict_clip(x) for x in batch]))
    files.write_bytes(path, content)
    _write_sidecar(path, metadata)
    return os.path.basename(path), entry


def _tensor_info(detail: dict, signature_name: str) -> dict:
    scale, zero_point = detail["quantization"]
    info = {
        "signature_name": signature_name,
        "tensor_name": detail["name"],
        "shape": [int(d) for d in detail["shape"]],
        "dtype": np.dtype(detail["dtype"]).name,
    }
    if scale:
        info["quantization"] = {"scale": float(scale), "zero_point": int(zero_point)}
    return info


def export_saved_model_file(job: ExportJob, data: VerificationData) -> tuple[str, dict]:
    """``saved_model/`` (or ``saved_model_preprocessing/``): dynamic batch, ``serving_default``."""
    from xwisenet_tf.export.saved_model import (
        SIGNATURE_KEY,
        export_saved_model,
        load_serving_function,
        output_name,
    )
    from xwisenet_tf.export.verify import compare_outputs, median_latency_ms

    options = job.options
    name = "saved_model_preprocessing" if options.include_preprocessing else "saved_model"
    path = os.path.join(options.output_dir, name)
    export_saved_model(job.export, path, job.class_names)
    loaded, serve = load_serving_function(path)
    input_name = list(serve.structured_input_signature[1])[0]
    out_key = output_name(job.export)
    scores = np.concatenate(
        [serve(**{input_name: x[None]})[out_key].numpy() for x in data.verify_inputs]
    )
    batch = data.verify_inputs[:1]
    latency = median_latency_ms(lambda: serve(**{input_name: batch}), options.latency_runs, 3)
    entry = {
        "format": "saved_model",
        "path": os.path.abspath(path),
        "signature": SIGNATURE_KEY,
        "input": {
            "name": input_name,
            "shape": [None, job.num_frames, job.image_size, job.image_size, 3],
            "dtype": "uint8" if options.include_preprocessing else "float32",
        },
        "output": {"name": out_key, "shape": [None, len(job.class_names)]},
        "size_bytes": files.directory_size(path),
        "verification": {
            **data.info(),
            "reference": REFERENCE,
            **compare_outputs(data.keras_scores(), scores),
        },
        "latency": {"saved_model_median_ms": latency["median_ms"], "runs": latency},
    }
    del loaded
    _write_sidecar(
        path,
        model_metadata(job, {"export": {"format": "saved_model", "signature": SIGNATURE_KEY}}),
    )
    return name, entry


def export_tflite_file(job: ExportJob, data: VerificationData) -> tuple[str, dict]:
    """``<name>[_preprocessing]_<quantization>[_int8io].tflite``: static batch 1, builtin ops,
    the metadata inside the file and in its sidecar."""
    from xwisenet_tf.export.delegation import xnnpack_delegation
    from xwisenet_tf.export.tflite import (
        convert_to_tflite,
        float_op_names,
        non_builtin_ops,
        tflite_op_names,
    )
    from xwisenet_tf.export.verify import compare_outputs, measure_latency
    from xwisenet_tf.tflite_runner import TFLiteRunner
    from xwisenet_tf.training.model_metadata import add_tflite_metadata

    options = job.options
    tag = FILE_TAGS[options.quantize] + ("_int8io" if options.int8_io else "")
    base = job.base + ("_preprocessing" if options.include_preprocessing else "")
    name = f"{base}_{tag}.tflite"
    path = os.path.join(options.output_dir, name)
    content = convert_to_tflite(
        job.export,
        quantization=options.quantize,
        calibration_data=data.calibration_inputs,
        int8_io=options.int8_io,
    )
    export_info = {
        "format": "tflite",
        "quantization": options.quantize,
        "int8_io": options.int8_io,
        "signature": "serving_default",
    }
    metadata = model_metadata(job, {"export": export_info})
    content = add_tflite_metadata(content, metadata)
    ops = tflite_op_names(content)
    foreign = non_builtin_ops(content)
    if foreign:  # convert_to_tflite checks too; the metadata must not change that
        raise ExportError(f"{name}: non-builtin ops {foreign}")
    runner = TFLiteRunner(content, num_threads=options.num_threads)
    signature = runner.interpreter.get_signature_list()["serving_default"]
    scores = np.stack([runner(x) for x in data.verify_inputs])
    verification = {
        **data.info(),
        "reference": REFERENCE,
        **compare_outputs(data.keras_scores(), scores),
    }
    latency = measure_latency(
        content,
        job.reference,
        data.verify_inputs[0],
        runs=options.latency_runs,
        num_threads=options.num_threads,
    )
    entry = {
        "format": "tflite",
        "path": os.path.abspath(path),
        "quantization": options.quantize,
        "int8_io": options.int8_io,
        "include_preprocessing": options.include_preprocessing,
        "fold_batch_norms": options.fold_batch_norms,
        "size_bytes": len(content),
        "size_mb": round(len(content) / 2**20, 3),
        "input": _tensor_info(runner.input, signature["inputs"][0]),
        "output": _tensor_info(runner.output, signature["outputs"][0]),
        "ops": ops,
        "builtin_ops_only": not foreign,
        "float_ops": float_op_names(content) if options.quantize == "int8" else None,
        "xnnpack": xnnpack_delegation(content, options.num_threads),
        "verification": verification,
        "latency": latency,
    }
    if options.quantize == "int8":
        entry["calibration"] = {
            "data_dir": data.data_dir,
            "source": data.data_source,
            "split": data.calibration_split,
            "num_clips": int(len(data.calibration_inputs)),
            "pipeline": "evaluation (centre crop, non-overlapping clips)",
        }
    return write_tflite(path, content, metadata, entry, job, data, runner)
