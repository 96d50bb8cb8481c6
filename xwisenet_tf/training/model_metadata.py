"""Class names (and input description) of a trained or exported model, wherever they travel.

* ``.tflite``: the ``xwisenet_tf.model`` metadata entry inside the file (`add_tflite_metadata`
  writes it), else its sidecar.
* SavedModel directory: its sidecar ``<dir>.json``, else ``assets/labels.txt``.
* ``.keras`` (and any other file): `xwisenet_tf.training.metadata.read_metadata` (sidecar
  ``<file>.json`` or the training run's ``config.json``).

An export's ``input`` entry copies the checkpoint's, so besides the clip format it carries the
format of the frames the model was trained on (``short_side``, ``jpeg_quality`` and ``fps``,
the training clips' frame rate; `xwisenet_tf.training.metadata`): ``predict.py`` reads videos
for an exported model exactly as for its checkpoint. Exports of checkpoints written before
the rate was recorded have no ``fps``; prediction then keeps each video's own rate.

Prediction reads these files and export writes them, so they live here, below both.
"""

from __future__ import annotations

import json
import os

import numpy as np

from xwisenet_tf.training.metadata import read_metadata

METADATA_NAME = "xwisenet_tf.model"


def add_tflite_metadata(content: bytes, data: dict, name: str = METADATA_NAME) -> bytes:
    """Returns `content` with ``data`` stored as a JSON metadata entry ``name``.

    TFLite models carry named metadata buffers that interpreters ignore; apps (and
    `read_tflite_metadata`) read them, so the class names travel inside the ``.tflite`` file.
    """
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(content))
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(json.dumps(data).encode("utf-8"), np.uint8)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = name
    entry.buffer = len(model.buffers) - 1
    model.metadata = [m for m in (model.metadata or []) if _metadata_name(m) != name] + [entry]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _metadata_name(entry) -> str:
    name = entry.name
    return name.decode() if isinstance(name, bytes) else name


def read_tflite_metadata(content: bytes | str | os.PathLike, name: str = METADATA_NAME) -> dict:
    """The JSON metadata entry ``name`` of a TFLite model (bytes or path); ``{}`` if absent."""
    from tensorflow.lite.tools import flatbuffer_utils

    if not isinstance(content, bytes | bytearray):
        with open(os.fspath(content), "rb") as f:
            content = f.read()
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(content))
    for entry in model.metadata or []:
        if _metadata_name(entry) == name:
            raw = model.buffers[entry.buffer].data
            return json.loads(np.asarray(raw, np.uint8).tobytes().decode("utf-8"))
    return {}


def read_model_metadata(path: str | os.PathLike) -> dict:
    """The ``xwisenet_tf.model/1`` metadata of a model file or SavedModel dir; ``{}`` if none."""
    path = os.path.normpath(os.fspath(path))
    if path.endswith(".tflite") and os.path.isfile(path):
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
