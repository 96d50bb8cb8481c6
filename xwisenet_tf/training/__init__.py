"""Training and evaluation: the training recipes (the default one and the paper's, sec. IV-B),
the recognition protocol (sec. IV-C), and the library behind ``train.py`` and ``evaluate.py``
(prediction, ``predict.py``, is `xwisenet_tf.prediction`).

Public API::

    TrainConfig, train(config) -> TrainResult             # train.py
    evaluate(model, data_dir, split, ...) -> report        # evaluate.py (sec. IV-C)
    load_checkpoint(path), write_report(report, path), format_report(report)
    checkpoint.load(path) -> Checkpoint                    # model + class names, clip, fps...
    compile_recipe(model, total_steps, recipe="default")   # a notebook's model.compile
    RECIPES, WarmupCosine, SparseCrossentropy
    ReluWarmup(steps)                                      # the default recipe's ReLU warm-up
    compile_model(model, ...), make_optimizer(...), AdamL2
    make_strategy(name, cpu_devices=None)
    read_metadata(checkpoint) -> dict                      # class names travel with models
    TrainingError
"""

from __future__ import annotations

from xwisenet_tf.lazy import lazy_attributes

# Names are imported on first use, so that `import xwisenet_tf.training.config` (train.py's
# flags, the experiment runner's options) loads no TensorFlow.
_LAZY = {
    "load_checkpoint": "checkpoint",
    "TrainConfig": "config",
    "TrainingError": "errors",
    "evaluate": "evaluation",
    "format_report": "evaluation",
    "write_report": "evaluation",
    "read_metadata": "metadata",
    "write_metadata": "metadata",
    "AdamL2": "optimizer",
    "SparseCrossentropy": "optimizer",
    "compile_model": "optimizer",
    "compile_recipe": "optimizer",
    "make_optimizer": "optimizer",
    "TrainResult": "recipe",
    "train": "recipe",
    "RECIPES": "recipes",
    "ReluWarmup": "relu_warmup",
    "WarmupCosine": "schedules",
    "make_strategy": "strategy",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
