"""The paper's optimiser: Adam, lr 1e-3, weight decay 1e-3, cross-entropy (sec. IV-B).

Weight decay is ambiguous between frameworks. PyTorch's ``Adam(weight_decay=wd)`` (the authors'
framework, Efficient-3DCNNs/3D-ResNets code base) adds ``wd * w`` to the gradient before the
moment estimates: a coupled L2 penalty whose effect is rescaled by Adam's normalisation. Keras'
``Adam(weight_decay=wd)`` is decoupled (AdamW): ``w -= lr * wd * w`` after the Adam step. We
default to the coupled form (`AdamL2`) to reproduce the paper; ``weight_decay_mode="decoupled"``
selects Keras' AdamW behaviour. Both apply to every trainable weight (as PyTorch does when
given ``model.parameters()``), BatchNorm scales and biases included.
"""

from __future__ import annotations

import keras
from keras import ops

from xwisenet_tf.training.errors import TrainingError


@keras.saving.register_keras_serializable(package="xwisenet_tf")
class AdamL2(keras.optimizers.Adam):
    """Adam with a coupled L2 weight decay, as PyTorch's ``torch.optim.Adam(weight_decay=)``.

    The gradient of every variable becomes ``g + l2 * w`` before Adam's moment updates.

    Args:
        learning_rate: Initial learning rate (paper: 1e-3).
        l2: Coupled weight decay coefficient (paper: 1e-3).
        **kwargs: Any other argument of `keras.optimizers.Adam` (not ``weight_decay``, which
            is the decoupled form).
    """

    def __init__(self, learning_rate=1e-3, l2: float = 1e-3, name: str = "adam_l2", **kwargs):
        if kwargs.get("weight_decay"):
            raise ValueError(
                "AdamL2 applies a coupled L2 decay (`l2`); do not also pass the decoupled "
                f"`weight_decay`. Received: weight_decay={kwargs['weight_decay']!r}"
            )
        if l2 < 0:
            raise ValueError(f"`l2` must be >= 0. Received: l2={l2!r}")
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.l2 = float(l2)

    def update_step(self, gradient, variable, learning_rate):
        if self.l2:
            gradient = ops.add(gradient, ops.multiply(ops.cast(self.l2, gradient.dtype), variable))
        super().update_step(gradient, variable, learning_rate)

    def get_config(self) -> dict:
        config = super().get_config()
        config["l2"] = self.l2
        return config


def make_optimizer(
    learning_rate: float = 1e-3, weight_decay: float = 1e-3, weight_decay_mode: str = "l2"
) -> keras.optimizers.Optimizer:
    """The paper's Adam (sec. IV-B) with the chosen weight-decay form (module docstring).

    Args:
        learning_rate: Initial learning rate.
        weight_decay: Decay coefficient (0 disables it).
        weight_decay_mode: ``"l2"`` (coupled, PyTorch ``Adam``) or ``"decoupled"`` (AdamW).
    """
    if weight_decay_mode == "l2":
        return AdamL2(learning_rate=learning_rate, l2=weight_decay)
    if weight_decay_mode == "decoupled":
        return keras.optimizers.Adam(learning_rate=learning_rate, weight_decay=weight_decay or None)
    raise TrainingError(
        f"unknown weight_decay_mode {weight_decay_mode!r}; expected 'l2' or 'decoupled'"
    )


def compile_model(
    model: keras.Model,
    learning_rate: float = 1e-3,
    weight_decay: float = 1e-3,
    weight_decay_mode: str = "l2",
    **compile_kwargs,
) -> keras.Model:
    """Compiles ``model`` with the paper's recipe: cross-entropy, Adam, accuracy (sec. IV-B).

    The models output softmax probabilities and `xwisenet_tf.data.load` yields integer labels,
    hence ``sparse_categorical_crossentropy``. Equivalent to what a Keras user writes by hand::

        model.compile(optimizer=make_optimizer(), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])

    Returns:
        ``model``, compiled.
    """
    model.compile(
        optimizer=make_optimizer(learning_rate, weight_decay, weight_decay_mode),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        **compile_kwargs,
    )
    return model
