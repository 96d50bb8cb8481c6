"""SavedModel export with a named serving signature (also the source of every TFLite model).

Signature ``serving_default``: one input named after the model's input layer (``clips``,
float32 normalised clips; ``frames``, uint8 RGB frames for a model wrapped by
`with_preprocessing`), one output ``probabilities`` (``logits`` for a model without softmax).
The clip shape is static; the batch is dynamic in the exported SavedModel and 1 for TFLite.
"""

from __future__ import annotations

import os

import keras

from xwisenet_tf import files
from xwisenet_tf.export.errors import ExportError

SIGNATURE_KEY = "serving_default"
LABELS_FILE = "labels.txt"


def output_name(model: keras.Model) -> str:
    """``"probabilities"`` when the model ends in a softmax, else ``"logits"``."""
    layer = model.layers[-1]
    while isinstance(layer, keras.Model):
        layer = layer.layers[-1]
    activation = layer.get_config().get("activation")
    return "probabilities" if activation == "softmax" else "logits"


def input_spec(model: keras.Model, batch_size: int | None = None):
    """The ``tf.TensorSpec`` of the serving signature's input.

    Raises:
        ExportError: the model has several inputs or a clip shape that is not fully defined.
    """
    import tensorflow as tf

    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ExportError(
            f"model {model.name} has {len(model.inputs)} inputs and {len(model.outputs)} "
            "outputs; expected a single-input, single-output clip classifier"
        )
    tensor = model.inputs[0]
    shape = tuple(tensor.shape[1:])
    if not all(isinstance(d, int) for d in shape):
        raise ExportError(
            f"model {model.name} takes inputs of shape {tuple(tensor.shape)}; export needs a "
            "static clip shape (rebuild it with fixed num_frames and image_size)"
        )
    name = tensor.name.split(":")[0] or "clips"
    return tf.TensorSpec((batch_size, *shape), tf.as_dtype(tensor.dtype), name=name)


def build_export_archive(model: keras.Model, batch_size: int | None = None):
    """A ``keras.export.ExportArchive`` serving `model` under `SIGNATURE_KEY`.

    Returns:
        ``(archive, input_spec)``.
    """
    spec = input_spec(model, batch_size)
    key = output_name(model)
    archive = keras.export.ExportArchive()
    archive.track(model)

    def serve(inputs):
        return {key: model(inputs, training=False)}

    archive.add_endpoint(SIGNATURE_KEY, serve, input_signature=[spec])
    return archive, spec


def export_saved_model(
    model: keras.Model, path: str | os.PathLike, class_names: list[str] | None = None
) -> str:
    """Writes `model` as a SavedModel directory with the `SIGNATURE_KEY` signature.

    The class names are stored as ``assets/labels.txt`` (one per line, in output order) and as
    a string variable of the loaded object (``tf.saved_model.load(path).class_names[0]``, a
    variable collection). An existing directory at ``path`` is replaced only once the new one is
    complete.

    Returns:
        ``path``.
    """
    import tensorflow as tf

    archive, _ = build_export_archive(model, batch_size=None)
    if class_names:
        names = tf.Variable(list(class_names), dtype=tf.string, trainable=False)
        archive.add_variable_collection("class_names", [names])

    def fill(tmp: str) -> None:
        archive.write_out(tmp, verbose=False)
        if class_names:
            os.makedirs(os.path.join(tmp, "assets"), exist_ok=True)
            with open(os.path.join(tmp, "assets", LABELS_FILE), "w", encoding="utf-8") as f:
                f.write("".join(f"{name}\n" for name in class_names))

    return files.write_directory(path, fill)


def load_serving_function(path: str | os.PathLike):
    """``(loaded, fn)``: the reloaded SavedModel and its serving signature."""
    import tensorflow as tf

    loaded = tf.saved_model.load(os.fspath(path))
    return loaded, loaded.signatures[SIGNATURE_KEY]
