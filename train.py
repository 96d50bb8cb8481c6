"""Train XwiseNet (or another preset) with the paper's recipe (sec. IV-B).

    python train.py --dataset=synthetic                                    # offline, ~15 min
    python train.py --dataset=kth
    python train.py --dataset=kth --recipe=paper                           # sec. IV-B exactly
    python train.py --dataset=folder:/data/myvideos --model=xwisenet --width=1.0
    python train.py --dataset=prepared:/data/k400       # a directory that `prepare` wrote
    python train.py --dataset=kth --strategy=mirrored --batch_size=64     # several GPUs
    TF_CONFIG='{...}' python train.py --dataset=kth --strategy=multi_worker   # several machines

Raw videos are converted to TFRecords in ``--data_dir`` on first use (``prepared:PATH``: already
converted by ``python -m xwisenet_tf.data.prepare``, used where it is). Checkpoints, TensorBoard
logs, ``history.csv`` and ``config.json`` go to ``--model_dir`` (default
``runs/<model>-<dataset>``). Rerunning the same command resumes an interrupted run from its last
completed epoch. See docs/training.md.
"""

from __future__ import annotations

from absl import app, flags

import xwisenet_tf.quiet_start  # noqa: F401 - TensorFlow starts without its start-up lines
from xwisenet_tf.errors import parse_flags
from xwisenet_tf.training import cli

FLAGS = flags.FLAGS

# One flag per field of `xwisenet_tf.training.TrainConfig` (its default, help and choices), and
# the model options' aliases (--width, --block...: `xwisenet_tf.training.cli.MODEL_FLAGS`).
cli.define_train_flags()


def main(argv: list[str]) -> int:
    def run() -> None:
        cli.check_no_arguments(argv)
        config = cli.train_config(FLAGS).validate()  # checked before TensorFlow loads
        from xwisenet_tf.training import train

        train(config)

    return cli.run(run)


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
