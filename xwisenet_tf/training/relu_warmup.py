"""ReLU warm-up: the inner ReLUs of the X-Convs start as identities and become ReLUs.

The paper's X-Conv puts BatchNorm + ReLU after its spatial and its temporal depthwise conv
(sec. III-A). From scratch this makes the 16-unit XwiseNet slow to train: at initialisation its
stem receives gradients ~10^4 times larger than its head, and with linear depthwise convs ~10^2
(docs/training.md, "Why the 16 units learn slowly"). The warm-up trains the first steps through
leaky inner ReLUs, ``max(x, slope * x)``, whose slope falls linearly from 1 (linear depthwise
convs) to 0 (the paper's ReLUs) over the first ``steps`` optimizer steps. From then on, and in
every saved model, the network is exactly the paper's: the slope is a training-time variable,
not a weight or a config entry of the model.
"""

from __future__ import annotations

import keras

from xwisenet_tf.layers.conv_variants import ConvBNStack


class InnerLeak:
    """One slope shared by the inner ReLUs of a model (a plain holder, never saved)."""

    def __init__(self, slope: float = 1.0):
        import tensorflow as tf

        self.slope = tf.Variable(float(slope), trainable=False, dtype="float32", name="inner_leak")


def warmup_layers(model: keras.Model) -> list[ConvBNStack]:
    """The layers of ``model`` whose inner ReLUs a warm-up changes (none for ResNets)."""
    return [
        layer
        for layer in _nested_layers(model)
        if isinstance(layer, ConvBNStack) and not layer.fused and layer.has_inner_relus()
    ]


def _nested_layers(model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):  # a model used as a layer
            yield from _nested_layers(layer)


def warmup_slope(step: int, steps: int) -> float:
    """The slope at optimizer step ``step``: 1 at step 0, falling linearly to 0 at ``steps``."""
    if steps <= 0:
        return 0.0
    return max(0.0, 1.0 - step / steps)


class ReluWarmup(keras.callbacks.Callback):
    """Warms the inner ReLUs up from linear over the first ``steps`` optimizer steps.

    The slope follows the optimizer's step counter, so a resumed run continues the warm-up where
    it stopped; the warm-up's length is part of the run's saved state (`get_state`), so a run
    extended by more epochs does not start warming up again. At the end of training the slope
    is 0 and the layers are detached: the model is the paper's. Add it before the first ``fit``
    of the model (the train step is traced with the leaky ReLUs in it).

    Args:
        steps: Optimizer steps of the warm-up (0: none).
    """

    state_key = "relu_warmup"  # its entry in the run's backup state (`ResumableBackup`)

    def __init__(self, steps: int):
        super().__init__()
        if not isinstance(steps, int) or steps < 0:
            raise ValueError(f"`steps` must be an int >= 0. Received: steps={steps!r}")
        self.steps = steps
        self._leak: InnerLeak | None = None
        self._layers: list[ConvBNStack] = []

    def get_state(self) -> dict:
        return {"steps": self.steps}

    def set_state(self, state: dict) -> None:
        self.steps = int(state["steps"])

    @property
    def slope(self) -> float | None:
        """The inner ReLUs' slope now (``None`` outside training or without such layers)."""
        return None if self._leak is None else float(self._leak.slope.numpy())

    def on_train_begin(self, logs=None):
        self._layers = warmup_layers(self.model) if self.steps else []
        if not self._layers:
            return
        self._leak = InnerLeak(warmup_slope(self._step(), self.steps))
        for layer in self._layers:
            layer.set_inner_leak(self._leak)

    def on_train_batch_begin(self, batch, logs=None):
        if self._leak is not None:
            self._leak.slope.assign(warmup_slope(self._step(), self.steps))

    def on_train_end(self, logs=None):
        if self._leak is None:
            return
        # Functions traced during training keep reading the variable: 0 keeps them exact.
        self._leak.slope.assign(0.0)
        for layer in self._layers:
            layer.set_inner_leak(None)
        self._leak = None

    def _step(self) -> int:
        return int(self.model.optimizer.iterations.numpy())


def relu_warmup_steps(config, steps_per_epoch: int) -> int:
    """Optimizer steps of the ReLU warm-up: its share of the run's steps."""
    return int(round((config.relu_warmup or 0.0) * config.epochs * steps_per_epoch))
