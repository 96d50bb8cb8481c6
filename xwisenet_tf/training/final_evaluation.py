"""The test report at the end of `xwisenet_tf.training.train`: the kept checkpoint evaluated on
the test split with the paper's recognition protocol (sec. IV-C), written to ``eval_test.json``.
"""

from __future__ import annotations

import os
from typing import Any

from xwisenet_tf.training.checkpoint import load_checkpoint
from xwisenet_tf.training.config import TrainConfig
from xwisenet_tf.training.evaluation import evaluate
from xwisenet_tf.training.report import write_report


def final_test_evaluation(
    checkpoint: str, prepared: str, config: TrainConfig, class_names: list[str], model_dir: str
) -> dict[str, Any]:
    """Evaluates ``checkpoint`` on the test split (sec. IV-C) and writes ``eval_test.json``."""
    model = load_checkpoint(checkpoint)
    report = evaluate(
        model,
        prepared,
        "test",
        config.batch_size,
        config.frame_stride,
        class_names,
        progress=False,
        checkpoint=checkpoint,
    )
    path, _ = write_report(report, os.path.join(model_dir, "eval_test.json"))
    print(
        f"Test split (paper protocol, {os.path.basename(checkpoint)}): video accuracy "
        f"{report['video_accuracy']:.2%} ({report['num_videos']} videos), clip accuracy "
        f"{report['clip_accuracy']:.2%} ({report['num_clips']} clips) -> {path}"
    )
    return report
