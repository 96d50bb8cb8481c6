"""The corruption harness on real clips (issue 13): every damaged copy gives a per-file
`DataError` or a valid result; no crash, hang, memory blow-up or other exception escapes."""

import os

import numpy as np
import pytest

from xwisenet_tf.data.synthetic import render_video, write_video
from xwisenet_tf.prediction import corruption

KTH = "/work/shared/data/kth"


def _kth_clips(count=1):
    if not os.path.isdir(KTH):
        return []
    found = []
    for action in sorted(os.listdir(KTH)):
        folder = os.path.join(KTH, action)
        if os.path.isdir(folder):
            found += [
                os.path.join(folder, n) for n in sorted(os.listdir(folder)) if n.endswith(".avi")
            ]
    return found[:count]


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("clips")
    frames = render_video("walking", np.random.default_rng(0), 12)
    mp4, avi = root / "walking.mp4", root / "walking.avi"
    write_video(mp4, frames)
    write_video(avi, frames, codec="mjpeg")
    return [str(mp4), str(avi)]


def test_make_cases_is_seeded_and_damages_as_named(clips):
    a = corruption.make_cases(clips[0], np.random.default_rng(1), per_kind=2)
    b = corruption.make_cases(clips[0], np.random.default_rng(1), per_kind=2)
    assert [c.detail for c in a] == [c.detail for c in b]
    assert [c.kind for c in a] == [k for k in corruption.KINDS for _ in range(2)]
    original = open(clips[0], "rb").read()
    truncated = a[0]
    assert 0 < len(truncated.data) < len(original)
    assert original.startswith(truncated.data)
    flipped = a[2].data
    assert len(flipped) == len(original) and flipped != original
    assert a[6].data == original and a[6].extension != ".mp4"


def test_check_file_classifies_outcomes(clips, tmp_path):
    assert corruption.check_file(clips[1]) == ("ok", "12 frames")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 1000)
    outcome, message = corruption.check_file(str(junk))
    assert outcome == "data_error" and message.startswith("<file>: not a readable video file")


def test_harness_catches_crashes_and_hangs():
    """A case that kills the worker or hangs is reported per case; the run goes on."""
    crash = corruption.Case("crash", "zero", "aborts", b"", ".crash")
    hang = corruption.Case("hang", "flip", "sleeps", b"", ".hang")
    outcomes = corruption.run_harness(
        [crash, hang], timeout=3, budget=None, _check="tests.prediction.test_corruption:_fake"
    )
    assert [o.outcome for o in outcomes] == ["crash", "timeout"]
    assert outcomes[0].message == "worker died (exit code -6)"  # SIGABRT
    summary = corruption.summarize(outcomes)
    assert "DEFECTS: 2" in summary and "timeout: hang (sleeps)" in summary


def _fake(path, predictor=None):
    """A check that hangs or crashes on the harness's own test cases."""
    if path.endswith(".hang"):
        import time

        time.sleep(60)
    if path.endswith(".crash"):
        os.abort()
    return corruption.check_file(path, predictor)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A tiny random XwiseNet on 4x32x32 clips saved with its metadata, for the predict step."""
    import keras

    from xwisenet_tf.models import get_model
    from xwisenet_tf.training.metadata import write_metadata

    keras.utils.set_random_seed(0)
    model = get_model("xwisenet", 3, (4, 32, 32, 3), width=0.5, stage_repeats=(1, 1, 1))
    path = str(tmp_path_factory.mktemp("model") / "tiny.keras")
    model.save(path)
    write_metadata(path, {"class_names": ["a", "b", "c"], "input": {"frame_stride": 1}})
    return path


def test_corruption_harness_on_real_clips(clips, tiny_model, capsys):
    """Issue 13 item 4: decode, convert and predict, bounded to about a minute; the summary is
    printed."""
    rng = np.random.default_rng(0)
    sources = clips + _kth_clips(1)
    cases = [c for source in sources for c in corruption.make_cases(source, rng, per_kind=3)]
    outcomes = corruption.run_harness(cases, model=tiny_model, timeout=20, budget=45)
    summary = corruption.summarize(outcomes)
    with capsys.disabled():
        print("\n" + summary)
    assert len(outcomes) >= 24, summary  # at least the synthetic clips' cases ran
    assert {o.case.kind for o in outcomes} == set(corruption.KINDS)
    defects = [o for o in outcomes if o.outcome not in ("ok", "data_error")]
    assert not defects, summary
    # Every undamaged-container copy (extension swapped) still decodes.
    assert all(o.outcome == "ok" for o in outcomes if o.case.kind == "extension"), summary
