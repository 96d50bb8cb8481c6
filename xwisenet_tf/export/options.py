"""What ``export.py`` exports and how it checks it: `ExportOptions` (one field per flag, with
its default and help: `xwisenet_tf.settings`), `QUANTIZATIONS` and `check_quantization`.

TensorFlow-free, so that ``export.py`` defines its flags from these fields and checks them
(`ExportOptions.validate`) before TensorFlow loads; `xwisenet_tf.export.tflite` and
`xwisenet_tf.export.exporter` use the same names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from xwisenet_tf.export.errors import ExportError
from xwisenet_tf.layer_options import check_frames_per_step, check_half_life
from xwisenet_tf.settings import documented, setting

QUANTIZATIONS = ("none", "fp16", "dynamic", "int8")


def check_quantization(quantization: str, flag: str | None = None) -> str:
    """Returns ``quantization`` if it is one of `QUANTIZATIONS` (the one check of a quantization:
    ``export.py``, `ExportOptions`, `xwisenet_tf.export.tflite.convert_to_tflite`).

    Raises:
        ExportError: naming the value (and ``--<flag>``) and the allowed ones.
    """
    if quantization not in QUANTIZATIONS:
        what = f"unknown quantization {quantization!r}"
        if flag:
            what = f"--{flag} {quantization!r}: unknown quantization"
        raise ExportError(f"{what}; expected one of {', '.join(QUANTIZATIONS)}")
    return quantization


@documented
@dataclass
class ExportOptions:
    """What to export and how to check it; every field is a flag of ``export.py``."""

    checkpoint: str = setting(
        help="A .keras checkpoint, or a training model_dir.",
        doc="A ``.keras`` checkpoint, or a training ``model_dir`` (its ``best.keras``, else "
        "``last.keras``).",
    )
    output_dir: str = setting(
        help="Directory for the exported models and the report.",
        doc="Where the models, their sidecars and ``export_report.json`` go.",
    )
    saved_model: bool = setting(
        False,
        "Export a SavedModel (signature 'serving_default').",
        doc="Export a SavedModel (dynamic batch, signature ``serving_default``).",
    )
    tflite: bool = setting(False, "Export a TFLite model (static batch 1).")
    stream: bool = setting(
        False,
        "Export the streaming step model of a causal checkpoint (--model=xwisenet-stream) as "
        "TFLite: one frame and the state in, the probabilities so far and the new state out.",
        doc="Export the step model of a causal checkpoint (`xwisenet_tf.streaming`) as TFLite "
        "(``<name>_stream_<quantization>.tflite``; ``quantize`` applies), verified frame by "
        "frame against Keras and timed per frame beside the clip model.",
    )
    stream_half_life: float | None = setting(
        None,
        "With --stream: the half-life in frames of the step model's average over time, so "
        "that its top label follows a change of action within 2 half-lives (0 or unset: the "
        "cumulative mean over every frame). Recorded in the model's metadata.",
        doc="With ``stream``: the half-life in frames of the step model's exponential average "
        "over time (`layers.RunningMean`), so that the top label follows a change of action "
        "within `FOLLOW_HALF_LIVES` half-lives (`xwisenet_tf.streaming.step_model`); 0 or "
        "``None``: the cumulative mean over every frame. A constant of the graph, recorded "
        "in the metadata (``export.half_life``) for ``predict.py --stream``.",
    )
    stream_frames_per_step: int = setting(
        1,
        "With --stream: frames per step (k); the step model takes k frames at once and gives "
        "the probabilities after the last, so LiteRT pays each op's fixed cost once per k "
        "frames, for up to k - 1 frames of latency. Recorded in the model's metadata.",
        doc="With ``stream``: the frames k one step takes (`build_step_model`'s "
        "``frames_per_step``): a ``frame`` input ``(1, k, H, W, 3)`` for k > 1, the "
        "probabilities after its last frame; LiteRT pays each op's fixed cost once per k "
        "frames, a live stream waits up to k - 1 frames longer. Must divide the clips' "
        "frames (the verification streams whole clips). A constant of the graph, recorded in "
        "the metadata (``export.frames_per_step``) for ``predict.py --stream``.",
    )
    quantize: str = setting(
        "none",
        "TFLite quantization: none (float32), fp16 (float16 weights), dynamic (int8 weights), "
        "int8 (full integer, calibrated on --calibration_data).",
    )
    num_frames: int | None = setting(
        None, "Frames per clip of the exported input (default: the checkpoint's)."
    )
    image_size: int | None = setting(
        None, "Frame height and width of the exported input (default: the checkpoint's)."
    )
    calibration_data: str | None = setting(
        None,
        "Prepared dataset directory (python -m xwisenet_tf.data.prepare) for int8 calibration "
        "and verification. Default: the checkpoint's training data, else the synthetic dataset.",
        doc="Prepared dataset directory (``python -m xwisenet_tf.data.prepare``) for int8 "
        "calibration and for verification. Default: the dataset the checkpoint was trained on "
        "(from its training run's ``config.json``), else the synthetic dataset (with a "
        "warning).",
    )
    num_calibration_clips: int = setting(100, "Clips to calibrate int8.")
    calibration_split: str = setting("train", "Split of the calibration clips.")
    verify_split: str | None = setting(
        None,
        "Split of the verification clips (default: test, else validation).",
        doc="Split the verification clips (and the accuracy) come from; default ``test``, else "
        "``validation``, else any.",
    )
    num_verify_clips: int = setting(32, "Clips on which the export is compared with Keras.")
    include_preprocessing: bool = setting(
        False,
        "The exported model takes uint8 RGB frames [0, 255] and normalises them itself.",
        doc="The exported model takes uint8 RGB frames (0-255) and normalises them itself "
        "(`FramePreprocessing`).",
    )
    int8_io: bool = setting(
        False,
        "With --quantize int8: int8 input/output tensors.",
        doc="With ``quantize='int8'``: int8 output (and int8 input unless "
        "`include_preprocessing`, whose input stays uint8).",
    )
    fold_batch_norms: bool = setting(
        True,
        "Fold BatchNorms into the convolutions before converting.",
        doc="Fold BatchNorms into the convolutions before converting "
        "(`xwisenet_tf.optimize.fold_batch_norms`; same outputs, faster).",
    )
    num_threads: int | None = setting(
        help="Interpreter threads for the latency measurement.",
        default_factory=lambda: min(4, os.cpu_count() or 1),
    )
    latency_runs: int = setting(
        20,
        "Timed runs for the median latency.",
        doc="Timed runs (after 3 warm-up runs) for the median latency.",
    )
    evaluate_accuracy: bool = setting(
        False,
        "Also report clip and video accuracy of the exported and the Keras model on the whole "
        "verification split.",
    )
    data_dir: str = setting("data_cache", "Cache of the synthetic fallback dataset.")

    def validate(self) -> ExportOptions:
        """Checks the options that need no model or data; returns ``self``.

        Raises:
            ExportError: one line naming the flag, the value and what was expected.
        """
        if not self.saved_model and not self.tflite and not self.stream:
            raise ExportError("nothing to export: pass --tflite, --saved_model and/or --stream")
        check_quantization(self.quantize, "quantize")
        if self.quantize != "none" and not self.tflite and not self.stream:
            raise ExportError(f"--quantize {self.quantize} applies to TFLite; add --tflite")
        if self.int8_io and self.quantize != "int8":
            raise ExportError(f"--int8_io needs --quantize int8; received {self.quantize!r}")
        if self.int8_io and not self.tflite:
            raise ExportError(
                "--int8_io applies to --tflite; a --stream model keeps float32 inputs and "
                "outputs (its state)"
            )
        try:
            half_life = check_half_life(self.stream_half_life, "--stream_half_life")
        except ValueError as e:
            raise ExportError(str(e)) from e
        if half_life is not None and not self.stream:
            raise ExportError("--stream_half_life applies to the step model; add --stream")
        try:
            frames_per_step = check_frames_per_step(
                self.stream_frames_per_step, "--stream_frames_per_step"
            )
        except ValueError as e:
            raise ExportError(str(e)) from e
        if frames_per_step > 1 and not self.stream:
            raise ExportError("--stream_frames_per_step applies to the step model; add --stream")
        if self.stream and self.include_preprocessing:
            raise ExportError(
                "--stream takes normalised float frames; drop --include_preprocessing"
            )
        for name in ("num_frames", "image_size", "num_threads"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ExportError(f"--{name} must be a positive integer; received {value!r}")
        for name in ("num_calibration_clips", "num_verify_clips", "latency_runs"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ExportError(f"--{name} must be a positive integer; received {value!r}")
        if not self.output_dir:
            raise ExportError("--output_dir is required")
        if not os.path.exists(self.checkpoint):
            raise ExportError(
                f"--checkpoint {self.checkpoint}: not found; expected a .keras file written by "
                "train.py or its model_dir"
            )
        if self.calibration_data is not None:
            from xwisenet_tf.export.clips import check_data_dir

            check_data_dir(self.calibration_data)
        return self
