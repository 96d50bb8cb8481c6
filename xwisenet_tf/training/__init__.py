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

from xwisenet_tf.training.checkpoint import load_checkpoint
from xwisenet_tf.training.config import TrainConfig
from xwisenet_tf.training.errors import TrainingError
from xwisenet_tf.training.evaluation import evaluate, format_report, write_report
from xwisenet_tf.training.metadata import read_metadata, write_metadata
from xwisenet_tf.training.optimizer import (
    AdamL2,
    SparseCrossentropy,
    compile_model,
    compile_recipe,
    make_optimizer,
)
from xwisenet_tf.training.recipe import TrainResult, train
from xwisenet_tf.training.recipes import RECIPES
from xwisenet_tf.training.relu_warmup import ReluWarmup
from xwisenet_tf.training.schedules import WarmupCosine
from xwisenet_tf.training.strategy import make_strategy

__all__ = [
    "RECIPES",
    "AdamL2",
    "ReluWarmup",
    "SparseCrossentropy",
    "TrainConfig",
    "WarmupCosine",
    "TrainResult",
    "TrainingError",
    "compile_model",
    "compile_recipe",
    "evaluate",
    "format_report",
    "load_checkpoint",
    "make_optimizer",
    "make_strategy",
    "read_metadata",
    "train",
    "write_metadata",
    "write_report",
]
