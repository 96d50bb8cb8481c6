"""Speed benchmark of XwiseNet beside the paper's other models, on the CPU at hand.

    python -m xwisenet_tf.bench                 # = run: every preset + variants, side by side
    python -m xwisenet_tf.bench run --quick     # xwisenet, xwisenet-fast, resnet3d-18: minutes
    python -m xwisenet_tf.bench sweep           # xwisenet latency/training vs frames and size
    python -m xwisenet_tf.bench profile         # where the time goes, per op and per layer kind
    python -m xwisenet_tf.bench runtime         # oneDNN on/off, thread pools (subprocesses)
    python -m xwisenet_tf.bench all             # run, sweep and profile into one directory

Each writes Markdown, JSON and (run, sweep) a PNG plot into `--out_dir` (default
`bench_results/`). Cases are interleaved round-robin and ratios are taken within a round,
because absolute times on a shared machine drift. See `docs/performance.md` for a measured run.

Modules: `cases` (what is measured), `timing` (interleaving, statistics), `measure` (models and
the timed calls), `memory` (peak memory in a subprocess), `run` (the side-by-side run; its
training steps in `run_training`, TFLite in `run_tflite`, the oneDNN on/off pass in
`run_onednn`, rows, ratios and targets in `ratios`), `sweep` (scaling with frames and image
size), `profile` (TensorFlow profiler per op / layer), `runtime` (settings fixed at TensorFlow
start-up; `runtime_child` runs one in its subprocess), `report` (Markdown and JSON; its cells in
`report_cells`, the lines around its tables in `report_sections`), `report_plot` (the plot).

Single benches, each `python -m xwisenet_tf.bench.NAME --help`: `stream` (per-frame cost of a
causal model's step model), `depthwise` (folded vs grouped DepthwiseConv3D), `input_pipeline`
(pipeline clips/s vs a training step's), `convergence` (training recipes side by side: test
accuracy against minutes and steps), `init_gradients` (gradient RMS per depth at initialisation),
`training_speed` (training steps of today's path against the one before issue 15), `soak`
(resident memory while one process builds, trains, evaluates and converts model after model),
`stream_soak` (memory and per-frame latency of one live stream over an hour of frames).
"""
