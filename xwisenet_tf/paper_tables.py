"""The paper's complexity figures (Tables II-V) and the configurations that reproduce them.

Each row names a model preset and overrides; `complexity_rows()` builds each model (no forward
pass) and counts its parameters and MACs beside the paper's figures.

Heads: the 3D-ResNet-18/34 and XwiseNet figures match a 400-class (Kinetics) head, the
3D-ResNet-50 figures a 10-class (Part-Kinetics) head, to within rounding
(docs/reproduction.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

CLIP_SHAPE = (16, 112, 112, 3)
KTH_CLIP_SHAPE = (16, 224, 224, 3)
RESNET_HEADS = {"resnet3d-18": 400, "resnet3d-34": 400, "resnet3d-50": 10}


@dataclass(frozen=True)
class PaperRow:
    """One configuration of a paper table and the paper's figures for it (M params, G MACs)."""

    table: str
    label: str
    model: str
    num_classes: int
    paper_params_m: float | None
    paper_macs_g: float | None
    paper_accuracy: float | None = None
    overrides: dict = field(default_factory=dict)
    input_shape: tuple = CLIP_SHAPE


def _table2() -> list[PaperRow]:
    figures = {  # conv type -> (accuracy %, G MACs, M params) for ResNet-18, -34, -50
        "st": ((78.0, 5.55, 14.13), (78.65, 7.51, 27.62), (79.08, 7.62, 27.36)),
        "dw": ((74.51, 3.75, 1.58), (75.82, 4.12, 2.82), (77.34, 5.66, 13.64)),
        "traditional": ((72.33, 8.32, 33.21), (75.16, 12.71, 63.52), (76.25, 10.10, 46.22)),
        "xwise": ((77.12, 3.91, 1.53), (77.56, 4.43, 2.72), (78.21, 5.85, 13.59)),
    }
    rows = []
    for conv_type, per_depth in figures.items():
        for model, (acc, macs, params) in zip(RESNET_HEADS, per_depth, strict=True):
            rows.append(
                PaperRow(
                    "II",
                    f"{model} {conv_type}",
                    model,
                    RESNET_HEADS[model],
                    params,
                    macs,
                    acc,
                    {"conv_type": conv_type},
                )
            )
    return rows


def _table3() -> list[PaperRow]:
    rows = [
        PaperRow(
            "III(a)",
            "channel-wise pooling",
            "xwisenet",
            400,
            3.51,
            1.80,
            82.35,
            {"context_pooling": "channel", "block_position": "after_shuffle"},
        ),
        PaperRow(
            "III(a)",
            "temporal-wise pooling",
            "xwisenet",
            400,
            3.50,
            1.80,
            81.26,
            {"context_pooling": "temporal", "block_position": "after_shuffle"},
        ),
        PaperRow(
            "III(a)",
            "channel-temporal-wise pooling",
            "xwisenet",
            400,
            3.51,
            1.80,
            79.74,
            {"context_pooling": "channel_temporal", "block_position": "after_shuffle"},
        ),
        PaperRow("III(b)", "baseline", "xwisenet-simple", 400, 2.90, 1.22, 78.21),
        PaperRow(
            "III(b)",
            "after channel shuffle",
            "xwisenet",
            400,
            3.51,
            1.80,
            82.35,
            {"block_position": "after_shuffle"},
        ),
        PaperRow(
            "III(b)",
            "before channel shuffle",
            "xwisenet",
            400,
            3.51,
            1.80,
            83.01,
            {"block_position": "before_shuffle"},
        ),
        PaperRow(
            "III(b)",
            "after 3D PConv",
            "xwisenet",
            400,
            3.05,
            1.80,
            79.52,
            {"block_position": "after_pointwise"},
        ),
        PaperRow("III(c)", "baseline", "xwisenet-simple", 400, 2.90, 1.22, 78.21),
    ]
    for stage, acc in zip((1, 2, 3, 4), (79.52, 79.96, 80.61, 78.65), strict=True):
        rows.append(
            PaperRow(
                "III(c)",
                f"stage{stage}",
                "xwisenet",
                400,
                3.51,
                1.80,
                acc,
                {"block_stages": (stage,)},
            )
        )
    rows.append(
        PaperRow(
            "III(c)",
            "all stages",
            "xwisenet",
            400,
            3.51,
            1.80,
            83.01,
            {"block_stages": (1, 2, 3, 4)},
        )
    )
    return rows


def _table4() -> list[PaperRow]:
    rows = [
        PaperRow("IV", "3D-ResNet-18", "resnet3d-18", 400, 33.21, 8.32, 72.33),
        PaperRow("IV", "3D-ResNet-34", "resnet3d-34", 400, 63.52, 12.71, 75.16),
        PaperRow("IV", "3D-ResNet-50", "resnet3d-50", 10, 46.22, 10.10, 76.25),
    ]
    for block, params, macs, acc in (
        (None, 2.90, 1.22, 78.21),
        ("cbam", 3.20, 7.15, 78.21),
        ("se", 3.20, 1.80, 78.43),
        ("gc", 3.50, 1.80, 81.05),
        ("ss", 3.51, 1.80, 83.01),
    ):
        rows.append(
            PaperRow(
                "IV",
                f"XwiseNet + {block or 'no block'}",
                "xwisenet",
                400,
                params,
                macs,
                acc,
                {"block": block},
            )
        )
    return rows


def _table5() -> list[PaperRow]:
    return [
        PaperRow(
            "V",
            "XwiseNet on KTH (16x224x224)",
            "xwisenet",
            6,
            3.51,
            7.11,
            94.79,
            input_shape=KTH_CLIP_SHAPE,
        )
    ]


def paper_rows() -> list[PaperRow]:
    """Every configuration of Tables II-V with the paper's figures."""
    return _table2() + _table3() + _table4() + _table5()


def complexity_rows(rows: list[PaperRow] | None = None) -> list[dict]:
    """Counts params and MACs of each row's model; one JSON-ready dict per row.

    Rows naming the same model (preset, head, clip shape and resolved spec, e.g. Table II's
    traditional 3D-ResNets and Table IV's) share one build: 27 of the 34 paper rows are
    distinct, and a full-size 3D-ResNet-34 (63.5 M parameters) takes about 2 s to build.
    """
    import keras

    from xwisenet_tf.layers.complexity import count_macs, count_params
    from xwisenet_tf.models import get_model, resolve_spec

    counted: dict[tuple, tuple[int, int]] = {}  # (preset, head, clip, spec) -> (params, MACs)
    results = []
    for row in rows if rows is not None else paper_rows():
        spec = resolve_spec(row.model, **row.overrides)
        key = (row.model, row.num_classes, tuple(row.input_shape), spec)
        if key not in counted:
            model = get_model(row.model, row.num_classes, row.input_shape, **row.overrides)
            counted[key] = (count_params(model), count_macs(model))
            del model
            keras.backend.clear_session()
        params, macs = counted[key]
        results.append(
            {
                "table": row.table,
                "label": row.label,
                "model": row.model,
                "conv_type": spec.conv_type,
                "block": getattr(spec, "block", None),
                "num_classes": row.num_classes,
                "input_shape": list(row.input_shape),
                "params": params,
                "macs": macs,
                "paper_params": None if row.paper_params_m is None else row.paper_params_m * 1e6,
                "paper_macs": None if row.paper_macs_g is None else row.paper_macs_g * 1e9,
                "paper_accuracy": row.paper_accuracy,
            }
        )
    return results


def _relative(ours: float, paper: float | None) -> str:
    return "" if not paper else f"{100.0 * (ours - paper) / paper:+.1f}%"


def format_rows(rows: list[dict]) -> str:
    """A readable table: ours beside the paper's, with the relative difference."""
    header = (
        f"{'table':7} {'configuration':34} {'head':>4} {'params M':>9} {'paper':>7} {'diff':>7} "
        f"{'MACs G':>8} {'paper':>7} {'diff':>7}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        params_m, macs_g = r["params"] / 1e6, r["macs"] / 1e9
        paper_p = r["paper_params"] / 1e6 if r["paper_params"] else float("nan")
        paper_m = r["paper_macs"] / 1e9 if r["paper_macs"] else float("nan")
        lines.append(
            f"{r['table']:7} {r['label'][:34]:34} {r['num_classes']:>4} {params_m:9.3f} "
            f"{paper_p:7.2f} {_relative(r['params'], r['paper_params']):>7} {macs_g:8.3f} "
            f"{paper_m:7.2f} {_relative(r['macs'], r['paper_macs']):>7}"
        )
    lines.append("params: trainable weights (PyTorch convention); MACs: multiply-accumulates.")
    return "\n".join(lines)
