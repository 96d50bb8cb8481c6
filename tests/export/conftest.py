"""Fixtures of the export tests: synthetic data, a trained tiny XwiseNet checkpoint, exports.

The checkpoint must have learned something (int8 accuracy is compared with the float model's),
so it is trained for 4 epochs on the evaluation clips (centre crops, 8 x 48 x 48) of a
synthetic dataset with 48 training videos per class: about a minute on 2 CPU cores, shared by
all export tests (about 60% video accuracy on the test split, chance is 17%).

The dataset and the checkpoint are built once per test run and shared by the pytest-xdist
workers (`tests.shared.build_once`): with ``--dist loadfile`` the export modules land on both
workers, which otherwise generated and trained the same things twice, at the same time.
"""

from __future__ import annotations

import os

import keras
import pytest

from tests.shared import build_once
from xwisenet_tf.export.targets import MAX_VIDEO_ACCURACY_DIFFERENCE, MIN_TOP1_AGREEMENT

CLIP = (8, 48, 48, 3)
# Regression bounds for int8 against the float Keras model. The issue's targets (top-1
# agreement >= 95%, video accuracy within 2 points) are checked in a separate, non-strict
# xfail test: this tiny, briefly trained model measures 87-95% agreement and 0-4 points of
# video accuracy (about 0.02 of int8 noise in the probabilities flips the clips it is unsure
# about). The synthetic run of docs/training.md (91.7% video accuracy) meets them: 99.4%
# agreement, 1.7 points; docs/deploying.md, "int8 accuracy".
INT8_MIN_AGREEMENT = 0.85
INT8_MAX_VIDEO_ACCURACY_DROP = 0.1
ISSUE_INT8_MIN_AGREEMENT = MIN_TOP1_AGREEMENT
ISSUE_INT8_MAX_VIDEO_ACCURACY_DROP = MAX_VIDEO_ACCURACY_DIFFERENCE
NUM_VERIFY_CLIPS = 128
# The float export (TFLite + SavedModel from one call), shared by several tests.
FLOAT_EXPORT = {"saved_model": True, "tflite": True, "quantize": "none", "evaluate_accuracy": True}
TINY = {"width": 0.5, "stage_repeats": (1, 2, 1)}


@pytest.fixture(scope="session")
def synthetic_data(tmp_path_factory) -> str:
    return build_once(tmp_path_factory, "export_data", make_synthetic_data)


@pytest.fixture(scope="session")
def trained_checkpoint(synthetic_data, tmp_path_factory) -> str:
    return build_once(tmp_path_factory, "run", lambda run: train_checkpoint(synthetic_data, run))


def make_synthetic_data(cache, videos_per_class: int = 48, eval_videos_per_class: int = 9) -> str:
    """The synthetic dataset with (by default) 48 training and 9 test videos per class, frames
    stored at short side 64 (about 40 s to generate): with 54 test videos one video is 1.9
    points of video accuracy."""
    from xwisenet_tf.data import ensure_dataset

    return ensure_dataset(
        "synthetic",
        cache,
        videos_per_class=videos_per_class,
        eval_videos_per_class=eval_videos_per_class,
        short_side=64,
        progress=False,
    )


def train_checkpoint(synthetic_data: str, run, epochs: int = 4, model: str = "xwisenet") -> str:
    """``run/best.keras`` of a tiny XwiseNet (SS blocks; preset `model`) trained on the
    synthetic data, with the metadata sidecar ``best.keras.json`` that train.py writes
    (``epochs=0``: untrained)."""
    from xwisenet_tf.data import MEAN_RGB, STD_RGB, load, read_manifest
    from xwisenet_tf.models import get_model
    from xwisenet_tf.training.metadata import write_metadata

    classes = read_manifest(synthetic_data)["classes"]
    keras.utils.set_random_seed(0)
    preset = model
    model = get_model(preset, len(classes), input_shape=CLIP, **TINY)
    if epochs:
        model.compile(
            optimizer=keras.optimizers.Adam(2e-3),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        clips = load(synthetic_data, "train", False, 16, num_frames=CLIP[0], image_size=CLIP[1])
        clips = clips.unbatch().cache().shuffle(4096, seed=0).batch(16)
        model.fit(clips, epochs=epochs, verbose=0)
    path = os.path.join(run, "best.keras")
    model.save(path)
    write_metadata(
        path,
        {
            "class_names": list(classes),
            "input": {
                "num_frames": CLIP[0],
                "image_size": CLIP[1],
                "frame_stride": 1,
                "mean_rgb": list(MEAN_RGB),
                "std_rgb": list(STD_RGB),
            },
            "model": preset,
            "model_spec": dict(TINY),
            "dataset": "synthetic",
        },
    )
    keras.backend.clear_session()
    return path


@pytest.fixture(scope="session")
def export_dir(tmp_path_factory) -> str:
    """One output directory for the session's exports (the report accumulates entries)."""
    return str(tmp_path_factory.mktemp("exported"))


@pytest.fixture(scope="session")
def exported(trained_checkpoint, synthetic_data, export_dir):
    """``exported(**options) -> {file name: report entry}`` of that export, run once per
    worker (exports are not shared: the report in `export_dir` is read, updated and written
    by every export, so two workers must not export into one directory)."""
    from xwisenet_tf.export import export_model

    done: dict = {}

    def run(**options):
        key = tuple(sorted(options.items()))
        if key not in done:
            report = export_model(
                checkpoint=trained_checkpoint,
                output_dir=export_dir,
                calibration_data=synthetic_data,
                num_verify_clips=NUM_VERIFY_CLIPS,
                latency_runs=5,
                num_threads=2,
                **options,
            )
            done[key] = {name: report["exports"][name] for name in report["last_run"]}
        return done[key]

    return run
