"""Test helpers: a model's weights written back as a PyTorch state dict (names and layouts).

The inverse of the importer's layouts, so that a state dict of any width or depth can be made
without torch: `export_state_dict(model, spec, format)`.
"""

from __future__ import annotations

import numpy as np

from xwisenet_tf.weights.importer import format_module
from xwisenet_tf.weights.mapping import LAYOUTS


def export_state_dict(model, spec, format: str) -> dict[str, np.ndarray]:
    """PyTorch name -> array (PyTorch layout) of every variable the importer would fill."""
    state = {}
    for target in format_module(format).targets(model, spec):
        value = np.asarray(target.variable)
        state[target.torch_name] = np.transpose(value, np.argsort(LAYOUTS[target.layout]))
    return state
