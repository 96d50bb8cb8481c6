"""TrainConfig checks, flag helpers and the paper's optimiser (coupled L2 Adam, sec. IV-B)."""

from __future__ import annotations

import types

import keras
import numpy as np
import pytest

from xwisenet_tf.training import cli
from xwisenet_tf.training.config import TrainConfig, config_differences
from xwisenet_tf.training.errors import TrainingError
from xwisenet_tf.training.optimizer import AdamL2, compile_model, make_optimizer


def test_defaults_resolve_from_the_recipe_and_the_dataset():
    config = TrainConfig().validate().resolved()
    assert config.recipe == "real" and config.lr_schedule == "cosine"  # auto, real videos
    assert (config.num_frames, config.image_size, config.model) == (16, 112, "xwisenet")
    assert (config.epochs, config.lr_factor) == (50, 0.1)
    synthetic = TrainConfig(dataset="synthetic").resolved()
    assert (synthetic.image_size, synthetic.epochs, synthetic.recipe) == (48, 10, "default")
    # A value given explicitly wins over the recipe and the dataset default.
    mine = TrainConfig(dataset="synthetic", image_size=96, learning_rate=5e-4).resolved()
    assert (mine.image_size, mine.learning_rate) == (96, 5e-4)
    assert config.default_model_dir().endswith("xwisenet-kth")
    assert (
        TrainConfig(dataset="folder:/data/my videos/")
        .default_model_dir()
        .endswith("xwisenet-folder-my videos")
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"model": "resnet3d-99"}, "unknown model 'resnet3d-99'"),
        ({"dataset": "imagenet"}, "unknown dataset 'imagenet'"),
        ({"dataset": "folder:"}, "unknown dataset 'folder:'"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"strategy": "tpu"}, "unknown strategy 'tpu'"),
        ({"validation": "test"}, "unknown validation 'test'"),
        ({"weight_decay_mode": "adamw"}, "unknown weight_decay_mode"),
        ({"recipe": "fast"}, "unknown recipe 'fast'"),
        ({"lr_schedule": "step"}, "unknown lr_schedule 'step'"),
        ({"label_smoothing": 1.0}, "label_smoothing must be in [0, 1)"),
        ({"clips_per_video": 0}, "clips_per_video must be a positive integer"),
        ({"train_crop": "corners"}, "unknown train_crop 'corners'"),
        ({"holdout_fraction": 1.0}, "holdout_fraction must be in (0, 1)"),
        ({"verbose": 3}, "unknown verbose 3; expected one of [0, 1, 2]"),
    ],
)
def test_validate_names_the_bad_value(changes, message):
    pattern = message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
    with pytest.raises(TrainingError, match=pattern):
        TrainConfig(**changes).validate()


def test_round_trip_and_differences():
    config = TrainConfig(dataset="synthetic", model_overrides={"width": 0.5}, epochs=3)
    again = TrainConfig.from_dict(config.to_dict())
    assert again == config
    saved = config.resolved().to_dict()  # config.json holds the resolved configuration
    assert config_differences(saved, {**saved, "epochs": 9, "strategy": "mirrored"}) == []
    assert config_differences(saved, {**saved, "model": "resnet3d-18"}) == [
        "model: 'xwisenet' -> 'resnet3d-18'"
    ]
    with pytest.raises(TrainingError, match="unknown configuration fields"):
        TrainConfig.from_dict({**saved, "momentum": 0.9})


def test_a_config_saved_before_a_field_existed_still_resumes():
    config = TrainConfig(dataset="synthetic", recipe="paper").resolved()
    saved = config.to_dict()
    del saved["train_crop"]
    assert config_differences(saved, config.to_dict()) == []
    centre = TrainConfig(dataset="synthetic", recipe="paper", train_crop="centre").resolved()
    assert config_differences(saved, centre.to_dict()) == [
        "train_crop: 'corner_multiscale' -> 'centre'"
    ]


def test_flag_helpers():
    flags = types.SimpleNamespace(
        model="xwisenet",
        model_option=[],
        conv_type="dw",
        block="none",
        block_position=None,
        context_pooling=None,
        block_stages=["none"],
        stage_repeats=["1", "2", "1"],
        temporal_strides=None,
        width=0.5,
        dropout=None,
    )
    assert cli.model_overrides(flags) == {
        "conv_type": "dw",
        "block": None,
        "block_stages": (),
        "stage_repeats": (1, 2, 1),
        "width": 0.5,
    }
    assert cli.parse_options(["videos_per_class=4", "split=schuldt", "x=true"], "o") == {
        "videos_per_class": 4,
        "split": "schuldt",
        "x": True,
    }
    with pytest.raises(TrainingError, match="KEY=VALUE"):
        cli.parse_options(["novalue"], "dataset_option")
    with pytest.raises(TrainingError, match="comma-separated integers"):
        cli.parse_ints(["1", "two"], "stage_repeats")


def _adam_l2_reference(w, grads, lr, l2, beta1=0.9, beta2=0.999, eps=1e-7):
    """PyTorch's Adam(weight_decay=l2) written out (Keras' epsilon placement)."""
    m = v = np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        g = g + l2 * w
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        alpha = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
        w = w - alpha * m / (np.sqrt(v) + eps)
    return w


def test_adam_l2_is_coupled_weight_decay(rng):
    w0 = rng.normal(size=(5,)).astype("float32")
    grads = [rng.normal(size=(5,)).astype("float32") for _ in range(4)]
    variable = keras.Variable(w0)
    optimizer = AdamL2(learning_rate=0.01, l2=0.1)
    for g in grads:
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(g), variable)])
    expected = _adam_l2_reference(w0.astype("float64"), grads, 0.01, 0.1)
    np.testing.assert_allclose(variable.numpy(), expected, rtol=1e-4, atol=1e-6)
    # Decoupled (AdamW) decay gives another trajectory: the choice matters.
    other = keras.Variable(w0)
    decoupled = make_optimizer(0.01, 0.1, "decoupled")
    for g in grads:
        decoupled.apply_gradients([(keras.ops.convert_to_tensor(g), other)])
    assert np.abs(other.numpy() - expected).max() > 1e-4
    assert AdamL2.from_config(optimizer.get_config()).l2 == pytest.approx(0.1)
    with pytest.raises(TrainingError, match="weight_decay_mode"):
        make_optimizer(weight_decay_mode="sgd")


def test_compile_model_trains_a_keras_model(rng):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    compile_model(model)
    history = model.fit(rng.normal(size=(8, 4)), rng.integers(0, 3, 8), epochs=2, verbose=0)
    assert set(history.history) == {"loss", "accuracy"}
    assert int(model.optimizer.iterations.numpy()) == 2
