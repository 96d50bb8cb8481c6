"""Top-k action labels and a per-clip timeline for a video file or a folder of videos.

    python predict.py --checkpoint=runs/xwisenet-kth/best.keras --input=video.avi
    python predict.py --model_dir=runs/xwisenet-kth --input=videos/ --top_k=3 --output=pred.json
    python predict.py --checkpoint=model.tflite --input=video.mp4
    python predict.py --model_dir=runs/xwisenet-kth --input=phone.mp4 --fps=source
    python predict.py --model_dir=runs/xwisenet-kth --input=video.avi --output=annotated.mp4
    python predict.py --model_dir=runs/xwisenet-stream-kth --input=video.avi --stream
    python predict.py --checkpoint=model_stream_float32.tflite --input=/dev/video0 --stream \
        --output=live.mp4

Accepts a ``.keras`` checkpoint or a ``.tflite`` export (``--checkpoint``; a training run's
directory there or in ``--model_dir`` gives its checkpoint); class names, the clip format and the
frame rate the model was trained at come from the model's metadata (``<model>.json`` or the
run's ``config.json``). Videos are read as ``evaluate.py`` reads a prepared split (the same
frames, JPEG round trip included), resampled to the model's training rate unless ``--fps``
says otherwise, and streamed clip by clip (bounded memory, a progress bar per video). Every
frame is on the timeline: the frames after the last full clip form a last, loop-padded clip,
marked and left out of the video's score (as evaluation leaves them out). Exit status 1 when a
video cannot be decoded (the others are still predicted), 2 on an error that stops the command
(one line ``error: <message>``; docs/architecture.md).

``--output`` (repeatable) picks what to write by extension: ``.json`` writes the predictions;
a video file (``.mp4``, ``.avi``, ``.mkv``, ``.mov``, ``.webm``) writes the input video with
the top 3 labels and their probability bars drawn on every frame - those of the clip covering
the frame - at the input's frame rate, frame count and size (H.264, or MPEG-4 part 2 for an odd
width or height, VP9 in ``.webm``; `xwisenet_tf.prediction.annotate`). An annotated video needs
exactly one input video; another extension, or several input videos with a video output, is
an error (exit status 2) before any video is read.

``--stream`` runs a causal model (``--model=xwisenet-stream`` in training, or its ``.tflite``
step export, ``export.py --stream``) frame by frame: a file's frames are fed at their real rate
(``--pace=fast``: as fast as the model runs) with a live line of the top labels so far; a
camera (``--input=/dev/video0``; ``avfoundation:0`` on macOS, ``dshow:video=<name>`` on
Windows; ``lavfi:testsrc`` is FFmpeg's generated test pattern) until it ends, ``--max_frames``
or Ctrl-C. ``--output`` works as in clip mode; each
frame shows the probabilities after it (`xwisenet_tf.prediction.stream`). The probabilities are
over every frame since the start, or with ``--stream_half_life=H`` over an exponential average
of half-life H frames, whose top label follows a change of action within 2 H frames (a
``.tflite`` step export averages as it was exported, ``export.py --stream_half_life``).
``--stream_frames_per_step=K`` runs one step per K frames (cheaper per frame in LiteRT): each
frame shows the newest probabilities there are, those after the last step, up to K - 1 frames
old, and none before the first step (a ``.tflite`` step export takes the K it was exported
with, ``export.py --stream_frames_per_step``).
"""

from __future__ import annotations

import os

from absl import app, flags

import xwisenet_tf.quiet_start  # noqa: F401 - TensorFlow starts without its start-up lines
from xwisenet_tf.data.clip_choices import TEST_VIEWS
from xwisenet_tf.errors import parse_flags

FLAGS = flags.FLAGS

flags.DEFINE_string(
    "checkpoint", None, "A .keras checkpoint or a .tflite model (or a training run's directory)."
)
flags.DEFINE_string("model_dir", None, "Training run; uses its best.keras.")
flags.DEFINE_multi_string(
    "input",
    [],
    "A video file or a folder of videos (repeatable); positional arguments are accepted too.",
)
flags.DEFINE_integer("top_k", 5, "Labels to show per video and per clip.")
flags.DEFINE_integer("batch_size", 8, "Clips per forward pass.")
flags.DEFINE_string(
    "fps",
    "model",
    "Frame rate the videos are read at: 'model' (the rate the model was trained at, from its "
    "metadata; each video's own rate for models that do not record one), 'source' (each "
    "video's own rate), or a number of frames per second (e.g. 25, 29.97).",
)
flags.DEFINE_enum(
    "tta",
    "none",
    list(TEST_VIEWS),
    "Test-time augmentation (clip mode): average each clip's scores over views, as "
    "evaluate.py --tta (none: the centre crop, the paper's; flip; crops: 3 along the long "
    "side; crops_flip).",
)
flags.DEFINE_multi_string(
    "output",
    [],
    "Also write (repeatable; by extension): .json the predictions as JSON; .mp4, .avi, .mkv, "
    ".mov or .webm the input video (exactly one) with the top 3 labels and probability bars "
    "drawn on every frame.",
)
flags.DEFINE_bool("progress", True, "Show a progress bar per video (on stderr).")
flags.DEFINE_bool(
    "stream",
    False,
    "Frame by frame with a causal model (xwisenet-stream, or its .tflite step export), with "
    "a live label line; --input may be a camera (/dev/video0).",
)
flags.DEFINE_enum(
    "pace",
    "real",
    ["real", "fast"],
    "--stream on a file: feed frames at the video's real rate, or as fast as the model runs.",
)
flags.DEFINE_integer("max_frames", 0, "--stream: stop after this many frames (0: no limit).")
flags.DEFINE_float(
    "stream_half_life",
    None,
    "--stream: average over time with this half-life in frames, so that the top label follows "
    "a change of action within 2 half-lives (0: the cumulative mean over every frame so far). "
    "Default: the model's own (a .tflite step export's as exported, else cumulative).",
)
flags.DEFINE_integer(
    "stream_frames_per_step",
    None,
    "--stream: run the step model on this many frames at once (cheaper per frame); each frame "
    "shows the probabilities after the last step, up to K - 1 frames old. Default: the "
    "model's own (a .tflite step export's as exported, else 1).",
)


def main(argv: list[str]) -> int:

    from xwisenet_tf.training import cli

    def run() -> int:
        from xwisenet_tf.errors import EXIT_OK, EXIT_PARTIAL, print_error
        from xwisenet_tf.files import write_json
        from xwisenet_tf.prediction.clip_timeline import parse_fps
        from xwisenet_tf.prediction.inputs import (
            check_stream_frames_per_step,
            check_stream_half_life,
            find_sources,
            resolve_model,
            split_outputs,
        )
        from xwisenet_tf.training.errors import TrainingError

        # The arguments, the model's and the videos' paths are checked before TensorFlow loads.
        inputs = list(FLAGS.input) + list(argv[1:])
        if not inputs:
            raise TrainingError("give a video file or folder with --input")
        json_outputs, video_outputs = split_outputs(FLAGS.output)
        checkpoint = resolve_model(FLAGS.checkpoint, FLAGS.model_dir)
        inputs = find_sources(inputs, video_outputs, cameras=FLAGS.stream)
        fps = parse_fps(FLAGS.fps)
        half_life = check_stream_half_life(FLAGS.stream_half_life, FLAGS.stream)
        frames_per_step = check_stream_frames_per_step(FLAGS.stream_frames_per_step, FLAGS.stream)
        from xwisenet_tf.prediction.predictor import format_prediction, predict

        if FLAGS.stream:
            from xwisenet_tf.prediction.stream import format_stream, predict_stream

            results, errors = predict_stream(
                inputs,
                checkpoint,
                FLAGS.top_k,
                fps=fps,
                pace=FLAGS.pace,
                max_frames=FLAGS.max_frames,
                annotate=video_outputs,
                half_life=half_life,
                frames_per_step=frames_per_step,
            )
            format_result = format_stream
        else:
            results, errors = predict(
                inputs,
                checkpoint,
                FLAGS.top_k,
                FLAGS.batch_size,
                fps=fps,
                progress=FLAGS.progress,
                annotate=video_outputs,
                views=FLAGS.tta,
            )
            format_result = format_prediction
        for result in results:
            print(format_result(result))
        for error in errors:
            print_error(error)
        for output in json_outputs:
            write_json(
                output,
                {
                    "checkpoint": os.path.abspath(checkpoint),
                    "predictions": results,
                    "errors": errors,
                },
            )
        return EXIT_PARTIAL if errors else EXIT_OK

    return cli.run(run)


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
