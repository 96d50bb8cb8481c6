"""Fine-tuning from imported weights: `load_init_checkpoint` and ``train --init_checkpoint``."""

import keras
import numpy as np
import pytest

from tests.weights.torch_names import export_state_dict
from xwisenet_tf.models import get_model
from xwisenet_tf.training.errors import TrainingError
from xwisenet_tf.training.init_checkpoint import InitCheckpointError, load_init_checkpoint
from xwisenet_tf.weights import import_file

TINY = {"width": 0.5, "stage_repeats": (1, 2, 1)}
CLIP = (8, 32, 32, 3)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A `.keras` written by the importer from a (tiny) Efficient-3DCNNs state dict, 10 classes."""
    from xwisenet_tf.models.presets import resolve_spec

    source = get_model("shufflenet3d-1.0x", 10, input_shape=CLIP, **TINY)
    rng = np.random.default_rng(3)
    for weight in source.weights:  # far from any fresh initialisation
        weight.assign(rng.uniform(0.5, 1.5, weight.shape))
    spec = resolve_spec("shufflenet3d-1.0x", **TINY)
    directory = tmp_path_factory.mktemp("finetune")
    np.savez(directory / "tiny.npz", **export_state_dict(source, spec, "e3d"))
    path = str(directory / "tiny.keras")
    import_file("e3d", "shufflenet3d-1.0x", str(directory / "tiny.npz"), path, None, CLIP, TINY)
    return path


def _weights_by_layer(model):
    return {
        layer.name: [np.asarray(w) for w in layer.weights]
        for layer in model.layers
        if layer.weights
    }


def test_everything_but_the_classifier_is_loaded(checkpoint):
    saved = _weights_by_layer(keras.models.load_model(checkpoint, compile=False))
    model = get_model("shufflenet3d-1.0x", 3, input_shape=(4, 48, 48, 3), **TINY)
    assert load_init_checkpoint(model, checkpoint) == sum(
        len(w) for name, w in saved.items() if name != "predictions"
    )
    for name, weights in _weights_by_layer(model).items():
        if name == "predictions":
            assert weights[0].shape == (1024, 3)
            continue
        for ours, theirs in zip(weights, saved[name], strict=True):
            np.testing.assert_array_equal(ours, theirs)


def test_another_architecture_is_a_clear_error_and_changes_nothing(checkpoint):
    model = get_model("shufflenet3d-1.0x", 3, input_shape=CLIP, width=1.0, stage_repeats=(1, 2, 1))
    before = [np.asarray(w).copy() for w in model.weights]
    with pytest.raises(InitCheckpointError, match="stage2_unit1_left_dwconv") as error:
        load_init_checkpoint(model, checkpoint)
    assert isinstance(error.value, TrainingError)  # train.py prints it as one line
    assert "architecture" in str(error.value)
    for weight, value in zip(model.weights, before, strict=True):
        np.testing.assert_array_equal(np.asarray(weight), value)
    with pytest.raises(InitCheckpointError, match="not found"):
        load_init_checkpoint(model, checkpoint + ".missing")


def test_training_starts_from_the_checkpoint_with_a_new_classifier(checkpoint, tmp_path):
    from tests.training.conftest import SYNTHETIC_OPTIONS
    from xwisenet_tf.training import TrainConfig, train

    saved = _weights_by_layer(keras.models.load_model(checkpoint, compile=False))
    at_start = {}

    class WeightsAtStart(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            at_start.update(_weights_by_layer(self.model))

    config = TrainConfig(
        dataset="synthetic", data_dir=str(tmp_path / "data"),
        dataset_options=dict(SYNTHETIC_OPTIONS), model="shufflenet3d-1.0x",
        model_dir=str(tmp_path / "run"), model_overrides=dict(TINY), epochs=1, steps_per_epoch=1,
        batch_size=4, num_frames=8, image_size=32, validation="none", evaluate_test=False,
        verbose=0, init_checkpoint=checkpoint,
    )  # fmt: skip
    train(config, callbacks=[WeightsAtStart()])
    assert at_start["predictions"][0].shape == (1024, 6)  # the synthetic task's 6 classes
    assert set(at_start) == set(saved)
    for name, weights in at_start.items():
        if name != "predictions":
            for ours, theirs in zip(weights, saved[name], strict=True):
                np.testing.assert_array_equal(ours, theirs)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("finetune_data"))


def _tiny_run(tmp_path, data_dir, **fields):
    from tests.training.conftest import SYNTHETIC_OPTIONS
    from xwisenet_tf.training import TrainConfig

    return TrainConfig(
        dataset="synthetic", data_dir=data_dir,
        dataset_options=dict(SYNTHETIC_OPTIONS), model_dir=str(tmp_path / "run"),
        model_overrides=dict(TINY), batch_size=4, num_frames=8, image_size=32,
        validation="none", evaluate_test=False, verbose=0, steps_per_epoch=1, **fields,
    )  # fmt: skip


def test_a_frozen_backbone_waits_while_the_classifier_learns(checkpoint, tmp_path, data_dir):
    from xwisenet_tf.training import train

    saved = _weights_by_layer(keras.models.load_model(checkpoint, compile=False))
    after_epoch = []

    class Snapshot(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            after_epoch.append(_weights_by_layer(self.model))

    config = _tiny_run(
        tmp_path, data_dir, model="shufflenet3d-1.0x", epochs=2, init_checkpoint=checkpoint,
        freeze_backbone_epochs=1, learning_rate=0.01, warmup_fraction=0.0,
    )  # fmt: skip
    result = train(config, callbacks=[Snapshot()])
    first, second = after_epoch
    kernel = "stage3_unit2_pw"  # a pointwise conv block inside the backbone
    np.testing.assert_array_equal(first[kernel][0], saved[kernel][0])
    assert not np.allclose(second[kernel][0], saved[kernel][0])
    start = after_epoch[0]["predictions"][0]
    assert start.shape == (1024, 6)
    assert all(layer.trainable for layer in result.model.layers)


def test_init_from_factorises_an_e3d_state_dict_into_xwisenet(
    checkpoint, tmp_path, data_dir, capsys
):
    import os

    from xwisenet_tf.training import train

    npz = os.path.join(os.path.dirname(checkpoint), "tiny.npz")
    config = _tiny_run(tmp_path, data_dir, model="xwisenet", epochs=1, init_from=f"e3d:{npz}")
    train(config)
    header = capsys.readouterr().out
    assert f"Initialised from e3d:{npz}" in header and "stage2" in header
    with pytest.raises(TrainingError, match="needs trained weights"):
        _tiny_run(tmp_path, data_dir, epochs=1, freeze_backbone_epochs=1).validate()
