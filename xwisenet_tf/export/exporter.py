"""`export_model`: a trained checkpoint -> SavedModel / TFLite files, each verified, with
``export_report.json`` (the library function behind ``export.py``).

Output directory layout (``<name>`` is the model's name, e.g. ``xwisenet``)::

    <name>_float32.tflite  <name>_fp16.tflite  <name>_dynamic.tflite  <name>_int8.tflite
    <name>_int8_int8io.tflite                 # --int8_io: int8 input/output tensors
    <name>_preprocessing_<mode>.tflite        # --include_preprocessing: uint8 frames in
    saved_model/  saved_model_preprocessing/  # --saved_model
    <file>.json                               # metadata sidecar of every model (class names...)
    export_report.json                        # one entry per exported file, updated per export

Every file is written to a temporary name and renamed, so an existing file is replaced whole or
left as it was. The checkpoint and its models are an `ExportJob` (`xwisenet_tf.export.job`);
the clips every export is checked (and int8 calibrated) on come from
`xwisenet_tf.export.verification_data`; each format has its exporter in
`xwisenet_tf.export.formats` (`xwisenet_tf.export.stream` for the streaming step model).
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING

import keras
import numpy as np

from xwisenet_tf import files
from xwisenet_tf.export.job import (
    ExportJob,
    load_checkpoint,
    resolve_checkpoint,
    static_float32_model,
)
from xwisenet_tf.export.options import QUANTIZATIONS, ExportOptions, check_quantization

if TYPE_CHECKING:
    from xwisenet_tf.export.verification_data import VerificationData

REPORT_FILE = "export_report.json"
REPORT_FORMAT = "xwisenet_tf.export_report/1"
# int8 against float32 TFLite: a few interleaved rounds of a few calls (issue 15's check).
INT8_LATENCY_ROUNDS = 5
INT8_LATENCY_CALLS = 3


def _environment() -> dict:
    import ai_edge_litert
    import tensorflow as tf

    return {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "ai_edge_litert": getattr(ai_edge_litert, "__version__", "unknown"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
    }


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def read_report(output_dir: str | os.PathLike) -> dict:
    """The ``export_report.json`` of ``output_dir`` (``{}`` if missing or unreadable)."""
    path = os.path.join(os.fspath(output_dir), REPORT_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            report = json.load(f)
    except (OSError, ValueError):
        return {}
    return report if isinstance(report, dict) else {}


def export_model(options: ExportOptions | None = None, **kwargs) -> dict:
    """Exports a checkpoint as ``options`` asks, verifies every file, writes the report.

    Args:
        options: An `ExportOptions`, or its fields as keyword arguments.

    Returns:
        The updated ``export_report.json`` content: ``report["exports"][file_name]`` describes
        each exported file (size, ops, verification against Keras, latency), earlier exports
        to the same directory included; ``report["last_run"]`` names the files of this call.

    Raises:
        ExportError: bad options, missing checkpoint or data, or a failed conversion.
    """
    if options is None:
        options = ExportOptions(**kwargs)
    elif kwargs:
        raise TypeError("pass either an ExportOptions or keyword arguments, not both")
    options.validate()
    from xwisenet_tf.export.formats import export_saved_model_file, export_tflite_file
    from xwisenet_tf.export.stream import export_stream_tflite_file
    from xwisenet_tf.export.verification_data import VerificationData

    job = ExportJob(options)
    os.makedirs(options.output_dir, exist_ok=True)
    data = VerificationData(job)
    formats = [
        (options.saved_model, export_saved_model_file),
        (options.tflite, export_tflite_file),
        (options.stream, export_stream_tflite_file),
    ]
    entries = {}
    for wanted, export_file in formats:
        if wanted:
            name, entry = export_file(job, data)
            entries[name] = entry
            _check_targets(job, data, entry)
            _print_entry(name, entry)
            _warn_missed_targets(name, entry)
    report = read_report(options.output_dir)
    if report.get("format") != REPORT_FORMAT:
        report = {"format": REPORT_FORMAT, "exports": {}}
    for name, entry in entries.items():
        report["exports"][name] = {
            **entry,
            "created": _now(),
            "checkpoint": job.metadata["checkpoint"],
            "class_names": job.class_names,
            "options": {k: v for k, v in asdict(options).items() if k != "output_dir"},
            "environment": _environment(),
        }
    report["updated"] = _now()
    report["last_run"] = list(entries)
    files.write_json(os.path.join(options.output_dir, REPORT_FILE), report)
    return report


def _check_targets(job: ExportJob, data: VerificationData, entry: dict) -> None:
    """Adds ``entry["targets"]`` to a quantised TFLite entry (`xwisenet_tf.export.targets`),
    after timing an int8 model against its float32 TFLite model (``latency["vs_float32"]``)."""
    from xwisenet_tf.export.targets import QUANTIZED, check_targets

    if entry["format"] not in ("tflite", "tflite_stream") or entry["quantization"] not in QUANTIZED:
        return
    if entry["quantization"] == "int8":
        entry["latency"]["vs_float32"] = _int8_vs_float32_latency(job, data, entry)
    entry["targets"] = check_targets(entry)


def _int8_vs_float32_latency(job: ExportJob, data: VerificationData, entry: dict) -> dict:
    """The int8 file of ``entry`` timed against the float32 TFLite model of the same Keras
    model (converted here, not written) in `INT8_LATENCY_ROUNDS` interleaved rounds of
    `INT8_LATENCY_CALLS` calls each, on the first verification clip (its first frame and the
    initial state for a stream model: its first step)."""
    from xwisenet_tf.export.verify import interleaved_latency
    from xwisenet_tf.tflite_runner import TFLiteRunner

    clip = np.asarray(data.verify_inputs[0])
    if entry["format"] == "tflite_stream":
        from xwisenet_tf.export.stream import convert_step_model
        from xwisenet_tf.streaming import build_step_model

        step = build_step_model(
            job.export, job.options.stream_half_life, job.options.stream_frames_per_step
        )
        float_content = convert_step_model(step)
        inputs = {"frame": step.frame_input(clip[: step.frames_per_step])}
        inputs.update(step.initial_state(1))

        def caller(runner):
            return lambda: runner.run_signature(**inputs)
    else:
        from xwisenet_tf.export.tflite import convert_to_tflite

        float_content = convert_to_tflite(job.export)

        def caller(runner):
            runner.set_input(clip)
            return runner.invoke

    threads = job.options.num_threads
    int8 = TFLiteRunner(path=entry["path"], num_threads=threads, fallback=True)
    float32 = TFLiteRunner(float_content, num_threads=threads, fallback=True)
    timed = interleaved_latency(
        caller(int8), caller(float32), INT8_LATENCY_ROUNDS, INT8_LATENCY_CALLS
    )
    return {
        "int8_median_ms": timed["median_ms"],
        "float32_median_ms": timed["baseline_median_ms"],
        "ratio": timed["ratio"],
        "rounds": timed["rounds"],
        "calls_per_round": timed["calls_per_round"],
        "num_threads": threads,
    }


def _warn_missed_targets(name: str, entry: dict) -> None:
    from xwisenet_tf.export.targets import missed_messages

    for message in missed_messages(name, entry.get("targets", [])):
        print(f"WARNING: {message}", file=sys.stderr, flush=True)


def _print_entry(name: str, entry: dict) -> None:
    check = entry["verification"]
    line = (
        f"Exported {name}: {entry['size_bytes'] / 2**20:.2f} MB; vs Keras on "
        f"{check['num_clips']} clips: top-1 agreement {check['top1_agreement']:.1%}, "
        f"max |diff| {check['max_abs_diff']:.2e}"
    )
    latency = entry.get("latency", {})
    if "tflite_median_ms" in latency:
        line += (
            f"; latency {latency['tflite_median_ms']:.1f} ms (LiteRT, {latency['num_threads']} "
            f"threads) vs Keras {latency['keras_median_ms']:.1f} ms"
        )
    if "frame_median_ms" in latency:
        line += (
            f"; {latency['frame_median_ms']:.1f} ms per frame (LiteRT, "
            f"{latency['num_threads']} threads) vs the clip model's "
            f"{latency['clip_float32_per_frame_ms']:.1f} ms per frame"
        )
    if "vs_float32" in latency:
        line += f"; {latency['vs_float32']['ratio']:.2f} x the float32 TFLite model's latency"
    accuracy = entry.get("accuracy")
    if accuracy:
        line += (
            f"; video accuracy {accuracy['video_accuracy']:.1%} "
            f"(Keras {accuracy['keras_video_accuracy']:.1%})"
        )
    print(line, flush=True)


__all__ = [
    "ExportOptions",
    "QUANTIZATIONS",
    "check_quantization",
    "export_model",
    "load_checkpoint",
    "read_report",
    "resolve_checkpoint",
    "static_float32_model",
]
