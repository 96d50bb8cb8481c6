"""Issue 17, item 1: Efficient-3DCNNs' own weights and logits, reproduced in Keras and TFLite."""

import os

import keras
import numpy as np
import pytest

from xwisenet_tf.export import convert_to_tflite, run_tflite, tflite_op_names
from xwisenet_tf.weights import import_file, load_state_dict

REFERENCE = "/work/shared/data/reference/e3d_shufflenetv2_1.0x_5cls_16x64.npz"
pytestmark = pytest.mark.skipif(
    not os.path.isfile(REFERENCE), reason=f"reference data {REFERENCE} not available"
)


@pytest.fixture(scope="module")
def reference():
    with np.load(REFERENCE) as data:
        clips = np.transpose(data["input_ncthw"], (0, 2, 3, 4, 1))  # NCTHW -> NTHWC
        return clips.astype("float32"), data["logits"]


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("weights") / "shufflenet3d.keras")
    report = import_file("e3d", "shufflenet3d-1.0x", REFERENCE, path, input_shape=(16, 64, 64, 3))
    return path, report


def _logits_model(path):
    """The saved model with the softmax taken off its classifier (the reference gives logits)."""
    model = keras.models.load_model(path, compile=False)
    model.get_layer("predictions").activation = keras.activations.linear
    return model


def test_every_tensor_of_the_reference_is_imported(imported):
    _, report = imported
    state = load_state_dict(REFERENCE)
    assert report.tensors == len([n for n in state if not n.endswith("num_batches_tracked")])
    assert report.num_classes == 5 and report.head_imported


def test_keras_logits_match_the_reference(imported, reference):
    clips, expected = reference
    logits = _logits_model(imported[0]).predict(clips, verbose=0)
    assert np.ptp(expected) > 0.5  # a spread the padding and ReLU differences showed in
    np.testing.assert_allclose(logits, expected, atol=1e-4, rtol=0)
    assert (logits.argmax(-1) == expected.argmax(-1)).all()


def test_tflite_export_matches_the_reference(imported, reference):
    clips, expected = reference
    content = convert_to_tflite(_logits_model(imported[0]))
    ops = tflite_op_names(content)
    assert not [op for op in ops if op.startswith(("CUSTOM", "FLEX", "DELEGATE"))], ops
    np.testing.assert_allclose(run_tflite(content, clips), expected, atol=1e-4, rtol=0)
