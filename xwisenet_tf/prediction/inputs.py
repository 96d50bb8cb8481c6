"""What ``predict.py`` reads and writes: the videos of its inputs (`find_videos`) and its
outputs by kind (`split_outputs`: predictions as JSON, annotated videos)."""

from __future__ import annotations

import os
from collections.abc import Iterable

from xwisenet_tf.data.decode import VIDEO_EXTENSIONS
from xwisenet_tf.prediction.annotate import VIDEO_OUTPUT_EXTENSIONS
from xwisenet_tf.training.errors import TrainingError

JSON_EXTENSION = ".json"


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
