"""Building the benchmarked models and the callables that the interleaved timing runs."""

from __future__ import annotations

import contextlib
import gc
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from xwisenet_tf.bench.cases import Case


@dataclass
class Settings:
    """Shapes, batch sizes and repetitions of a benchmark run (the CLI flags)."""

    frames: int = 16
    size: int = 112
    num_classes: int = 400
    # Many short rounds: on a shared machine, cases timed close together see the same load.
    rounds: int = 15  # batch-1 latency rounds
    calls: int = 1  # timed calls per case per round (batch 1)
    warmup: int = 3
    throughput_batch: int = 8
    throughput_rounds: int = 4
    train_batch: int = 16
    train_rounds: int = 4
    train_warmup: int = 2
    train_group: int = 2  # base cases trained together with the reference (memory)
    tflite: bool = True
    int8: bool = True
    tflite_dynamic: bool = False  # also dynamic-range (int8 weights, float activations)
    tflite_threads: int = 0  # 0: the number of CPUs
    calibration_clips: int = 4
    memory: bool = True
    # The machine's dense peak, timed in the same rounds: a 1x1 convolution of `peak_channels`
    # -> `peak_channels` on a 1 x `peak_size` x `peak_size` input (Keras and TFLite fp32/int8).
    peak: bool = True
    peak_size: int = 56
    peak_channels: int = 512
    # Keras latency and training again with oneDNN on and off, one subprocess each.
    onednn: bool = True
    onednn_cases: str = ""  # comma-separated; "" = the run's quick-list cases and the reference
    seed: int = 0
    # Options for the XwiseNet-family presets only, e.g. {"width": 0.5} for tiny test models.
    xwisenet_overrides: dict = field(default_factory=dict)

    @property
    def clip_shape(self) -> tuple[int, int, int, int]:
        return (self.frames, self.size, self.size, 3)

    def as_dict(self) -> dict:
        return asdict(self)


@contextlib.contextmanager
def batch_norm_fusion(enabled: bool):
    """Sets `xwisenet_tf.layers.BatchNorm.fused_training` for the duration (tracing reads it)."""
    from xwisenet_tf.layers import BatchNorm

    previous = BatchNorm.fused_training
    BatchNorm.fused_training = enabled
    try:
        yield
    finally:
        BatchNorm.fused_training = previous


def build_model(case: Case, settings: Settings, inference: bool):
    """The Keras model of `case`; for inference with BatchNorms folded unless `+unfolded`."""
    from xwisenet_tf.models import XwiseNetSpec, get_model, resolve_spec
    from xwisenet_tf.optimize import fold_batch_norms

    overrides = dict(case.overrides)
    if isinstance(resolve_spec(case.model), XwiseNetSpec):
        overrides = {**settings.xwisenet_overrides, **overrides}
    model = get_model(
        case.model, settings.num_classes, input_shape=settings.clip_shape, **overrides
    )
    randomize_context_transforms(model, settings.seed)
    if inference and case.fold_bn:
        model = fold_batch_norms(model)
    return model


def randomize_batch_norm_statistics(model, seed: int = 0) -> None:
    """Non-trivial moving statistics, so that folding them (and checking it) is real work."""
    rng = np.random.default_rng(seed)
    for weight in model.non_trainable_weights:
        if weight.path.endswith("moving_mean"):
            weight.assign(rng.normal(0, 0.1, weight.shape).astype("float32"))
        elif weight.path.endswith("moving_variance"):
            weight.assign(rng.uniform(0.5, 1.5, weight.shape).astype("float32"))


def randomize_context_transforms(model, seed: int = 0, stddev: float = 0.05) -> int:
    """Small random kernels, normal(0, `stddev`), for the context blocks' last transform layer.

    `*_transform_expand` (SS and GC blocks) is zero-initialised so that a new block is the
    identity (GCNet; `xwisenet_tf.layers.context_blocks`). An untrained model's blocks then add
    exactly 0, which int8 calibration records as a zero range; XNNPACK refuses some of the
    resulting ADDs, and the benchmark would time a graph no trained model has. Training moves
    these kernels away from zero (the trained synthetic checkpoints' are of this order), so the
    benchmark's models get what training would give.

    Returns:
        The number of kernels set.
    """
    rng = np.random.default_rng(seed + 1)
    count = 0
    for weight in model.weights:
        if weight.path.endswith("_transform_expand/kernel"):
            weight.assign(rng.normal(0, stddev, weight.shape).astype("float32"))
            count += 1
    return count


def inference_models(cases: list[Case], settings: Settings) -> dict:
    """Inference models of `cases`; a base and its variants share one set of weights.

    Each base model is built once with random weights and BatchNorm statistics; a case gets it
    with BatchNorms folded (or not, for `+unfolded`), so variants can be checked against their
    base for equal outputs.
    """
    from xwisenet_tf.bench.cases import parse_case
    from xwisenet_tf.optimize import fold_batch_norms

    raw, out = {}, {}
    for case in cases:
        if case.base not in raw:
            raw[case.base] = build_model(parse_case(case.base), settings, inference=False)
            randomize_batch_norm_statistics(raw[case.base], settings.seed)
        out[case.key] = fold_batch_norms(raw[case.base]) if case.fold_bn else raw[case.base]
    return out


def random_clips(settings: Settings, batch: int, seed_offset: int = 0) -> np.ndarray:
    rng = np.random.default_rng(settings.seed + seed_offset)
    return rng.standard_normal((batch, *settings.clip_shape)).astype("float32")


def inference_call(model, clips: np.ndarray, jit_compile: bool = False, frozen: bool = False):
    """A blocking zero-argument call: the compiled model on a fixed batch, result to NumPy.

    `frozen`: call a copy of the traced graph with the variables turned into constants
    (`convert_variables_to_constants_v2`), which TensorFlow's graph optimiser can fold further.
    """
    import tensorflow as tf

    fn = tf.function(lambda x: model(x, training=False), jit_compile=jit_compile)
    x = tf.constant(clips)
    if frozen:
        from tensorflow.python.framework.convert_to_constants import (
            convert_variables_to_constants_v2,
        )

        graph = convert_variables_to_constants_v2(
            fn.get_concrete_function(tf.TensorSpec(x.shape, x.dtype))
        )
        return lambda: graph(x)[0].numpy()
    return lambda: fn(x).numpy()


def training_call(model, case: Case, clips: np.ndarray, num_classes: int, seed: int = 0):
    """A blocking zero-argument call: one `train_on_batch` step (Adam, cross-entropy)."""
    import keras
    import tensorflow as tf

    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        jit_compile=case.jit_compile,
    )
    labels = np.random.default_rng(seed).integers(0, num_classes, len(clips)).astype("int32")
    x, y = tf.constant(clips), tf.constant(labels)

    def step():
        with batch_norm_fusion(case.fused_bn):
            return model.train_on_batch(x, y)

    return step


def convert_tflite(
    model, quantization: str, calibration: np.ndarray | None, int8_io: bool = False
) -> dict:
    """TFLite flatbuffer of `model` (batch 1) with the conversion time, or the error."""
    from xwisenet_tf.export import convert_to_tflite

    start = time.perf_counter()
    try:
        content = convert_to_tflite(
            model, 1, quantization, calibration_data=calibration, int8_io=int8_io
        )
    except Exception as e:  # noqa: BLE001 - reported in the table, the run goes on
        return {"error": f"{type(e).__name__}: {str(e)[:300]}"}
    return {
        "content": content,
        "convert_s": round(time.perf_counter() - start, 1),
        "size_mb": round(len(content) / 2**20, 2),
    }


PEAK_KEY = "dense-peak"  # not a preset name, so never a case key


def dense_peak_model(settings: Settings):
    """One 1x1 convolution, `peak_channels` -> `peak_channels` channels on a 1 x `peak_size` x
    `peak_size` input: a dense op large enough (0.82 G MACs at 56 x 56 x 512) to run at the
    machine's MAC-bound rate in Keras and in LiteRT (a `CONV_2D`).
    """
    import keras

    size, channels = settings.peak_size, settings.peak_channels
    inputs = keras.Input((size, size, channels), name="features")
    conv = keras.layers.Conv2D(channels, 1, name="dense_peak_conv")
    model = keras.Model(inputs, conv(inputs), name="dense_peak")
    rng = np.random.default_rng(settings.seed)
    conv.kernel.assign(rng.normal(0, channels**-0.5, conv.kernel.shape).astype("float32"))
    return model


def dense_peak_macs(settings: Settings) -> int:
    return settings.peak_size**2 * settings.peak_channels**2


def dense_peak_input(settings: Settings, batch: int = 1, seed_offset: int = 0) -> np.ndarray:
    rng = np.random.default_rng(settings.seed + seed_offset)
    shape = (batch, settings.peak_size, settings.peak_size, settings.peak_channels)
    return rng.standard_normal(shape).astype("float32")


def tflite_call(content: bytes, clip: np.ndarray, num_threads: int) -> tuple:
    """(blocking zero-argument call, delegate note): `invoke()` of a LiteRT interpreter with
    its input set.

    The interpreter applies the XNNPACK delegate by default. When XNNPACK refuses the graph
    (it does for the int8 3D-ResNets: "failed to create XNNPACK runtime" at a residual ADD),
    the model runs on TFLite's builtin kernels instead and the note says so
    (`xwisenet_tf.tflite_runner.TFLiteRunner` with ``fallback=True``).
    """
    from xwisenet_tf.tflite_runner import TFLiteRunner

    runner = TFLiteRunner(content, num_threads=num_threads, fallback=True)
    runner.set_input(clip)
    return runner.invoke, runner.delegate


def delegation(content: bytes, num_threads: int) -> dict:
    """XNNPACK's partitions and fallback ops of a TFLite model
    (`xwisenet_tf.export.delegation.xnnpack_delegation`), or ``{"error"}``."""
    from xwisenet_tf.export.delegation import xnnpack_delegation

    try:
        return xnnpack_delegation(content, num_threads)
    except Exception as e:  # noqa: BLE001 - reported in the table, the run goes on
        return {"error": f"{type(e).__name__}: {str(e)[:200]}"}


CONTEXT_BLOCK_CLASSES = ("SSBlock", "GCBlock", "SEBlock", "CBAMBlock")


def context_block_names(model) -> list[str]:
    """Names of the context-block layers (SS, GC, SE, CBAM) of `model`, nested ones included."""
    from xwisenet_tf.layers import context_blocks

    classes = tuple(getattr(context_blocks, name) for name in CONTEXT_BLOCK_CLASSES)
    return [layer.name for layer in model._flatten_layers() if isinstance(layer, classes)]


def context_block_fallback(report: dict, blocks: list[str]) -> dict[str, list[str]]:
    """Block name -> the fallback ops' output tensors that lie inside it.

    Tensor names carry the layer path (``xwisenet_1/stage1_ss_1/add``); LiteRT's list holds the
    first 20 fallback ops (``report["fallback_tensors"]``), so a model with more may hide some.
    """
    import re

    out: dict[str, list[str]] = {}
    for block in blocks:
        pattern = re.compile(rf"(^|/){re.escape(block)}(_\d+)?(/|$)")
        hits = [t for t in report.get("fallback_tensors", []) if pattern.search(t)]
        if hits:
            out[block] = hits
    return out


def release_memory() -> None:
    """Frees Keras state and returns freed heap memory to the system (glibc `malloc_trim`):
    TensorFlow's freed activation buffers otherwise stay in the process, and a run that keeps
    every training model alive at once grew past 17 GB."""
    import ctypes

    import keras

    keras.backend.clear_session()
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
