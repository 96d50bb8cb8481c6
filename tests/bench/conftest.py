"""Tiny shapes for the benchmark tests: 4x32x32 clips, XwiseNet-family width 0.5."""

TINY_ARGS = [
    "--frames=4",
    "--size=32",
    "--num_classes=5",
    "--xwisenet_width=0.5",
    "--xwisenet_stage_repeats=1,1,1",
    "--train_batch=2",
    "--sweep_train_batch=2",
    "--throughput_batch=2",
    "--rounds=2",
    "--calls=1",
    "--throughput_rounds=1",
    "--train_rounds=1",
    "--calibration_clips=1",
]
