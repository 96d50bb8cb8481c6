"""ReLU warm-up: leaky inner ReLUs during the first steps, the model's own ReLUs after."""

import keras
import numpy as np
import pytest

from xwisenet_tf.layers.conv_variants import XwiseConv3D
from xwisenet_tf.models import get_model
from xwisenet_tf.training.relu_warmup import InnerLeak, ReluWarmup, warmup_layers, warmup_slope

SHAPE = (4, 8, 8, 3)


def _xconv(inner_activation):
    keras.utils.set_random_seed(3)
    layer = XwiseConv3D(6, inner_activation=inner_activation, name="x")
    layer.build((None, *SHAPE))
    return layer


def test_slope_one_is_the_linear_x_conv_and_zero_the_paper_one():
    x = np.random.default_rng(0).normal(size=(2, *SHAPE)).astype("float32")
    paper, linear = _xconv(True), _xconv(False)
    linear.set_weights(paper.get_weights())
    leak = InnerLeak(1.0)
    paper.set_inner_leak(leak)
    np.testing.assert_allclose(paper(x), linear(x), atol=1e-5)
    leak.slope.assign(0.0)
    warm = np.asarray(paper(x))
    paper.set_inner_leak(None)
    np.testing.assert_allclose(warm, paper(x), atol=1e-6)
    # Half-way: between the two, and neither.
    leak.slope.assign(0.5)
    paper.set_inner_leak(leak)
    half = np.asarray(paper(x))
    assert np.abs(half - warm).max() > 1e-3 and np.abs(half - np.asarray(linear(x))).max() > 1e-3


def test_slope_schedule():
    assert [warmup_slope(s, 4) for s in range(6)] == [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    assert warmup_slope(0, 0) == 0.0


def test_only_layers_with_inner_relus_warm_up():
    shape = (4, 32, 32, 3)
    xwise = get_model("xwisenet", num_classes=3, input_shape=shape)
    assert len(warmup_layers(xwise)) == 16 + 3  # a right-branch X-Conv per unit + 3 left ones
    assert len(warmup_layers(keras.Sequential([xwise]))) == 19  # found inside a wrapper too
    linear = get_model("xwisenet", num_classes=3, input_shape=shape, inner_activation=False)
    assert warmup_layers(linear) == []
    assert warmup_layers(get_model("resnet3d-18", num_classes=3, input_shape=shape)) == []


@pytest.mark.parametrize("bad", [-1, 2.5])
def test_bad_steps(bad):
    with pytest.raises(ValueError, match="steps"):
        ReluWarmup(bad)


def _small_model(start_step: int = 0):
    keras.utils.set_random_seed(0)
    model = get_model("xwisenet-small", num_classes=3, input_shape=SHAPE)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    model.optimizer.iterations.assign(start_step)
    return model


def _slopes_during_fit(model, warmup, videos: int, epochs: int) -> list:
    """The warm-up's slope at the start of every batch of a fit with batch size 2."""
    x = np.random.default_rng(1).normal(size=(videos, *SHAPE)).astype("float32")
    slopes = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            slopes.append(warmup.slope)

    callbacks = [warmup, Record()]
    model.fit(x, np.arange(videos) % 3, batch_size=2, epochs=epochs, callbacks=callbacks, verbose=0)
    return slopes


def test_fit_warms_up_then_leaves_the_paper_network():
    model = _small_model()
    warmup = ReluWarmup(4)
    assert _slopes_during_fit(model, warmup, videos=8, epochs=2) == [
        1.0, 0.75, 0.5, 0.25, 0.0, 0.0, 0.0, 0.0,
    ]  # fmt: skip
    assert warmup.slope is None
    # After training the in-memory model and a copy rebuilt from its config agree: no leak left.
    x = np.random.default_rng(2).normal(size=(4, *SHAPE)).astype("float32")
    copy = keras.Model.from_config(model.get_config())
    copy.set_weights(model.get_weights())
    np.testing.assert_allclose(model.predict(x, verbose=0), copy.predict(x, verbose=0), atol=1e-5)


def test_a_resumed_run_continues_the_warm_up_from_the_optimizer_step():
    slopes = _slopes_during_fit(_small_model(start_step=6), ReluWarmup(8), videos=4, epochs=2)
    assert slopes == [0.25, 0.125, 0.0, 0.0]


def test_an_extended_run_keeps_the_warm_up_it_started_with():
    # The run started with a 4-step warm-up; more epochs now would make it 12 steps long.
    warmup = ReluWarmup(12)
    warmup.set_state({"steps": 4})
    assert warmup.get_state() == {"steps": 4}
    slopes = _slopes_during_fit(_small_model(start_step=6), warmup, videos=4, epochs=1)
    assert slopes == [0.0, 0.0]
