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
left as it was.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import re
import sys
from dataclasses import asdict, dataclass, field

import keras
import numpy as np

from xwisenet_tf import files
from xwisenet_tf.export.errors import ExportError
from xwisenet_tf.export.tflite import QUANTIZATIONS, check_quantization

REPORT_FILE = "export_report.json"
REPORT_FORMAT = "xwisenet_tf.export_report/1"
FILE_TAGS = {"none": "float32", "fp16": "fp16", "dynamic": "dynamic", "int8": "int8"}


@dataclass
class ExportOptions:
    """What to export and how to check it; every field is a flag of ``export.py``.

    Attributes:
        checkpoint: A ``.keras`` checkpoint, or a training ``model_dir`` (its ``best.keras``,
            else ``last.keras``).
        output_dir: Where the models, their sidecars and ``export_report.json`` go.
        saved_model: Export a SavedModel (dynamic batch, signature ``serving_default``).
        tflite: Export a TFLite model (static batch 1).
        quantize: TFLite quantization: ``none`` (float32), ``fp16``, ``dynamic`` (int8 weights)
            or ``int8`` (full integer, calibrated).
        num_frames: Frames per clip of the exported input; default: the checkpoint's.
        image_size: Height and width of the exported input; default: the checkpoint's.
        calibration_data: Prepared dataset directory (``python -m xwisenet_tf.data.prepare``)
            for int8 calibration and for verification. Default: the dataset the checkpoint was
            trained on (from its training run's ``config.json``), else the synthetic dataset
            (with a warning).
        num_calibration_clips: Evaluation clips used to calibrate int8.
        calibration_split: Split the calibration clips come from.
        verify_split: Split the verification clips (and the accuracy) come from; default
            ``test``, else ``validation``, else any.
        num_verify_clips: Evaluation clips on which the export is compared with Keras.
        include_preprocessing: The exported model takes uint8 RGB frames (0-255) and
            normalises them itself (`FramePreprocessing`).
        int8_io: With ``quantize="int8"``: int8 output (and int8 input unless
            `include_preprocessing`, whose input stays uint8).
        fold_batch_norms: Fold BatchNorms into the convolutions before converting
            (`xwisenet_tf.optimize.fold_batch_norms`; same outputs, faster).
        num_threads: Interpreter threads for the latency measurement.
        latency_runs: Timed runs (after 3 warm-up runs) for the median latency.
        evaluate_accuracy: Also compute clip and video accuracy (sec. IV-C) of the exported
            model and of the Keras model on the whole `verify_split`.
        data_dir: Cache of the synthetic fallback dataset.
    """

    checkpoint: str
    output_dir: str
    saved_model: bool = False
    tflite: bool = False
    quantize: str = "none"
    num_frames: int | None = None
    image_size: int | None = None
    calibration_data: str | None = None
    num_calibration_clips: int = 100
    calibration_split: str = "train"
    verify_split: str | None = None
    num_verify_clips: int = 32
    include_preprocessing: bool = False
    int8_io: bool = False
    fold_batch_norms: bool = True
    num_threads: int | None = field(default_factory=lambda: min(4, os.cpu_count() or 1))
    latency_runs: int = 20
    evaluate_accuracy: bool = False
    data_dir: str = "data_cache"

    def validate(self) -> ExportOptions:
        """Checks the options that need no model or data; returns ``self``.

        Raises:
            ExportError: one line naming the flag, the value and what was expected.
        """
        if not self.saved_model and not self.tflite:
            raise ExportError("nothing to export: pass --tflite and/or --saved_model")
        if self.quantize not in QUANTIZATIONS:
            raise ExportError(
                f"--quantize {self.quantize!r}: unknown quantization; expected one of "
                f"{', '.join(QUANTIZATIONS)}"
            )
        if self.quantize != "none" and not self.tflite:
            raise ExportError(f"--quantize {self.quantize} applies to TFLite; add --tflite")
        if self.int8_io and self.quantize != "int8":
            raise ExportError(f"--int8_io needs --quantize int8; received {self.quantize!r}")
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


def resolve_checkpoint(path: str | os.PathLike) -> str:
    """The ``.keras`` file of ``path`` (`xwisenet_tf.training.checkpoint.find_checkpoint`).

    Raises:
        ExportError: nothing loadable there.
    """
    from xwisenet_tf.training.checkpoint import find_checkpoint

    with _as_export_error():
        return find_checkpoint(path, f"--checkpoint {os.fspath(path)}")


def load_checkpoint(path: str | os.PathLike) -> tuple[keras.Model, dict]:
    """Loads a checkpoint and its metadata (`xwisenet_tf.training.checkpoint.load`).

    Returns:
        ``(model, metadata)``; ``metadata["class_names"]`` always set (``class_<i>`` when the
        checkpoint has no sidecar or training ``config.json``, with a warning) and
        ``metadata["checkpoint"]`` the file's absolute path.

    Raises:
        ExportError: missing or unreadable checkpoint, metadata that does not fit the model.
    """
    from xwisenet_tf.training import checkpoint

    path = resolve_checkpoint(path)
    with _as_export_error():
        loaded = checkpoint.load(path, f"--checkpoint {path}")
    if not loaded.has_class_names:
        print(
            f"WARNING: {path} has no class names (no {os.path.basename(path)}.json sidecar or "
            "training config.json); the export names them class_0, class_1, ...",
            file=sys.stderr,
        )
    metadata = {
        **loaded.metadata,
        "class_names": loaded.class_names,
        "checkpoint": os.path.abspath(path),
    }
    return loaded.model, metadata


@contextlib.contextmanager
def _as_export_error():
    """Re-raises a `TrainingError` of the checkpoint module as an `ExportError` (one line)."""
    from xwisenet_tf.errors import one_line
    from xwisenet_tf.training.errors import TrainingError

    try:
        yield
    except TrainingError as e:
        raise ExportError(one_line(e)) from e


def static_float32_model(model: keras.Model, clip_shape: tuple[int, ...]) -> keras.Model:
    """`model` with float32 layers and input ``(None, *clip_shape)``, same weights.

    Returns `model` itself when it already is; otherwise a clone (mixed-precision checkpoints
    export in float32, and a clip shape other than the training one rebuilds the graph).
    """
    clip_shape = tuple(int(d) for d in clip_shape)
    same_shape = tuple(model.inputs[0].shape[1:]) == clip_shape
    float32 = all(layer.dtype_policy.name == "float32" for layer in model.layers)
    if same_shape and float32:
        return model

    def clone(layer):
        config = layer.get_config()
        config["dtype"] = "float32"
        return layer.__class__.from_config(config)

    name = model.inputs[0].name.split(":")[0] or "clips"
    inputs = keras.Input(shape=clip_shape, name=name, dtype="float32")
    copy = keras.models.clone_model(model, input_tensors=inputs, clone_function=clone)
    try:
        copy.set_weights(model.get_weights())
    except ValueError as e:
        raise ExportError(
            f"model {model.name} cannot be rebuilt for clips of shape {clip_shape}: {e}"
        ) from e
    return copy


def _file_base(model: keras.Model) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", model.name) or "model"


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


class _Exporter:
    def __init__(self, options: ExportOptions):
        self.options = options
        self.model, self.metadata = load_checkpoint(options.checkpoint)
        self.class_names = list(self.metadata["class_names"])
        shape = self.model.inputs[0].shape
        frames = options.num_frames or shape[1]
        size = options.image_size or shape[2]
        if not isinstance(frames, int) or not isinstance(size, int) or shape[2] != shape[3]:
            raise ExportError(
                f"--checkpoint {self.metadata['checkpoint']}: input shape {tuple(shape)}; pass "
                "--num_frames and --image_size"
            )
        self.num_frames, self.image_size = int(frames), int(size)
        self.frame_stride = int(self.metadata.get("input", {}).get("frame_stride") or 1)
        clip_shape = (self.num_frames, self.image_size, self.image_size, 3)
        reference = static_float32_model(self.model, clip_shape)
        export = reference
        if options.fold_batch_norms:
            from xwisenet_tf.optimize import fold_batch_norms

            export = fold_batch_norms(reference)
        if options.include_preprocessing:
            from xwisenet_tf.export.preprocessing import with_preprocessing

            reference, export = with_preprocessing(reference), with_preprocessing(export)
        self.reference, self.export = reference, export
        self.base = _file_base(self.model)
        self._keras_scores = None
        self._keras_accuracy = None

    # Data ---------------------------------------------------------------------------------

    def resolve_data(self) -> None:
        from xwisenet_tf.export.clips import check_data_dir, pick_split, synthetic_data_dir

        options = self.options
        self.data_source = "--calibration_data"
        if options.calibration_data is not None:
            self.data_dir = check_data_dir(options.calibration_data)
        else:
            trained_on = self._training_data_dir()
            if trained_on:
                print(
                    f"Calibration/verification data: {trained_on} (the checkpoint's training data)"
                )
                self.data_dir, self.data_source = trained_on, "training run"
            else:
                self.data_dir = synthetic_data_dir(options.data_dir, "no --calibration_data given")
                self.data_source = "synthetic fallback"
        self.verify_split = options.verify_split or pick_split(
            self.data_dir, ("test", "validation", "train")
        )
        self.calibration_split = pick_split(
            self.data_dir, (options.calibration_split, "train", "validation", "test")
        )
        from xwisenet_tf.data import read_manifest

        self.data_classes = list(read_manifest(self.data_dir)["classes"])

    def _training_data_dir(self) -> str | None:
        from xwisenet_tf.export.clips import check_data_dir

        config = os.path.join(os.path.dirname(self.metadata["checkpoint"]), "config.json")
        try:
            with open(config, encoding="utf-8") as f:
                prepared = json.load(f).get("resolved", {}).get("prepared_dir")
            return check_data_dir(prepared) if prepared else None
        except (OSError, ValueError, AttributeError, ExportError):
            return None

    def _inputs(self, clips: np.ndarray) -> np.ndarray:
        if self.options.include_preprocessing:
            from xwisenet_tf.export.preprocessing import to_uint8_frames

            return to_uint8_frames(clips)
        return clips

    def load_clips(self) -> None:
        from xwisenet_tf.export.clips import evaluation_clips

        options = self.options
        clips, _ = evaluation_clips(
            self.data_dir,
            self.verify_split,
            options.num_verify_clips,
            self.num_frames,
            self.image_size,
            self.frame_stride,
        )
        self.verify_inputs = self._inputs(clips)
        self.calibration_inputs = None
        if options.tflite and options.quantize == "int8":
            clips, _ = evaluation_clips(
                self.data_dir,
                self.calibration_split,
                options.num_calibration_clips,
                self.num_frames,
                self.image_size,
                self.frame_stride,
            )
            self.calibration_inputs = self._inputs(clips)

    def keras_scores(self) -> np.ndarray:
        from xwisenet_tf.export.verify import keras_predict

        if self._keras_scores is None:
            self._keras_scores = keras_predict(self.reference, self.verify_inputs)
        return self._keras_scores

    def data_info(self) -> dict:
        return {
            "data_dir": self.data_dir,
            "source": self.data_source,
            "split": self.verify_split,
            "num_clips": int(len(self.verify_inputs)),
            "frame_stride": self.frame_stride,
        }

    def accuracy(self, predict) -> dict | None:
        from xwisenet_tf.export.verify import keras_function, video_accuracy

        if self.data_classes != self.class_names:
            print(
                f"WARNING: not evaluating accuracy: the model's classes {self.class_names} are "
                f"not those of {self.data_dir} ({self.data_classes})",
                file=sys.stderr,
            )
            return None
        args = (self.data_dir, self.verify_split, self.num_frames, self.image_size)
        kwargs = {"frame_stride": self.frame_stride, "transform": self._inputs}
        if self._keras_accuracy is None:
            self._keras_accuracy = video_accuracy(keras_function(self.reference), *args, **kwargs)
        exported = video_accuracy(predict, *args, **kwargs)
        return {
            "protocol": "sec. IV-C: all non-overlapping clips, centre crop, scores averaged per video",
            "split": self.verify_split,
            "num_videos": exported["num_videos"],
            "num_clips": exported["num_clips"],
            "video_accuracy": exported["video_accuracy"],
            "clip_accuracy": exported["clip_accuracy"],
            "keras_video_accuracy": self._keras_accuracy["video_accuracy"],
            "keras_clip_accuracy": self._keras_accuracy["clip_accuracy"],
        }

    # Metadata -----------------------------------------------------------------------------

    def model_metadata(self, extra: dict) -> dict:
        from xwisenet_tf.data.pipeline import MEAN_RGB, STD_RGB

        source_input = dict(self.metadata.get("input") or {})
        preprocessing = self.options.include_preprocessing
        return {
            "format": "xwisenet_tf.model/1",
            "class_names": self.class_names,
            "input": {
                **source_input,
                "num_frames": self.num_frames,
                "image_size": self.image_size,
                "frame_stride": self.frame_stride,
                "mean_rgb": list(MEAN_RGB),
                "std_rgb": list(STD_RGB),
                "layout": "NTHWC",
                "dtype": "uint8" if preprocessing else "float32",
                "normalization": "in_model" if preprocessing else "(x - mean_rgb) / std_rgb",
            },
            "model": self.metadata.get("model"),
            "model_spec": self.metadata.get("model_spec"),
            "dataset": self.metadata.get("dataset"),
            "source_checkpoint": self.metadata["checkpoint"],
            **extra,
        }

    def write_sidecar(self, path: str, data: dict) -> None:
        files.write_json(f"{path}.json", data)

    # Exports ------------------------------------------------------------------------------

    def export_saved_model(self) -> tuple[str, dict]:
        from xwisenet_tf.export.saved_model import (
            SIGNATURE_KEY,
            export_saved_model,
            load_serving_function,
            output_name,
        )
        from xwisenet_tf.export.verify import compare_outputs, median_latency_ms

        name = "saved_model_preprocessing" if self.options.include_preprocessing else "saved_model"
        path = os.path.join(self.options.output_dir, name)
        export_saved_model(self.export, path, self.class_names)
        loaded, serve = load_serving_function(path)
        input_name = list(serve.structured_input_signature[1])[0]
        out_key = output_name(self.export)
        scores = np.concatenate(
            [serve(**{input_name: x[None]})[out_key].numpy() for x in self.verify_inputs]
        )
        batch = self.verify_inputs[:1]
        latency = median_latency_ms(
            lambda: serve(**{input_name: batch}), self.options.latency_runs, 3
        )
        entry = {
            "format": "saved_model",
            "path": os.path.abspath(path),
            "signature": SIGNATURE_KEY,
            "input": {
                "name": input_name,
                "shape": [None, self.num_frames, self.image_size, self.image_size, 3],
                "dtype": "uint8" if self.options.include_preprocessing else "float32",
            },
            "output": {"name": out_key, "shape": [None, len(self.class_names)]},
            "size_bytes": files.directory_size(path),
            "verification": {
                **self.data_info(),
                "reference": "Keras model (float32)",
                **compare_outputs(self.keras_scores(), scores),
            },
            "latency": {"saved_model_median_ms": latency["median_ms"], "runs": latency},
        }
        del loaded
        self.write_sidecar(
            path,
            self.model_metadata({"export": {"format": "saved_model", "signature": SIGNATURE_KEY}}),
        )
        return name, entry

    def export_tflite(self) -> tuple[str, dict]:
        from xwisenet_tf.export.tflite import (
            convert_to_tflite,
            float_op_names,
            non_builtin_ops,
            tflite_op_names,
        )
        from xwisenet_tf.export.verify import compare_outputs, measure_latency
        from xwisenet_tf.tflite_runner import TFLiteRunner
        from xwisenet_tf.training.model_metadata import add_tflite_metadata

        options = self.options
        tag = FILE_TAGS[options.quantize] + ("_int8io" if options.int8_io else "")
        base = self.base + ("_preprocessing" if options.include_preprocessing else "")
        name = f"{base}_{tag}.tflite"
        path = os.path.join(options.output_dir, name)
        content = convert_to_tflite(
            self.export,
            quantization=options.quantize,
            calibration_data=self.calibration_inputs,
            int8_io=options.int8_io,
        )
        export_info = {
            "format": "tflite",
            "quantization": options.quantize,
            "int8_io": options.int8_io,
            "signature": "serving_default",
        }
        metadata = self.model_metadata({"export": export_info})
        content = add_tflite_metadata(content, metadata)
        ops = tflite_op_names(content)
        foreign = non_builtin_ops(content)
        if foreign:  # convert_to_tflite checks too; the metadata must not change that
            raise ExportError(f"{name}: non-builtin ops {foreign}")
        runner = TFLiteRunner(content, num_threads=options.num_threads)
        signature = runner.interpreter.get_signature_list()["serving_default"]
        scores = np.stack([runner(x) for x in self.verify_inputs])
        verification = {
            **self.data_info(),
            "reference": "Keras model (float32)",
            **compare_outputs(self.keras_scores(), scores),
        }
        latency = measure_latency(
            content,
            self.reference,
            self.verify_inputs[0],
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
            "verification": verification,
            "latency": latency,
        }
        if options.quantize == "int8":
            entry["calibration"] = {
                "data_dir": self.data_dir,
                "source": self.data_source,
                "split": self.calibration_split,
                "num_clips": int(len(self.calibration_inputs)),
                "pipeline": "evaluation (centre crop, non-overlapping clips)",
            }
        if options.evaluate_accuracy:

            def predict(batch):
                return np.stack([runner(x) for x in batch])

            entry["accuracy"] = self.accuracy(predict)
        files.write_bytes(path, content)
        self.write_sidecar(path, metadata)
        return name, entry


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
    exporter = _Exporter(options)
    os.makedirs(options.output_dir, exist_ok=True)
    exporter.resolve_data()
    exporter.load_clips()
    entries = {}
    if options.saved_model:
        name, entry = exporter.export_saved_model()
        entries[name] = entry
        _print_entry(name, entry)
    if options.tflite:
        name, entry = exporter.export_tflite()
        entries[name] = entry
        _print_entry(name, entry)
    report = read_report(options.output_dir)
    if report.get("format") != REPORT_FORMAT:
        report = {"format": REPORT_FORMAT, "exports": {}}
    for name, entry in entries.items():
        report["exports"][name] = {
            **entry,
            "created": _now(),
            "checkpoint": exporter.metadata["checkpoint"],
            "class_names": exporter.class_names,
            "options": {k: v for k, v in asdict(options).items() if k != "output_dir"},
            "environment": _environment(),
        }
    report["updated"] = _now()
    report["last_run"] = list(entries)
    files.write_json(os.path.join(options.output_dir, REPORT_FILE), report)
    return report


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
