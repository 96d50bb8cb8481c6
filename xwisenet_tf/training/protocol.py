"""The clips of the recognition protocol (sec. IV-C) and any predictor's scores of them.

Evaluation (`xwisenet_tf.training.evaluation`), the export's accuracy check
(`xwisenet_tf.export.verify.video_accuracy`) and the experiments read a split's clips here;
`evaluation.protocol_report` averages the scores per video.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from xwisenet_tf import data
from xwisenet_tf.training.errors import TrainingError


def recognition_clips(
    data_dir: str | os.PathLike,
    split: str,
    num_frames: int,
    image_size: int,
    batch_size: int = 16,
    frame_stride: int = 1,
    with_video_id: bool = False,
    view: tuple[int, bool] = (0, False),
):
    """The clips of the recognition protocol (sec. IV-C): every non-overlapping clip of every
    video of a split, centre-cropped at scale 1, in record order (``view``: another position
    at scale 1 and/or flipped, for test-time augmentation).

    Returns:
        `xwisenet_tf.data.load` with ``training=False``: batches of ``(clips, labels)``, or
        ``(clips, labels, video_index)`` with ``with_video_id``.
    """
    return data.load(
        os.fspath(data_dir),
        split,
        training=False,
        batch_size=batch_size,
        num_frames=num_frames,
        image_size=image_size,
        frame_stride=frame_stride,
        with_video_id=with_video_id,
        view=view,
    )


def score_split(
    predict: Callable[[np.ndarray], Any],
    data_dir: str | os.PathLike,
    split: str,
    num_frames: int,
    image_size: int,
    batch_size: int = 16,
    frame_stride: int = 1,
    progress: bool = False,
    views: str = "none",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The scores of any predictor for every recognition clip of a split (sec. IV-C).

    Args:
        predict: A batch of clips (numpy) -> its scores ``(batch, classes)``: a Keras model's
            compiled call, a TFLite interpreter.
        data_dir: Prepared dataset directory.
        split: Split to read.
        num_frames: Frames per clip.
        image_size: Clip side.
        batch_size: Clips per call of ``predict``.
        frame_stride: Step between frames, as in training.
        progress: Show a progress bar.
        views: Test-time augmentation, a key of `xwisenet_tf.data.clip_choices.TEST_VIEWS`:
            each clip's scores are the mean over its views ("none": the paper's centre crop).

    Returns:
        ``(scores, labels, video_index)`` in record order: ``(clips, classes)`` float64
        scores (``(0, 0)`` for no clip), ``(clips,)`` labels and ``(clips,)`` indices into the
        split's manifest ``videos``; a video's clips are consecutive and in timeline order.

    Raises:
        TrainingError: the split yields another number of clips than its manifest implies.
    """
    from tqdm.auto import tqdm

    from xwisenet_tf.data.clip_choices import TEST_VIEWS

    if views not in TEST_VIEWS:
        raise TrainingError(f"unknown test views {views!r}; expected one of {list(TEST_VIEWS)}")
    data_dir = os.fspath(data_dir)
    expected = data.count_eval_clips(data_dir, split, num_frames, frame_stride)
    passes = []
    for view in TEST_VIEWS[views]:
        dataset = recognition_clips(
            data_dir, split, num_frames, image_size, batch_size, frame_stride, True, view
        )
        batches = tqdm(
            dataset.as_numpy_iterator(),
            total=math.ceil(expected / batch_size),
            desc="Evaluating" if views == "none" else f"Evaluating view {view}",
            unit="batch",
            disable=not progress,
        )
        scores, labels, ids = [], [], []
        for clips, label, video_id in batches:
            scores.append(np.asarray(predict(clips), np.float64))
            labels.append(label)
            ids.append(video_id)
        if sum(map(len, scores)) != expected:
            raise TrainingError(
                f"{data_dir}: split '{split}' yielded {sum(map(len, scores))} clips; the "
                f"manifest implies {expected}"
            )
        if not scores:
            return np.zeros((0, 0)), np.zeros(0, int), np.zeros(0, int)
        passes.append((np.concatenate(scores), np.concatenate(labels), np.concatenate(ids)))
    scores = np.mean([p[0] for p in passes], axis=0)
    return scores, passes[0][1], passes[0][2]
