"""The error of the weight importer: a message naming the file and the tensors at fault."""

from __future__ import annotations

from xwisenet_tf.errors import XwiseNetError


class WeightImportError(XwiseNetError):
    """A state dict that cannot be read or does not fit the model; nothing has been written."""
