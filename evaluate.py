"""Evaluate a checkpoint with the paper's recognition protocol (sec. IV-C).

    python evaluate.py --model_dir=runs/xwisenet-kth                 # best.keras, its dataset
    python evaluate.py --checkpoint=runs/xwisenet-kth/last.keras --split=test \
        --dataset=kth --data_dir=data_cache --output=report.json

Every non-overlapping 16-frame clip of every video, centre crop; softmax scores averaged per
video. Prints and writes ``video_accuracy`` (the paper's number), ``clip_accuracy``, per-class
accuracy, the confusion matrix (JSON and ``<output>_confusion.png``), the numbers of videos and
clips, params and MACs; with ``--clip_scores``, every clip's scores per video (``predict.py``
on a video's file gives the same scores for its full clips). An error is one line
``error: <message>`` on stderr, exit status 2 (docs/architecture.md).
"""

from __future__ import annotations

from absl import app, flags

import xwisenet_tf.quiet_start  # noqa: F401 - TensorFlow starts without its start-up lines
from xwisenet_tf.data.clip_choices import TEST_VIEWS
from xwisenet_tf.errors import parse_flags

FLAGS = flags.FLAGS

flags.DEFINE_string("model_dir", None, "Training run; evaluates its best.keras.")
flags.DEFINE_string("checkpoint", None, "A .keras checkpoint (instead of --model_dir).")
flags.DEFINE_string(
    "dataset",
    None,
    "kth | kth:PATH | folder:PATH | csv:PATH | synthetic | prepared:PATH (default: the training "
    "run's).",
)
flags.DEFINE_string(
    "data_dir",
    None,
    "Cache directory, or a prepared directory with manifest.json (default: the training run's).",
)
flags.DEFINE_multi_string("dataset_option", [], "KEY=VALUE conversion option, as in train.py.")
flags.DEFINE_string("split", "test", "Split to evaluate: test | validation | train.")
flags.DEFINE_string(
    "output",
    None,
    "Report JSON (default: eval_<split>_<checkpoint name>.json beside the checkpoint, e.g. "
    "eval_test_best.json); the confusion matrix PNG goes beside it.",
)
flags.DEFINE_integer("batch_size", 16, "Clips per forward pass.")
flags.DEFINE_bool("progress", True, "Show a progress bar.")
flags.DEFINE_enum(
    "tta",
    "none",
    list(TEST_VIEWS),
    "Test-time augmentation: average each clip's scores over views (none: the paper's "
    "protocol, the centre crop; flip: and its mirror image; crops: 3 crops along the long "
    "side; crops_flip: both). The report says which was used.",
)
flags.DEFINE_bool(
    "clip_scores",
    False,
    "Also write every clip's softmax scores per video in the report (predict.py gives the "
    "same scores for the video's file).",
)


def main(argv: list[str]) -> int:
    from xwisenet_tf.training import cli

    def run() -> None:
        cli.check_no_arguments(argv)
        from xwisenet_tf.training.checkpoint import resolve_checkpoint

        resolve_checkpoint(FLAGS.checkpoint, FLAGS.model_dir)  # checked before TensorFlow loads
        from xwisenet_tf.training.evaluation import format_report, run_evaluation

        report, json_path, png_path = run_evaluation(
            checkpoint=FLAGS.checkpoint,
            model_dir=FLAGS.model_dir,
            dataset=FLAGS.dataset,
            data_dir=FLAGS.data_dir,
            split=FLAGS.split,
            output=FLAGS.output,
            batch_size=FLAGS.batch_size,
            dataset_options=cli.parse_options(FLAGS.dataset_option, "dataset_option") or None,
            progress=FLAGS.progress,
            clip_scores=FLAGS.clip_scores,
            tta=FLAGS.tta,
        )
        print(f"checkpoint: {report['checkpoint']}")
        print(format_report(report))
        print(f"report: {json_path}\nconfusion matrix: {png_path}")

    return cli.run(run)


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
