"""Optimisers and loss of the recipes: the paper's Adam, lr 1e-3, weight decay 1e-3,
cross-entropy (sec. IV-B), and AdamW on kernels with label smoothing (`recipes`).

Weight decay is ambiguous between frameworks. PyTorch's ``Adam(weight_decay=wd)`` (the authors'
framework, Efficient-3DCNNs/3D-ResNets code base) adds ``wd * w`` to the gradient before the
moment estimates: a coupled L2 penalty whose effect is rescaled by Adam's normalisation. Keras'
``Adam(weight_decay=wd)`` is decoupled (AdamW): ``w -= lr * wd * w`` after the Adam step. We
default to the coupled form (`AdamL2`) to reproduce the paper; ``weight_decay_mode="decoupled"``
selects Keras' AdamW behaviour. Both apply to every trainable weight (as PyTorch does when
given ``model.parameters()``), BatchNorm scales and biases included. ``"decoupled_kernels"`` is
AdamW on convolution and dense kernels only: decaying BatchNorm scales and shifts or biases only
fights the normalisation (the usual practice of modern recipes).
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
    learning_rate=1e-3,
    weight_decay: float = 1e-3,
    weight_decay_mode: str = "l2",
    variables=None,
    ema: float = 0.0,
) -> keras.optimizers.Optimizer:
    """Adam with the chosen weight-decay form (module docstring).

    Args:
        learning_rate: A float, or a schedule (`xwisenet_tf.training.schedules`).
        weight_decay: Decay coefficient (0 disables it).
        weight_decay_mode: ``"l2"`` (coupled, PyTorch ``Adam``), ``"decoupled"`` (AdamW) or
            ``"decoupled_kernels"`` (AdamW on kernels only).
        variables: The variables to be trained; needed by ``"decoupled_kernels"`` to exclude
            those with fewer than 2 dimensions (norm parameters, biases).
        ema: Momentum of an exponential moving average of the trainable weights (Keras'
            ``use_ema``; 0: none). ``model.fit`` ends with the averages in the model; during
            training `xwisenet_tf.training.callbacks.EmaWeights` swaps them in for validation
            and checkpoints.
    """
    averaging = {"use_ema": True, "ema_momentum": ema} if ema else {}
    if weight_decay_mode == "l2":
        return AdamL2(learning_rate=learning_rate, l2=weight_decay, **averaging)
    if weight_decay_mode in ("decoupled", "decoupled_kernels"):
        optimizer = keras.optimizers.Adam(
            learning_rate=learning_rate, weight_decay=weight_decay or None, **averaging
        )
        if weight_decay_mode == "decoupled_kernels" and weight_decay:
            if variables is None:
                raise TrainingError("weight_decay_mode 'decoupled_kernels' needs the variables")
            optimizer.exclude_from_weight_decay(var_list=[v for v in variables if len(v.shape) < 2])
        return optimizer
    raise TrainingError(
        f"unknown weight_decay_mode {weight_decay_mode!r}; expected 'l2', 'decoupled' or "
        "'decoupled_kernels'"
    )


def compile_model(
    model: keras.Model,
    learning_rate=1e-3,
    weight_decay: float = 1e-3,
    weight_decay_mode: str = "l2",
    label_smoothing: float = 0.0,
    ema: float = 0.0,
    soft_labels: bool = False,
    **compile_kwargs,
) -> keras.Model:
    """Compiles ``model``: cross-entropy, Adam, accuracy; by default the paper's (sec. IV-B).

    The models output softmax probabilities and `xwisenet_tf.data.load` yields integer labels,
    hence ``sparse_categorical_crossentropy`` (`SparseCrossentropy` when ``label_smoothing``).
    With the defaults it is what a Keras user writes by hand::

        model.compile(optimizer=make_optimizer(), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])

    Args:
        model: The model.
        learning_rate: A float or a schedule.
        weight_decay, weight_decay_mode: See `make_optimizer`.
        label_smoothing: Label smoothing of the cross-entropy.
        ema: See `make_optimizer`.
        soft_labels: Training labels may be probability rows (mixup, CutMix) as well as
            integers: the loss and the accuracy take both (`SparseCrossentropy`,
            `LabelAccuracy`).
        **compile_kwargs: Other arguments of ``model.compile``.

    Returns:
        ``model``, compiled.
    """
    loss = (
        SparseCrossentropy(label_smoothing)
        if label_smoothing or soft_labels
        else "sparse_categorical_crossentropy"
    )
    model.compile(
        optimizer=make_optimizer(
            learning_rate, weight_decay, weight_decay_mode, model.trainable_variables, ema
        ),
        loss=loss,
        metrics=[LabelAccuracy() if soft_labels else "accuracy"],
        **compile_kwargs,
    )
    return model


def compile_recipe(
    model: keras.Model, total_steps: int, recipe: str = "default", **overrides
) -> keras.Model:
    """Compiles ``model`` with a training recipe (`xwisenet_tf.training.recipes`).

    The optimizer, its weight decay, the learning rate (a `WarmupCosine` over ``total_steps``
    for the cosine schedule; a constant for the plateau rule, which needs the
    `ReduceLROnPlateau`-style callback of `train` to lower it) and the loss. What a notebook
    user calls before ``model.fit(..., epochs=E, steps_per_epoch=S)`` with
    ``total_steps = E * S``.

    Args:
        model: The model.
        total_steps: Optimizer steps of the whole run.
        recipe: ``"default"`` or ``"paper"``.
        **overrides: Recipe fields to change (``learning_rate``, ``weight_decay``, ...).

    Returns:
        ``model``, compiled.
    """
    from xwisenet_tf.training.recipes import RECIPES, recipe_values
    from xwisenet_tf.training.schedules import WarmupCosine

    try:
        values = recipe_values(recipe)
    except KeyError as e:
        raise TrainingError(f"unknown recipe {recipe!r}; expected one of {list(RECIPES)}") from e
    values.update({k: v for k, v in overrides.items() if v is not None})
    learning_rate = values["learning_rate"]
    if values["lr_schedule"] == "cosine":
        total = max(1, int(total_steps))
        warmup = int(round(values["warmup_fraction"] * total))
        learning_rate = WarmupCosine(learning_rate, total, warmup_steps=warmup)
    return compile_model(
        model,
        learning_rate,
        values["weight_decay"],
        values["weight_decay_mode"],
        values["label_smoothing"],
        ema=values.get("ema") or 0.0,
        soft_labels=bool(values.get("mixup") or values.get("cutmix")),
    )


@keras.saving.register_keras_serializable(package="xwisenet_tf")
class SparseCrossentropy(keras.losses.Loss):
    """Cross-entropy of integer labels against probabilities, with optional label smoothing.

    Keras' ``SparseCategoricalCrossentropy`` has no label smoothing; this one turns the labels
    into one-hot rows ``(1 - s) * onehot + s / K`` first. With ``label_smoothing=0`` it equals
    ``sparse_categorical_crossentropy`` (the paper's loss, sec. IV-B). Labels that are already
    rows of K probabilities (mixup, CutMix: `xwisenet_tf.data.clip_augment.mix_batch`) are
    used as they are (smoothed the same way).

    Args:
        label_smoothing: ``s`` in [0, 1).
    """

    def __init__(self, label_smoothing: float = 0.0, name: str = "sparse_crossentropy", **kwargs):
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(
                f"`label_smoothing` must be in [0, 1). Received: label_smoothing={label_smoothing!r}"
            )
        super().__init__(name=name, **kwargs)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        one_hot = _label_rows(y_true, y_pred)
        return keras.losses.categorical_crossentropy(
            one_hot, y_pred, label_smoothing=self.label_smoothing
        )

    def get_config(self) -> dict:
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


def _label_rows(y_true, y_pred):
    """Labels as rows of probabilities: integer labels one-hot, probability rows (same rank as
    the predictions, more than one column) as they are."""
    if len(y_true.shape) == len(y_pred.shape) and y_true.shape[-1] not in (None, 1):
        return ops.cast(y_true, y_pred.dtype)
    labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
    return ops.one_hot(labels, ops.shape(y_pred)[-1], dtype=y_pred.dtype)


@keras.saving.register_keras_serializable(package="xwisenet_tf")
class LabelAccuracy(keras.metrics.MeanMetricWrapper):
    """Top-1 accuracy against integer labels or rows of probabilities (their arg-max), so that
    mixup batches in training and integer labels in validation share one metric, ``accuracy``.
    """

    def __init__(self, name: str = "accuracy", dtype=None):
        super().__init__(_label_accuracy, name=name, dtype=dtype)

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}


def _label_accuracy(y_true, y_pred):
    target = ops.argmax(_label_rows(y_true, y_pred), axis=-1)
    return ops.cast(ops.equal(target, ops.argmax(y_pred, axis=-1)), "float32")
