"""The clips an export is checked and calibrated on, and the Keras model's answers on them.

`VerificationData` picks the prepared dataset (``--calibration_data``, else the checkpoint's
training data, else the synthetic fallback), its splits, and loads evaluation clips (centre
crop, non-overlapping: the recognition protocol of sec. IV-C) for the comparison with Keras and,
for full-integer TFLite, the int8 calibration; `accuracy` runs the protocol on a whole split.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING

import numpy as np

from xwisenet_tf.export.errors import ExportError

if TYPE_CHECKING:
    from xwisenet_tf.export.job import ExportJob

ACCURACY_PROTOCOL = "sec. IV-C: all non-overlapping clips, centre crop, scores averaged per video"


class VerificationData:
    """The verification (and calibration) clips of an `ExportJob`.

    Attributes:
        data_dir: The prepared dataset; ``source`` says where it comes from.
        verify_split, calibration_split: The splits the clips come from.
        data_classes: The dataset's classes.
        verify_inputs: The verification clips, as the exported model takes them.
        calibration_inputs: The int8 calibration clips (``None`` unless ``--quantize int8``).
    """

    def __init__(self, job: ExportJob):
        self.job = job
        self._keras_scores = None
        self._keras_accuracy = None
        self._resolve_data()
        self._load_clips()

    def _resolve_data(self) -> None:
        from xwisenet_tf.data import read_manifest
        from xwisenet_tf.export.clips import check_data_dir, pick_split, synthetic_data_dir

        options = self.job.options
        self.data_source = "--calibration_data"
        if options.calibration_data is not None:
            self.data_dir = check_data_dir(options.calibration_data)
        else:
            trained_on = self._training_data_dir()
            if trained_on:
                print(
                    f"Calibration/verification data: {trained_on} (the checkpoint's training data)"
                )
                self.data_dir, self.data_source = trained_on, "training run"
            else:
                self.data_dir = synthetic_data_dir(options.data_dir, "no --calibration_data given")
                self.data_source = "synthetic fallback"
        self.verify_split = options.verify_split or pick_split(
            self.data_dir, ("test", "validation", "train")
        )
        self.calibration_split = pick_split(
            self.data_dir, (options.calibration_split, "train", "validation", "test")
        )
        self.data_classes = list(read_manifest(self.data_dir)["classes"])

    def _training_data_dir(self) -> str | None:
        from xwisenet_tf.export.clips import check_data_dir

        config = os.path.join(os.path.dirname(self.job.metadata["checkpoint"]), "config.json")
        try:
            with open(config, encoding="utf-8") as f:
                prepared = json.load(f).get("resolved", {}).get("prepared_dir")
            return check_data_dir(prepared) if prepared else None
        except (OSError, ValueError, AttributeError, ExportError):
            return None

    def inputs(self, clips: np.ndarray) -> np.ndarray:
        """Normalised clips as the exported model takes them (uint8 frames with
        ``--include_preprocessing``)."""
        if self.job.options.include_preprocessing:
            from xwisenet_tf.export.preprocessing import to_uint8_frames

            return to_uint8_frames(clips)
        return clips

    def _clips(self, split: str, count: int) -> np.ndarray:
        from xwisenet_tf.export.clips import evaluation_clips

        job = self.job
        clips, _ = evaluation_clips(
            self.data_dir, split, count, job.num_frames, job.image_size, job.frame_stride
        )
        return self.inputs(clips)

    def _load_clips(self) -> None:
        options = self.job.options
        self.verify_inputs = self._clips(self.verify_split, options.num_verify_clips)
        self.calibration_inputs = None
        if (options.tflite or options.stream) and options.quantize == "int8":
            self.calibration_inputs = self._clips(
                self.calibration_split, options.num_calibration_clips
            )

    def keras_scores(self) -> np.ndarray:
        """The reference Keras model's scores of the verification clips (computed once)."""
        from xwisenet_tf.export.verify import keras_predict

        if self._keras_scores is None:
            self._keras_scores = keras_predict(self.job.reference, self.verify_inputs)
        return self._keras_scores

    def info(self) -> dict:
        """The report's description of the verification clips."""
        return {
            "data_dir": self.data_dir,
            "source": self.data_source,
            "split": self.verify_split,
            "num_clips": int(len(self.verify_inputs)),
            "frame_stride": self.job.frame_stride,
        }

    def accuracy(self, predict) -> dict | None:
        """Clip and video accuracy (sec. IV-C) of ``predict`` and of Keras on the whole
        verification split; ``None`` (with a warning) when the dataset's classes are not the
        model's."""
        from xwisenet_tf.export.verify import keras_function, video_accuracy

        job = self.job
        if self.data_classes != job.class_names:
            print(
                f"WARNING: not evaluating accuracy: the model's classes {job.class_names} are "
                f"not those of {self.data_dir} ({self.data_classes})",
                file=sys.stderr,
            )
            return None
        args = (self.data_dir, self.verify_split, job.num_frames, job.image_size)
        kwargs = {"frame_stride": job.frame_stride, "transform": self.inputs}
        if self._keras_accuracy is None:
            self._keras_accuracy = video_accuracy(keras_function(job.reference), *args, **kwargs)
        exported = video_accuracy(predict, *args, **kwargs)
        return {
            "protocol": ACCURACY_PROTOCOL,
            "split": self.verify_split,
            "num_videos": exported["num_videos"],
            "num_clips": exported["num_clips"],
            "video_accuracy": exported["video_accuracy"],
            "clip_accuracy": exported["clip_accuracy"],
            "keras_video_accuracy": self._keras_accuracy["video_accuracy"],
            "keras_clip_accuracy": self._keras_accuracy["clip_accuracy"],
        }
