"""What ``predict.py`` reads and writes, checked before TensorFlow loads: its model
(`resolve_model`), the videos and cameras of its inputs (`find_sources`, `find_videos`,
`is_camera`), its outputs by kind (`split_outputs`: predictions as JSON, annotated videos) and
the stream's half-life and frames per step (`check_stream_half_life`,
`check_stream_frames_per_step`)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from xwisenet_tf.data.decode import VIDEO_EXTENSIONS
from xwisenet_tf.layer_options import check_frames_per_step, check_half_life
from xwisenet_tf.prediction.annotate import VIDEO_OUTPUT_EXTENSIONS
from xwisenet_tf.training.errors import TrainingError

JSON_EXTENSION = ".json"
MODEL_EXTENSIONS = (".keras", ".tflite")
# Camera inputs: a V4L2 device (Linux), or "<FFmpeg input format>:<device>", e.g.
# "avfoundation:0" (macOS) or "dshow:video=Integrated Camera" (Windows); "lavfi:<source>" is
# FFmpeg's generated live source (e.g. "lavfi:testsrc=size=320x240:rate=25"), the live mode
# without a camera.
CAMERA_PREFIX = "/dev/video"
CAMERA_FORMATS = ("avfoundation", "dshow", "lavfi")


def is_camera(name: str | os.PathLike) -> bool:
    """Whether an ``--input`` names a camera rather than a file or folder."""
    name = os.fspath(name)
    return name.startswith(CAMERA_PREFIX) or name.split(":", 1)[0] in CAMERA_FORMATS


def resolve_model(checkpoint: str | None, model_dir: str | None) -> str:
    """The model file that ``predict.py --checkpoint`` / ``--model_dir`` names.

    ``checkpoint``: a ``.keras`` or ``.tflite`` file, or a training run's directory (its
    checkpoint, as ``export.py --checkpoint`` takes it); else ``model_dir``, a training run's
    directory (`xwisenet_tf.training.checkpoint.find_checkpoint`).

    Raises:
        TrainingError: neither is given, or no model where they point (the message names the
            flag and what it expected).
    """
    from xwisenet_tf.training.checkpoint import find_checkpoint, resolve_checkpoint

    if not checkpoint:
        return resolve_checkpoint(None, model_dir)
    checkpoint = os.fspath(checkpoint)
    label = f"--checkpoint {checkpoint}"
    if os.path.isdir(checkpoint):
        return find_checkpoint(checkpoint, label)
    if not os.path.isfile(checkpoint):
        raise TrainingError(
            f"{label}: model not found; expected a .keras or .tflite file, or a training run's "
            "directory"
        )
    extension = os.path.splitext(checkpoint)[1].lower()
    if extension not in MODEL_EXTENSIONS:
        raise TrainingError(
            f"{label}: unknown model format {extension!r}; expected a .keras or .tflite file"
        )
    return checkpoint


def find_videos(path: str | os.PathLike) -> list[str]:
    """``path`` itself, or the video files below a folder (sorted, recursive).

    Raises:
        TrainingError: the path does not exist, or a folder holds no video file.
    """
    path = os.fspath(path)
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise TrainingError(f"{path}: no such file or folder; expected a video or a folder")
    found = sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(path)
        for name in names
        if os.path.splitext(name)[1].lower() in VIDEO_EXTENSIONS
    )
    if not found:
        raise TrainingError(
            f"{path}: holds no video file (extensions {', '.join(sorted(VIDEO_EXTENSIONS))})"
        )
    return found


def find_sources(
    inputs: Iterable[str | os.PathLike],
    annotate: Sequence[str | os.PathLike] = (),
    cameras: bool = False,
) -> list[str]:
    """The videos of ``inputs`` (`find_videos`, in order) and, with ``cameras``, the cameras
    they name (`is_camera`, as given).

    Args:
        inputs: Video files, folders and (``cameras``) cameras.
        annotate: The annotated videos asked for: they need exactly one source.
        cameras: Whether camera names are inputs (``predict.py --stream``).

    Raises:
        TrainingError: a missing input, a folder without videos, or annotated videos for other
            than one source.
    """
    sources = [
        source
        for name in inputs
        for source in ([os.fspath(name)] if cameras and is_camera(name) else find_videos(name))
    ]
    if annotate and len(sources) != 1:
        listed = ", ".join(sources[:2]) + (", ..." if len(sources) > 2 else "")
        raise TrainingError(
            f"{os.fspath(annotate[0])}: an annotated video is written for one input video; "
            f"received {len(sources)} ({listed})"
        )
    return sources


def split_outputs(outputs: Iterable[str | os.PathLike]) -> tuple[list[str], list[str]]:
    """``predict.py --output`` values by kind, from their extensions.

    Args:
        outputs: File names: ``.json`` (the predictions) or a video extension of
            `VIDEO_OUTPUT_EXTENSIONS` (the input video annotated, `annotate.annotate_video`).

    Returns:
        ``(json_paths, video_paths)``, each in the given order.

    Raises:
        TrainingError: any other extension (the message lists the accepted ones).
    """
    json_paths, video_paths = [], []
    for path in map(os.fspath, outputs):
        extension = os.path.splitext(path)[1].lower()
        if extension == JSON_EXTENSION:
            json_paths.append(path)
        elif extension in VIDEO_OUTPUT_EXTENSIONS:
            video_paths.append(path)
        else:
            raise TrainingError(
                f"--output={path}: unknown output type {extension or '(no extension)'}; "
                f"expected {JSON_EXTENSION} (the predictions) or a video file "
                f"({', '.join(VIDEO_OUTPUT_EXTENSIONS)}) for the annotated video"
            )
    return json_paths, video_paths


def check_stream_frames_per_step(frames_per_step: int | None, stream: bool) -> int | None:
    """``predict.py --stream_frames_per_step``: ``None`` (the model's own) or a positive number
    of frames per step, with ``--stream``.

    Raises:
        TrainingError: a value below 1, or the flag without ``--stream``.
    """
    return _stream_option(
        frames_per_step, check_frames_per_step, "--stream_frames_per_step", stream
    )


def check_stream_half_life(half_life: float | None, stream: bool) -> float | None:
    """``predict.py --stream_half_life``: ``None`` (the model's own), 0 (the cumulative mean)
    or a positive number of frames, with ``--stream``.

    Raises:
        TrainingError: a negative value, or the flag without ``--stream``.
    """
    return _stream_option(half_life, check_half_life, "--stream_half_life", stream)


def _stream_option(value, check, flag: str, stream: bool):
    """``value`` of a ``--stream`` option checked by ``check(value, flag)``; ``None`` unset.

    Raises:
        TrainingError: what ``check`` refuses, or the flag without ``--stream``.
    """
    if value is None:
        return None
    try:
        check(value, flag)
    except ValueError as e:
        raise TrainingError(str(e)) from e
    if not stream:
        raise TrainingError(f"{flag} applies to --stream (frame by frame)")
    return value
