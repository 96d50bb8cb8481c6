"""What the benchmark measures: cases named `MODEL[:CONV][+VARIANT]`.

- `MODEL` is a preset of `xwisenet_tf.models.list_models()`;
- `:CONV` overrides its `conv_type` (`traditional`, `st`, `dw`, `xwise`), e.g. `resnet3d-18:st`;
- `+VARIANT` switches one optimisation off (or XLA on) to show its effect beside the default:
  `+unfolded` (inference without BatchNorm folding), `+keras-bn` (training with Keras'
  unfused BatchNorm), `+xla` (inference and training compiled with XLA, `jit_compile=True`),
  `+frozen` (inference through a frozen graph: variables turned into constants, so TensorFlow's
  graph optimiser folds the weight-only ops and no variable is read per call).

Every base case is measured in its fastest configuration that keeps the results: BatchNorms
folded into the convolutions for inference (`xwisenet_tf.optimize.fold_batch_norms`), the fused
BatchNorm kernel for training, no XLA (slower on CPU, see `docs/performance.md`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xwisenet_tf.layers.conv_variants import CONV_TYPES
from xwisenet_tf.models import list_models

# Which measurements a case takes part in.
INFER = "infer"  # Keras latency at batch 1
THROUGHPUT = "throughput"  # Keras clips/s at batch `--throughput-batch`
TRAIN = "train"  # training clips/s at batch `--train-batch`
TFLITE = "tflite"  # TFLite fp32 and int8 latency
MEMORY = "memory"  # peak resident memory, in a subprocess
ALL_KINDS = (INFER, THROUGHPUT, TRAIN, TFLITE, MEMORY)

VARIANTS = {
    "unfolded": (INFER, THROUGHPUT),
    "keras-bn": (TRAIN,),
    "xla": (INFER, THROUGHPUT, TRAIN),
    "frozen": (INFER, THROUGHPUT),
}
VARIANT_TITLES = {
    "unfolded": "BatchNorm not folded (inference)",
    "keras-bn": "Keras BatchNorm, not the fused kernel (training)",
    "xla": "XLA jit_compile (inference and training)",
    "frozen": "frozen graph, variables as constants (inference)",
}

REFERENCE = "resnet3d-18"
SUBJECT = "xwisenet"
DEFAULT_VARIANTS = (
    "xwisenet+unfolded",
    "xwisenet+keras-bn",
    "xwisenet+xla",
    "xwisenet+frozen",
    "resnet3d-18+frozen",
)
QUICK_CASES = ("xwisenet", "xwisenet-fast", "resnet3d-18", "xwisenet+unfolded", "xwisenet+keras-bn")


@dataclass(frozen=True)
class Case:
    """One benchmarked configuration.

    Attributes:
        key: `MODEL[:CONV][+VARIANT]`, unique in a run.
        model: the preset name.
        conv_type: the `conv_type` override, or None for the preset's own.
        variant: None, or one of `VARIANTS`.
        kinds: the measurements this case takes part in.
    """

    key: str
    model: str
    conv_type: str | None = None
    variant: str | None = None
    kinds: tuple[str, ...] = field(default=ALL_KINDS)

    @property
    def base(self) -> str:
        """The key without the variant: the case a variant is compared with."""
        return self.key.split("+", 1)[0]

    @property
    def overrides(self) -> dict:
        return {"conv_type": self.conv_type} if self.conv_type else {}

    @property
    def fold_bn(self) -> bool:
        return self.variant != "unfolded"

    @property
    def fused_bn(self) -> bool:
        return self.variant != "keras-bn"

    @property
    def jit_compile(self) -> bool:
        return self.variant == "xla"

    @property
    def frozen(self) -> bool:
        return self.variant == "frozen"

    def does(self, kind: str) -> bool:
        return kind in self.kinds


def parse_case(key: str) -> Case:
    """`"resnet3d-18:st"` -> Case(model="resnet3d-18", conv_type="st", ...).

    Raises:
        ValueError: unknown model, conv type or variant, naming the allowed ones.
    """
    key = key.strip()
    base, _, variant = key.partition("+")
    model, _, conv_type = base.partition(":")
    if model not in list_models():
        raise ValueError(f"Unknown model {model!r} in case {key!r}; models: {list_models()}")
    if conv_type and conv_type not in CONV_TYPES:
        raise ValueError(
            f"Unknown conv type {conv_type!r} in case {key!r}; conv types: {list(CONV_TYPES)}"
        )
    if variant and variant not in VARIANTS:
        raise ValueError(f"Unknown variant {variant!r} in case {key!r}; variants: {list(VARIANTS)}")
    kinds = VARIANTS[variant] if variant else ALL_KINDS
    return Case(key, model, conv_type or None, variant or None, tuple(kinds))


def default_cases() -> list[str]:
    """Every preset, 3D-ResNet-18 with each of the four conv types, and the variants."""
    keys = []
    for name in list_models():
        keys.append(name)
        if name == REFERENCE:
            keys.extend(f"{REFERENCE}:{conv}" for conv in CONV_TYPES if conv != "traditional")
    return keys + list(DEFAULT_VARIANTS)


def parse_cases(keys) -> list[Case]:
    """Cases from keys (a comma-separated string or a list), duplicates removed, order kept."""
    if isinstance(keys, str):
        keys = keys.split(",")
    cases = [parse_case(k) for k in keys if k.strip()]
    return list({c.key: c for c in cases}.values())


# The label of each TFLite quantisation in rows and timings.
TFLITE_LABELS = {"none": "tflite_fp32", "int8": "tflite_int8", "dynamic": "tflite_dynamic"}
