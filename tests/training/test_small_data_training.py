"""Training with the small-data settings: soft labels (mixup, CutMix) in the loss and the
accuracy, the weights' moving average in every checkpoint, and a whole run with all of them."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tests.training.conftest import TINY_CLIP, TINY_MODEL
from xwisenet_tf.training import TrainConfig, train
from xwisenet_tf.training.callbacks import EmaSwap
from xwisenet_tf.training.optimizer import LabelAccuracy, SparseCrossentropy, make_optimizer


def test_loss_and_accuracy_take_integer_and_soft_labels():
    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]], "float32")
    integers = np.array([0, 1])
    soft = np.array([[0.6, 0.4, 0.0], [0.0, 0.3, 0.7]], "float32")
    loss = SparseCrossentropy(0.0)
    expected = -(soft * np.log(probabilities)).sum(axis=1).mean()
    assert float(loss(soft, probabilities)) == pytest.approx(expected, rel=1e-5)
    assert float(loss(integers, probabilities)) == pytest.approx(
        -(np.log(0.7) + np.log(0.3)) / 2, rel=1e-5
    )
    accuracy = LabelAccuracy()
    accuracy.update_state(integers, probabilities)
    assert float(accuracy.result()) == 0.5
    accuracy.reset_state()
    accuracy.update_state(soft, probabilities)  # arg-max of the soft rows: 0 and 2
    assert float(accuracy.result()) == 1.0


class _Snapshot(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        self.weights = [np.array(w) for w in self.model.trainable_weights]


def test_checkpoints_see_the_moving_average_and_training_goes_on_with_the_weights():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(make_optimizer(0.1, 0.0, "decoupled", ema=0.9), "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    y = np.arange(32) % 3
    snapshot, after = _Snapshot(), _Snapshot()
    model.fit(
        x, y, batch_size=8, epochs=1, verbose=0, callbacks=[EmaSwap(), snapshot, EmaSwap(), after]
    )
    averages = [np.array(a) for a in model.optimizer._model_variables_moving_average]
    for saved, average, trained in zip(snapshot.weights, averages, after.weights, strict=True):
        assert np.array_equal(saved, average) and not np.allclose(saved, trained)
    # fit ends with the averages in the model (Keras' finalize_variable_values)
    assert np.allclose(model.trainable_weights[0], averages[0])


def test_a_run_with_every_small_data_setting(motion_videos, tmp_path):
    config = TrainConfig(
        dataset=f"folder:{motion_videos}",
        data_dir=str(tmp_path / "data"),
        model_dir=str(tmp_path / "run"),
        model_overrides=dict(TINY_MODEL),
        batch_size=8,
        epochs=2,
        steps_per_epoch=3,
        verbose=0,
        train_crop="resized",
        speed_jitter=1.5,
        grayscale=0.5,
        erase=0.5,
        colour_jitter=1.0,
        mixup=0.4,
        cutmix=1.0,
        ema=0.9,
        **TINY_CLIP,
    )
    result = train(config)
    assert result.optimizer_steps == 6 and result.test_report["num_videos"] == 18
    saved = keras.models.load_model(result.last_checkpoint)
    for mine, theirs in zip(result.model.trainable_weights, saved.trainable_weights, strict=True):
        np.testing.assert_allclose(np.array(mine), np.array(theirs), atol=1e-6)
    assert 0.0 <= result.history[-1]["accuracy"] <= 1.0
