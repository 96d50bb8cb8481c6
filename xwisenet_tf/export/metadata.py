"""Class names (and input description) of an exported or trained model, wherever they travel.

* ``.tflite``: the ``xwisenet_tf.model`` metadata entry inside the file, else its sidecar.
* SavedModel directory: its sidecar ``<dir>.json``, else ``assets/labels.txt``.
* ``.keras`` (and any other file): `xwisenet_tf.training.read_metadata` (sidecar
  ``<file>.json`` or the training run's ``config.json``).

An export's ``input`` entry copies the checkpoint's, so besides the clip format it carries the
format of the frames the model was trained on (``short_side``, ``jpeg_quality`` and ``fps``,
the training clips' frame rate; `xwisenet_tf.training.metadata`): ``predict.py`` reads videos
for an exported model exactly as for its checkpoint. Exports of checkpoints written before
the rate was recorded have no ``fps``; prediction then keeps each video's own rate.
"""

from __future__ import annotations

import os


def read_model_metadata(path: str | os.PathLike) -> dict:
    """The ``xwisenet_tf.model/1`` metadata of a model file or SavedModel dir; ``{}`` if none."""
    from xwisenet_tf.training.metadata import read_metadata

    path = os.path.normpath(os.fspath(path))
    if path.endswith(".tflite") and os.path.isfile(path):
        from xwisenet_tf.export.tflite import read_tflite_metadata

        data = read_tflite_metadata(path)
        if data.get("class_names"):
            return data
    data = read_metadata(path)
    if data:
        return data
    labels = os.path.join(path, "assets", "labels.txt")
    if os.path.isdir(path) and os.path.isfile(labels):
        with open(labels, encoding="utf-8") as f:
            return {"class_names": [line.rstrip("\n") for line in f if line.strip()]}
    return {}


def read_class_names(path: str | os.PathLike) -> list[str] | None:
    """The class names of a model (index = output position), or ``None`` if unknown."""
    names = read_model_metadata(path).get("class_names")
    return list(names) if names else None
