"""Running a TFLite model with the LiteRT interpreter (``ai-edge-litert``).

The one place an interpreter is built: ``predict.py`` on a ``.tflite`` export
(`xwisenet_tf.prediction.predictor`), the verification of every export against Keras
(`xwisenet_tf.export.tflite`, `xwisenet_tf.export.verify`) and the benchmark's TFLite latency
(`xwisenet_tf.bench.measure`) all use `TFLiteRunner`.

Imports nothing of the package (and LiteRT only when a runner is built).
"""

from __future__ import annotations

import os

import numpy as np

XNNPACK = "xnnpack"


class TFLiteRunner:
    """A LiteRT interpreter around a TFLite model: a clip classifier (one input, one output;
    `set_input`, `invoke`, `get_output`, or call it) or any model by its signature's names
    (`run_signature`).

    Float inputs are quantised and integer outputs dequantised with the tensors' quantisation
    parameters, so an int8-I/O model is called with the same clips and gives the same kind of
    scores as a float one. Integer inputs without quantisation parameters (the uint8 frames of
    a model with preprocessing) and integer arrays are passed as they are.

    The interpreter applies the XNNPACK delegate by default. When XNNPACK refuses the graph (it
    does for the int8 3D-ResNets: "failed to create XNNPACK runtime" at a residual ADD) and
    ``fallback`` is set, the model runs on TFLite's builtin kernels instead; `delegate` says
    which ran.

    Args:
        content: The ``.tflite`` flatbuffer; or
        path: a ``.tflite`` file.
        num_threads: Interpreter threads (LiteRT's default when ``None``).
        fallback: On XNNPACK's refusal (a ``RuntimeError``), use the builtin kernels rather
            than raising.

    Attributes:
        interpreter: The LiteRT ``Interpreter`` (tensors allocated).
        input, output: Its input and output tensor details.
        delegate: ``"xnnpack"``, or ``"builtin kernels (XNNPACK failed: <reason>)"``.

    Raises:
        ValueError / RuntimeError: from LiteRT, for a file that is not a TFLite model (or,
            without ``fallback``, a graph XNNPACK refuses).
    """

    def __init__(
        self,
        content: bytes | None = None,
        path: str | os.PathLike | None = None,
        num_threads: int | None = None,
        fallback: bool = False,
    ):
        if (content is None) == (path is None):
            raise TypeError("give the model as content or as path, not both")
        self._source = (
            {"model_content": bytes(content)} if path is None else {"model_path": os.fspath(path)}
        )
        self.num_threads = num_threads
        self.delegate = XNNPACK
        try:
            self.interpreter = self._build()
        except RuntimeError as e:
            if not fallback:
                raise
            error = str(e).split("failed to create XNNPACK runtime")[-1].strip()[:200]
            self.interpreter = self._build(builtin_only=True)
            self.delegate = f"builtin kernels (XNNPACK failed: {error or 'runtime'})"
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self._signature = None

    def _build(self, builtin_only: bool = False):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        kwargs = dict(self._source)
        if self.num_threads is not None:
            kwargs["num_threads"] = self.num_threads
        if builtin_only:
            kwargs["experimental_op_resolver_type"] = (
                OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
            )
        interpreter = Interpreter(**kwargs)
        interpreter.allocate_tensors()
        return interpreter

    def set_input(self, clip: np.ndarray) -> None:
        """Sets the input from one clip (with or without the batch axis)."""
        clip = np.asarray(clip).reshape(self.input["shape"])
        dtype = self.input["dtype"]
        scale, zero_point = self.input["quantization"]
        if np.issubdtype(dtype, np.integer) and scale and np.issubdtype(clip.dtype, np.floating):
            info = np.iinfo(dtype)
            clip = np.clip(np.round(clip / scale + zero_point), info.min, info.max)
        self.interpreter.set_tensor(self.input["index"], clip.astype(dtype))

    def invoke(self) -> None:
        self.interpreter.invoke()

    def get_output(self, dtype=np.float32) -> np.ndarray:
        """The output of the last `invoke`, dequantised (in ``dtype``) when it is an integer
        tensor with quantisation parameters."""
        out = self.interpreter.get_tensor(self.output["index"])
        scale, zero_point = self.output["quantization"]
        if np.issubdtype(out.dtype, np.integer) and scale:
            out = (out.astype(dtype) - zero_point) * scale
        return out

    def run_signature(self, **inputs: np.ndarray) -> dict[str, np.ndarray]:
        """Runs the model's (first) signature on named inputs; returns its named outputs.

        For models with several inputs and outputs, e.g. the streaming step model
        (`xwisenet_tf.streaming`): a frame and the states in, the probabilities and the new
        states out. Inputs are cast to the signature's dtypes; a float32-I/O model (float or
        int8 inside) takes and returns float32.
        """
        if self._signature is None:
            self._signature = self.interpreter.get_signature_runner()
            details = self._signature.get_input_details()
            self._signature_dtypes = {name: d["dtype"] for name, d in details.items()}
        missing = set(self._signature_dtypes) - set(inputs)
        if missing:
            raise ValueError(f"missing inputs {sorted(missing)} of the TFLite signature")
        cast = {
            name: np.asarray(value).astype(self._signature_dtypes[name])
            for name, value in inputs.items()
        }
        return self._signature(**cast)

    def __call__(self, clip: np.ndarray) -> np.ndarray:
        """Scores of one clip (batch axis removed)."""
        self.set_input(clip)
        self.invoke()
        return self.get_output()[0]
