"""The live path of ``predict.py --stream`` on a camera, fed by FFmpeg's generated live source
(``lavfi:testsrc``): the frames reach the recogniser in order, ``--max_frames`` stops the
stream, the annotated video has the camera's size and rate."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest

from tests.prediction.test_annotate import _decode, tiny_checkpoint
from tests.training.conftest import run_cli
from xwisenet_tf.prediction.stream import StreamPredictor, camera_frames, is_camera

SOURCE = "lavfi:testsrc=size=64x48:rate=25"


@pytest.fixture(scope="module")
def causal_checkpoint(tmp_path_factory) -> str:
    return tiny_checkpoint(tmp_path_factory.mktemp("camera"), "xwisenet-stream")


def _source_frames(count: int) -> list[np.ndarray]:
    """The source's first frames, decoded directly with PyAV."""
    with av.open(SOURCE.split(":", 1)[1], format="lavfi") as container:
        stream = container.streams.video[0]
        frames = []
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) == count:
                return frames
    raise AssertionError("the test source ended")


def test_lavfi_is_a_live_source():
    assert is_camera(SOURCE) and not is_camera("testsrc.mp4")
    frames = camera_frames(SOURCE)
    times = []
    for _ in range(3):
        frame, seconds, rate = next(frames)
        times.append(seconds)
    frames.close()
    assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8
    assert rate == 25.0 and times == pytest.approx([0.0, 0.04, 0.08])


def test_stream_camera_feeds_every_frame_in_order(causal_checkpoint):
    predictor = StreamPredictor(causal_checkpoint)
    seen = []
    result = predictor.stream_camera(
        SOURCE, max_frames=6, on_frame=lambda i, s, p, frame, rate: seen.append((i, frame))
    )
    assert result["num_frames"] == 6 and result["fps"] == 25.0
    assert [i for i, _ in seen] == list(range(6))
    # The same frames pushed by hand into a fresh recogniser give the same probabilities.
    expected = StreamPredictor(causal_checkpoint).recognizer
    expected.reset()
    for t, frame in enumerate(_source_frames(6)):
        np.testing.assert_array_equal(seen[t][1], frame)
        np.testing.assert_allclose(
            result["probabilities"][t], expected.push(frame), rtol=0, atol=1e-6
        )
    # The probabilities change as frames arrive: a causal model sees more of the clip.
    assert not np.allclose(result["probabilities"][0], result["probabilities"][-1])


def test_stream_cli_on_a_live_source(causal_checkpoint, tmp_path):
    annotated, predictions = tmp_path / "live.mp4", tmp_path / "live.json"
    done = run_cli(
        "predict.py",
        f"--checkpoint={causal_checkpoint}",
        f"--input={SOURCE}",
        "--stream",
        "--max_frames=10",
        f"--output={annotated}",
        f"--output={predictions}",
    )
    assert done.returncode == 0, done.stderr
    (result,) = json.loads(predictions.read_text())["predictions"]
    assert result["num_frames"] == 10 and len(result["frames"]) == 10
    assert result["top_k"][0]["label"] == result["frames"][-1]["label"]
    frames, info = _decode(annotated)
    assert frames.shape == (10, 48, 64, 3) and info["fps"] == 25.0
