"""Starting a training run from a saved model: every weight but the classifier's.

``train.py --init_checkpoint model.keras`` builds its model for the new dataset's classes, then
calls `load_init_checkpoint`: the layers are matched by name (the names are an interface, see
CONVENTIONS.md), every weight of every layer is copied after its shape is checked, and the
classifier (`predictions`) keeps its fresh initialisation, so any number of classes works.
"""

from __future__ import annotations

import os

import numpy as np

from xwisenet_tf.training.errors import TrainingError
from xwisenet_tf.weights.errors import WeightImportError

HEAD_LAYER = "predictions"
SHOWN = 5


class InitCheckpointError(WeightImportError, TrainingError):
    """An `--init_checkpoint` that cannot be read or has another architecture than the model."""


def load_init_checkpoint(model, path: str, skip: tuple[str, ...] = (HEAD_LAYER,)) -> int:
    """Copies the weights of the `.keras` model at `path` into `model`, except layers `skip`.

    Args:
        model: the freshly built model (any classes, any clip size).
        path: a `.keras` file (e.g. written by ``python -m xwisenet_tf.weights import`` or a
            training run's ``best.keras``).
        skip: layers left as initialised (default the classifier).

    Returns:
        The number of variables copied.

    Raises:
        InitCheckpointError: unreadable file, or layers or shapes that differ (the message
            names the first ones); then no weight of `model` has been changed.
    """
    import keras

    if not os.path.isfile(path):
        raise InitCheckpointError(f"init_checkpoint {path!r} not found.")
    try:
        source = keras.models.load_model(path, compile=False)
    except Exception as error:  # Keras raises many kinds for a foreign or corrupt file
        raise InitCheckpointError(
            f"init_checkpoint {path!r} is not a Keras model this package can load: {error}"
        ) from error
    theirs = {layer.name: layer for layer in source.layers if layer.weights}
    ours = {layer.name: layer for layer in model.layers if layer.weights}
    missing = [name for name in ours if name not in theirs and name not in skip]
    extra = [name for name in theirs if name not in ours and name not in skip]
    misshaped, pairs = [], []
    for name, layer in ours.items():
        if name in skip or name not in theirs:
            continue
        mine, saved = layer.weights, theirs[name].weights
        shapes = [tuple(w.shape) for w in mine], [tuple(w.shape) for w in saved]
        if shapes[0] != shapes[1]:
            misshaped.append(f"{name}: {shapes[1]} in the checkpoint, {shapes[0]} in the model")
            continue
        pairs += zip(mine, saved, strict=True)
    if missing or extra or misshaped:
        raise InitCheckpointError(
            f"init_checkpoint {path!r} (model '{source.name}') does not have the architecture "
            f"of model '{model.name}': "
            + _listing(misshaped, "layers have other shapes")
            + _listing(missing, "layers of the model are not in the checkpoint")
            + _listing(extra, "layers of the checkpoint are not in the model")
            + "Use the same preset and options (width, conv_type, ...) as the checkpoint."
        )
    for variable, value in pairs:
        variable.assign(np.asarray(value))
    return len(pairs)


def _listing(items: list[str], what: str) -> str:
    if not items:
        return ""
    more = f" and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return f"{len(items)} {what} ({'; '.join(items[:SHOWN])}{more}). "
