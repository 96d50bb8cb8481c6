"""The streaming step model as a TFLite file: new frames and the state in, the probabilities
so far and the new state out (`xwisenet_tf.streaming`), verified and timed per frame.

Signature ``serving_default``: inputs ``frame`` ((1, H, W, 3), or (1, k, H, W, 3) with
``--stream_frames_per_step=k`` > 1; float32, normalised as the clips are) and one input per
state; outputs ``probabilities`` (after the last frame of the step) and, under the same names,
the new states, which an app feeds back at the next step (zeros before the first). Float or
int8 inside (builtin ops only); the inputs and outputs stay float32 so that the state keeps its
precision between calls. With ``--stream_half_life`` the average over time is exponential (a
MAXIMUM, MUL and ADD on the same state), its half-life a constant of the graph recorded in the
metadata (``export.half_life``, ``null`` for the cumulative mean); k is recorded as
``export.frames_per_step``.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from typing import TYPE_CHECKING

import numpy as np

from xwisenet_tf.export.errors import ExportError

if TYPE_CHECKING:
    from xwisenet_tf.export.job import ExportJob
    from xwisenet_tf.export.verification_data import VerificationData
    from xwisenet_tf.streaming import StepModel

# Calibration of an int8 step: the frames of this many clips, each with the state it meets.
CALIBRATION_CLIPS = 8


def convert_step_model(
    step: StepModel, quantization: str = "none", calibration_clips: np.ndarray | None = None
) -> bytes:
    """The TFLite flatbuffer of a step model (builtin ops only).

    Args:
        step: `xwisenet_tf.streaming.build_step_model`'s result.
        quantization: ``"none"``, ``"fp16"``, ``"dynamic"`` or ``"int8"``.
        calibration_clips: int8 only: normalised clips ``(N, T, H, W, 3)``; the float step
            model runs through each, so that every state is calibrated with the values it
            takes in a stream.

    Raises:
        ExportError: bad quantization, no calibration clips, or a failed conversion.
    """
    import keras
    import tensorflow as tf

    from xwisenet_tf.export.int8_recipe import convert_int8
    from xwisenet_tf.export.tflite import _summarize_error, check_quantization, non_builtin_ops
    from xwisenet_tf.layers.context_blocks import tflite_form
    from xwisenet_tf.streaming import FEATURE_MEAN, FRAMES_SEEN

    check_quantization(quantization)
    if quantization == "int8" and calibration_clips is None:
        raise ExportError("an int8 step model needs calibration clips")
    names = ["frame", *step.state_names]
    shapes = [step.frame_input_shape, *step.state_shapes.values()]
    # One named argument per tensor: the signature's input names, which the int8 calibrator
    # and an app's signature runner call it with.
    specs = [tf.TensorSpec((1, *s), tf.float32, name=n) for n, s in zip(names, shapes, strict=True)]
    archive = keras.export.ExportArchive()
    archive.track(step.model)
    model = step.model

    def serve(*tensors):
        return model(dict(zip(names, tensors, strict=True)), training=False)

    archive.add_endpoint("serving_default", serve, input_signature=specs)
    with tempfile.TemporaryDirectory(prefix="xwisenet_step_") as workdir:
        with tflite_form():  # traced here, with the context blocks' int8-friendly form
            archive.write_out(workdir, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(
            workdir, signature_keys=["serving_default"]
        )
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if quantization in ("fp16", "dynamic", "int8"):
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantization == "fp16":
            converter.target_spec.supported_types = [tf.float16]
        if quantization == "int8":
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            run = step.compiled()

            def representative():
                for clip in calibration_clips[:CALIBRATION_CLIPS]:
                    for inputs, _ in step.stream(run, clip):
                        yield inputs

            converter.representative_dataset = representative
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings(
                    "ignore", message="(?s).*tf.lite.Interpreter is deprecated.*"
                )
                content = (
                    convert_int8(converter, (FEATURE_MEAN, FRAMES_SEEN))
                    if quantization == "int8"
                    else converter.convert()
                )
        except Exception as e:  # noqa: BLE001 - ConverterError, RuntimeError from the calibrator
            raise ExportError(
                f"TFLite conversion of the step model {step.model.name} "
                f"(quantization={quantization}) failed: {_summarize_error(e)}"
            ) from e
    foreign = non_builtin_ops(content)
    if foreign:
        raise ExportError(f"the step model's TFLite graph holds non-builtin ops {foreign}")
    return content


def export_stream_tflite_file(job: ExportJob, data: VerificationData) -> tuple[str, dict]:
    """``<name>_stream_<quantization>.tflite`` (``_stream_step<k>_`` with
    ``--stream_frames_per_step`` k > 1, ``_halflife<h>_`` with ``--stream_half_life``): the
    step model of the checkpoint (a causal model), compared step by step with the Keras step
    model and, after the last frame of each verification clip, with the Keras clip model (the
    cumulative mean) or the Keras step model (an exponential average, which the clip model does
    not compute); latency per frame (a step's divided by k) beside the float clip model's
    latency divided by its frames, measured in the same run."""
    from xwisenet_tf.export.formats import FILE_TAGS, REFERENCE, model_metadata, write_tflite
    from xwisenet_tf.export.tflite import tflite_op_names
    from xwisenet_tf.export.verify import compare_outputs
    from xwisenet_tf.streaming import NotCausalError, build_step_model
    from xwisenet_tf.tflite_runner import TFLiteRunner
    from xwisenet_tf.training.model_metadata import add_tflite_metadata

    options = job.options  # validated: no --include_preprocessing, no --int8_io
    try:
        step = build_step_model(
            job.export, options.stream_half_life, options.stream_frames_per_step
        )
    except NotCausalError as e:
        raise ExportError(f"--stream: {e}") from e
    k, clip_frames = step.frames_per_step, int(np.shape(data.verify_inputs)[1])
    if clip_frames % k:
        raise ExportError(
            f"--stream_frames_per_step={k} must divide the {clip_frames} frames of the "
            "verification clips (--num_frames), which are streamed whole"
        )
    steps = "" if k == 1 else f"step{k}_"
    horizon = "" if step.half_life is None else f"halflife{step.half_life:g}_"
    name = f"{job.base}_stream_{steps}{horizon}{FILE_TAGS[options.quantize]}.tflite"
    path = os.path.join(options.output_dir, name)
    content = convert_step_model(step, options.quantize, data.calibration_inputs)
    export_info = {
        "format": "tflite_stream",
        "quantization": options.quantize,
        "signature": "serving_default",
        "frame_input": "frame",
        "states": {n: list(s) for n, s in step.state_shapes.items()},
        "half_life": step.half_life,
        "frames_per_step": k,
        "usage": "feed each output state back as the input of the same name at the next "
        "step; zeros before the first step",
    }
    metadata = model_metadata(job, {"export": export_info})
    content = add_tflite_metadata(content, metadata)
    runner = TFLiteRunner(content, num_threads=options.num_threads, fallback=True)

    def tflite_step(inputs):
        return runner.run_signature(**inputs)

    keras_step = step.compiled()
    per_frame_diff, finals, keras_finals = 0.0, [], []
    for clip in data.verify_inputs:
        expected = [out["probabilities"] for _, out in step.stream(keras_step, clip)]
        got = [out["probabilities"] for _, out in step.stream(tflite_step, clip)]
        per_frame_diff = max(
            per_frame_diff, float(np.abs(np.stack(expected) - np.stack(got)).max())
        )
        finals.append(got[-1][0])
        keras_finals.append(expected[-1][0])
    if step.half_life is None:
        reference = f"{REFERENCE}, the clip model on every frame of each clip"
        reference_scores = data.keras_scores()
    else:
        reference = (
            f"{REFERENCE}, its step model (half-life {step.half_life:g} frames) after the last "
            "frame of each clip"
        )
        reference_scores = np.stack(keras_finals)
    verification = {
        **data.info(),
        "reference": reference,
        **compare_outputs(reference_scores, np.stack(finals)),
        "max_abs_diff_per_frame_vs_keras_step": per_frame_diff,
    }
    latency = _frame_latency(runner, step, job, data.verify_inputs[0])
    entry = {
        "format": "tflite_stream",
        "path": os.path.abspath(path),
        "quantization": options.quantize,
        "size_bytes": len(content),
        "size_mb": round(len(content) / 2**20, 3),
        "states": export_info["states"],
        "half_life": step.half_life,
        "frames_per_step": k,
        "macs_per_frame": int(step.macs_per_frame()),
        "ops": tflite_op_names(content),
        "delegate": runner.delegate,
        "verification": verification,
        "latency": latency,
    }

    def last_probabilities(clip):
        *_, (_, outputs) = step.stream(tflite_step, clip)
        return outputs["probabilities"][0]

    return write_tflite(path, content, metadata, entry, job, data, last_probabilities)


def _frame_latency(runner, step, job: ExportJob, clip: np.ndarray) -> dict:
    """Median LiteRT time of one step (``runner``) per frame it takes, and of the float clip
    model divided by its frames, one after the other in this process, on the frames of
    ``clip``."""
    from ai_edge_litert import __version__ as litert_version

    from xwisenet_tf.export.tflite import convert_to_tflite
    from xwisenet_tf.export.verify import median_latency_ms
    from xwisenet_tf.tflite_runner import TFLiteRunner

    options = job.options
    clip = np.asarray(clip, np.float32)
    k = step.frames_per_step
    inputs = {"frame": step.frame_input(clip[:k]), **step.initial_state(1)}
    signature = runner.interpreter.get_signature_runner()
    runs = max(options.latency_runs, 10)
    timed = median_latency_ms(lambda: signature(**inputs), runs * 4, 5)
    clip_runner = TFLiteRunner(convert_to_tflite(job.export), num_threads=options.num_threads)
    clip_runner.set_input(clip)
    whole = median_latency_ms(clip_runner.invoke, runs, 3)
    frames = clip.shape[0]
    return {
        "runtime": f"ai-edge-litert {litert_version}",
        "num_threads": options.num_threads,
        "frames_per_step": k,
        "step_median_ms": timed["median_ms"],
        "frame_median_ms": round(timed["median_ms"] / k, 3),
        "frame_min_ms": round(timed["min_ms"] / k, 3),
        "clip_float32_median_ms": whole["median_ms"],
        "clip_float32_per_frame_ms": round(whole["median_ms"] / frames, 3),
        "frames_per_clip": frames,
    }
