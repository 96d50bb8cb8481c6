"""Train XwiseNet (or another preset) with the paper's recipe (sec. IV-B).

    python train.py --dataset=synthetic                                    # offline, ~15 min
    python train.py --dataset=kth
    python train.py --dataset=kth --recipe=paper                           # sec. IV-B exactly
    python train.py --dataset=folder:/data/myvideos --model=xwisenet --width=1.0
    python train.py --dataset=kth --strategy=mirrored --batch_size=64     # several GPUs
    TF_CONFIG='{...}' python train.py --dataset=kth --strategy=multi_worker   # several machines

Raw videos are converted to TFRecords in ``--data_dir`` on first use. Checkpoints, TensorBoard
logs, ``history.csv`` and ``config.json`` go to ``--model_dir`` (default
``runs/<model>-<dataset>``). Rerunning the same command resumes an interrupted run from its last
completed epoch. See docs/training.md.
"""

from __future__ import annotations

from absl import app, flags

import xwisenet_tf.quiet_start  # noqa: F401 - TensorFlow starts without its start-up lines
from xwisenet_tf.errors import parse_flags

FLAGS = flags.FLAGS

# Data
flags.DEFINE_string(
    "dataset", "kth", "kth (downloaded) | kth:PATH | folder:PATH | csv:PATH | synthetic"
)
flags.DEFINE_string("data_dir", "data_cache", "Cache of downloads and prepared TFRecords.")
flags.DEFINE_multi_string(
    "dataset_option",
    [],
    "KEY=VALUE option of the conversion (repeatable), e.g. "
    "split=schuldt (KTH subject split) or videos_per_class=80 (synthetic).",
)
flags.DEFINE_integer("num_frames", 16, "Frames per clip (paper: 16).")
flags.DEFINE_integer(
    "image_size", None, "Clip height and width (default: the paper's 112; 48 for synthetic)."
)
flags.DEFINE_integer("frame_stride", 1, "Step between sampled frames.")
flags.DEFINE_enum(
    "train_crop",
    None,
    ["corner_multiscale", "corner_large", "centre_multiscale", "centre", "corner"],
    "Training crop (default: the recipe's): the paper's multi-scale centre/corner crop "
    "(scales 1 to 1/2), corner_large (scales 1 to 2^-1/2), corner (the same positions at scale 1: "
    "shifts, no zoom), or centre only (scales 1 to 1/2, or scale 1) for data whose actor a corner "
    "crop would cut out.",
)
# Model
flags.DEFINE_string(
    "model",
    "xwisenet",
    "Preset: xwisenet, xwisenet-simple, xwisenet-fast, xwisenet-small (few hundred videos "
    "from scratch), shufflenet3d-1.0x, resnet3d-18, resnet3d-34, resnet3d-50.",
)
flags.DEFINE_string("conv_type", None, "Convolution: traditional | st | dw | xwise.")
flags.DEFINE_string("block", None, "Context block: ss | gc | se | cbam | none.")
flags.DEFINE_string(
    "block_position", None, "before_shuffle | after_shuffle | after_pointwise (XwiseNet)."
)
flags.DEFINE_list("block_stages", None, "Stages with context blocks, e.g. 2,3,4 (XwiseNet).")
flags.DEFINE_string("context_pooling", None, "SS pooling: channel | temporal | channel_temporal.")
flags.DEFINE_float("width", None, "Width multiplier: 0.5 | 1.0 | 1.5 | 2.0 (XwiseNet).")
flags.DEFINE_list("stage_repeats", None, "Units in stages 2,3,4, e.g. 4,8,4 (XwiseNet).")
flags.DEFINE_list("temporal_strides", None, "Temporal strides of stem pool and stages 2-4.")
flags.DEFINE_float("dropout", None, "Dropout before the classifier.")
# Recipe
flags.DEFINE_integer("batch_size", 16, "Global batch size (split across replicas).")
flags.DEFINE_integer(
    "epochs", None, "Total epochs (default 50; 10 for synthetic); a resumed run continues to it."
)
flags.DEFINE_integer(
    "steps_per_epoch", None, "Batches per epoch (default: clips_per_video clips of each video)."
)
flags.DEFINE_enum(
    "recipe",
    "default",
    ["default", "paper"],
    "default: AdamW on kernels, warm-up + cosine decay by steps, label smoothing, 4 clips per "
    "video per epoch, last epoch kept; paper: sec. IV-B (Adam 1e-3, coupled weight decay 1e-3, "
    "lr x0.1 on a validation plateau). The flags below left unset come from it.",
)
flags.DEFINE_float("learning_rate", None, "Initial/peak Adam learning rate (recipe's).")
flags.DEFINE_float("weight_decay", None, "Weight decay (recipe's; paper: 1e-3).")
flags.DEFINE_enum(
    "weight_decay_mode",
    None,
    ["l2", "decoupled", "decoupled_kernels"],
    "l2: coupled, as PyTorch Adam (paper); decoupled: AdamW, as Keras Adam; decoupled_kernels: "
    "AdamW on conv/dense kernels only (default recipe).",
)
flags.DEFINE_enum(
    "lr_schedule",
    None,
    ["plateau", "cosine"],
    "plateau: lr x0.1 when validation accuracy stalls, best epoch kept (paper); cosine: warm-up "
    "then cosine decay to 0 over the run's steps, last epoch kept (default recipe).",
)
flags.DEFINE_float("warmup_fraction", None, "Share of steps warming up (cosine; recipe's).")
flags.DEFINE_float("label_smoothing", None, "Label smoothing (recipe's).")
flags.DEFINE_float(
    "colour_jitter",
    None,
    "Strength of the training clips' brightness/contrast/saturation/hue jitter (recipe's; 0: "
    "none, the paper's; 1: torchvision's ColorJitter(0.4, 0.4, 0.4, 0.1)).",
)
flags.DEFINE_integer(
    "clips_per_video", None, "Random clips per training video per epoch (recipe's)."
)
flags.DEFINE_float(
    "relu_warmup",
    None,
    "Share of steps over which the X-Convs' inner ReLUs warm up from linear (recipe's; 0: none).",
)
flags.DEFINE_integer("lr_patience", 5, "Epochs without validation improvement before lr x0.1.")
flags.DEFINE_string("validation", "auto", "auto | split | holdout | none (plateau source).")
flags.DEFINE_float("holdout_fraction", 0.1, "Training subjects/videos held out (holdout).")
flags.DEFINE_integer("validation_steps", None, "Batches per validation (default: all clips).")
flags.DEFINE_integer("seed", 0, "Seed of weights, holdout, shuffling and augmentation.")
flags.DEFINE_bool("evaluate_test", True, "Evaluate the best checkpoint on the test split.")
# Where and how
flags.DEFINE_string("model_dir", None, "Run directory (default runs/<model>-<dataset>).")
flags.DEFINE_string("strategy", "auto", "auto | default | mirrored | multi_worker.")
flags.DEFINE_integer("cpu_devices", None, "Split the CPU into N logical devices (testing).")
flags.DEFINE_bool("mixed_precision", False, "Mixed float16 (GPU) / bfloat16 (CPU) training.")
flags.DEFINE_integer(
    "verbose",
    None,
    "0 silent, 1 progress bar, 2 one line per epoch (default: 1 on a terminal, else 2).",
)
flags.DEFINE_string(
    "init_checkpoint",
    None,
    "Fine-tune: a .keras model (e.g. from `python -m xwisenet_tf.weights import`) whose "
    "weights, all but the classifier's, start the run (same --model and options).",
)


def main(argv: list[str]) -> int:
    from xwisenet_tf.training import cli

    def run() -> None:
        cli.check_no_arguments(argv)
        from xwisenet_tf.training import TrainConfig, train

        train(
            TrainConfig(
                dataset=FLAGS.dataset,
                data_dir=FLAGS.data_dir,
                model_dir=FLAGS.model_dir,
                model=FLAGS.model,
                model_overrides=cli.model_overrides(FLAGS),
                num_frames=FLAGS.num_frames,
                image_size=FLAGS.image_size,
                frame_stride=FLAGS.frame_stride,
                train_crop=FLAGS.train_crop,
                batch_size=FLAGS.batch_size,
                epochs=FLAGS.epochs,
                steps_per_epoch=FLAGS.steps_per_epoch,
                validation_steps=FLAGS.validation_steps,
                recipe=FLAGS.recipe,
                learning_rate=FLAGS.learning_rate,
                weight_decay=FLAGS.weight_decay,
                weight_decay_mode=FLAGS.weight_decay_mode,
                lr_schedule=FLAGS.lr_schedule,
                warmup_fraction=FLAGS.warmup_fraction,
                label_smoothing=FLAGS.label_smoothing,
                clips_per_video=FLAGS.clips_per_video,
                colour_jitter=FLAGS.colour_jitter,
                relu_warmup=FLAGS.relu_warmup,
                lr_patience=FLAGS.lr_patience,
                validation=FLAGS.validation,
                holdout_fraction=FLAGS.holdout_fraction,
                seed=FLAGS.seed,
                strategy=FLAGS.strategy,
                cpu_devices=FLAGS.cpu_devices,
                mixed_precision=FLAGS.mixed_precision,
                dataset_options=cli.parse_options(FLAGS.dataset_option, "dataset_option"),
                evaluate_test=FLAGS.evaluate_test,
                verbose=FLAGS.verbose,
                init_checkpoint=FLAGS.init_checkpoint,
            )
        )

    return cli.run(run)


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
