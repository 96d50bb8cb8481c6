"""Matching a state dict's tensors to a model's targets: every one checked before any is assigned.

A state dict that does not fit (a tensor missing, one left over, a shape that differs) raises a
`WeightImportError` listing the first offenders of each kind; the caller assigns nothing then.
"""

from __future__ import annotations

import numpy as np

from xwisenet_tf.weights.errors import WeightImportError
from xwisenet_tf.weights.mapping import LAYOUTS, Target
from xwisenet_tf.weights.state_dict import IGNORED_SUFFIXES

SHOWN = 5  # offenders of each kind named in an error


def check_targets(
    model, targets: list[Target], state: dict, source: str, ignored: tuple[str, ...] = ()
) -> list[tuple]:
    """Every target's tensor of `state` in the Keras layout, once all of them fit.

    Args:
        model: the model the targets belong to (named in the error).
        targets: the `Target`s of the model (a format's `targets`).
        state: PyTorch names -> arrays.
        source: what the state dict is, named in the error ("format 'e3d', ...").
        ignored: names of `state` that may be left over (a classifier not imported).

    Returns:
        `(variable, value)` pairs, one per target, nothing assigned yet.

    Raises:
        WeightImportError: naming the first missing, mis-shaped and unused tensors.
    """
    missing, misshaped, values = [], [], []
    for target in targets:
        array = state.get(target.torch_name)
        expected = _torch_shape(tuple(target.variable.shape), target.layout)
        if array is None:
            missing.append(f"{target.torch_name} {expected}")
            continue
        converted = target.convert(np.asarray(array))
        if tuple(converted.shape) != tuple(target.variable.shape):
            misshaped.append(
                f"{target.torch_name}: {tuple(array.shape)} in the file, {expected} needed"
            )
            continue
        values.append((target.variable, converted))
    used = {t.torch_name for t in targets}
    unused = [
        f"{name} {tuple(np.shape(state[name]))}"
        for name in state
        if name not in used and name not in ignored and not name.endswith(IGNORED_SUFFIXES)
    ]
    if missing or misshaped or unused:
        raise WeightImportError(
            f"The state dict does not fit model '{model.name}' ({source}): is it another "
            "architecture or width?\n"
            + _listing(misshaped, "tensors have another shape (PyTorch layout)")
            + _listing(missing, "tensors of the model are not in the state dict")
            + _listing(unused, "tensors of the state dict have no place in the model")
            + "Nothing was assigned or written."
        )
    return values


def _torch_shape(keras_shape: tuple, layout: str) -> tuple:
    axes = LAYOUTS[layout]
    if len(keras_shape) != len(axes):
        return keras_shape
    shape = [0] * len(axes)
    for keras_axis, torch_axis in enumerate(axes):
        shape[torch_axis] = keras_shape[keras_axis]
    return tuple(shape)


def _listing(items: list[str], what: str) -> str:
    if not items:
        return ""
    shown = "\n".join(f"    {item}" for item in items[:SHOWN])
    more = f"\n    ... and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return f"  {len(items)} {what}, the first:\n{shown}{more}\n"
