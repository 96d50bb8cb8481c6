"""The configurations of each paper table, taken from `xwisenet_tf.paper_tables`.

Table keys of the command line: ``1`` (average frame cosine similarity, eq. (1)), ``2`` (conv
types x 3D-ResNet-18/34/50), ``3a`` / ``3b`` / ``3c`` (SS block ablations: context pooling,
position, stages), ``4`` (XwiseNet with each context block), ``5`` (XwiseNet on KTH at
16x224x224). Every configuration has a slug (its directory name under ``table<key>/``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from xwisenet_tf.paper_tables import CLIP_SHAPE, KTH_CLIP_SHAPE, PaperRow, paper_rows

TABLES = ("1", "2", "3a", "3b", "3c", "4", "5")
PAPER_TABLE = {
    "2": "II",
    "3a": "III(a)",
    "3b": "III(b)",
    "3c": "III(c)",
    "4": "IV",
    "5": "V",
}
TITLES = {
    "1": "Table I: average frame cosine similarity (eq. 1) around the SS blocks",
    "2": "Table II: convolution types in 3D-ResNet-18/34/50",
    "3a": "Table III(a): SS block context modelling",
    "3b": "Table III(b): SS block position",
    "3c": "Table III(c): SS block stages",
    "4": "Table IV: XwiseNet with context blocks",
    "5": "Table V: XwiseNet on KTH (16/9 subject split)",
}
# Table I of the paper: average cosine similarity of the SS block's input, context and output.
# The text extraction is garbled ("0.2826).2499 2102"); read as 0.2826, 0.2499, 0.2102.
PAPER_TABLE1 = {"input": 0.2826, "context": 0.2499, "output": 0.2102}


@dataclass(frozen=True)
class Experiment:
    """One configuration of a table.

    Attributes:
        table: Table key (``"2"``, ``"3a"``...).
        slug: Directory name of the configuration (unique within the table).
        label: The paper's row label.
        model: Model preset.
        overrides: Preset options of the row.
        paper: The paper's row (figures), ``None`` for Table I.
        input_shape: The paper's clip shape for this table.
        default: Run by default; ``False`` for rows that repeat another table's configuration
            (Table IV's 3D-ResNets are Table II's Traditional-Conv rows), selectable with
            ``--configs``.
    """

    table: str
    slug: str
    label: str
    model: str
    overrides: dict = field(default_factory=dict)
    paper: PaperRow | None = None
    input_shape: tuple = CLIP_SHAPE
    default: bool = True


def slugify(text: str) -> str:
    """``"XwiseNet + SE"`` -> ``"xwisenet-se"`` (lower case, runs of other characters -> ``-``)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _slug(row: PaperRow) -> str:
    if row.table == "II":
        return f"{row.model}-{row.overrides['conv_type']}"
    if row.table == "IV":
        if row.model.startswith("resnet3d"):
            return f"{row.model}-traditional"
        return f"xwisenet-{row.overrides.get('block') or 'none'}"
    if row.table == "V":
        return "xwisenet-kth"
    return slugify(row.label)


def experiments(table: str) -> list[Experiment]:
    """All configurations of ``table`` (a key of `TABLES`), in the paper's order.

    Raises:
        ValueError: unknown table key.
    """
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; expected one of {list(TABLES)}")
    if table == "1":
        return [
            Experiment(
                "1",
                "xwisenet-ss",
                "XwiseNet (SS blocks before the channel shuffle, all stages)",
                "xwisenet",
            )
        ]
    result = []
    for row in paper_rows():
        if row.table != PAPER_TABLE[table]:
            continue
        result.append(
            Experiment(
                table,
                _slug(row),
                row.label,
                row.model,
                dict(row.overrides),
                row,
                KTH_CLIP_SHAPE if table == "5" else tuple(row.input_shape),
                default=not (table == "4" and row.model.startswith("resnet3d")),
            )
        )
    if table == "2":  # depth by depth, so that a ResNet-18-only run comes first
        depths = ["resnet3d-18", "resnet3d-34", "resnet3d-50"]
        result.sort(key=lambda e: depths.index(e.model))
    return result


def default_image_size(table: str) -> int:
    """The paper's clip side for ``table``: 224 on KTH (Table V), 112 elsewhere."""
    return KTH_CLIP_SHAPE[1] if table == "5" else CLIP_SHAPE[1]
