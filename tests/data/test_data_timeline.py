"""Decoding by presentation time: variable frame rate, dropped-frame AVIs, resampling, rotation,
and ``prepare --fps``. Every video is generated here with PyAV (no ffmpeg binary, no network).

Source frames are solid colours from `COLOURS`, so the colour of a decoded frame says which
source frame landed in each slot of the timeline.
"""

from __future__ import annotations

import math
import random
from fractions import Fraction

import av
import numpy as np
import pytest

from xwisenet_tf.data import DataError
from xwisenet_tf.data.convert import Settings, convert
from xwisenet_tf.data.decode import iter_frames, probe_video, read_video, timeline_fps
from xwisenet_tf.data.plan import Plan, Sample, VideoJob, VideoSource
from xwisenet_tf.data.prepare import _options, build_parser
from xwisenet_tf.data.timeline import MAX_GAP, Timeline, as_rate

_LEVELS = (20, 70, 120, 170, 220)
COLOURS = np.array([(r, g, b) for r in _LEVELS for g in _LEVELS for b in _LEVELS], np.uint8)

# The display matrix an iPhone writes for a portrait video (tkhd: 0 1 / -1 0, 16.16 fixed
# point); ffprobe reports it as "rotation of -90.00 degrees".
IPHONE_PORTRAIT_MATRIX = [0, 65536, 0, -65536, 0, 0, 0, 0, 1 << 30]


def solid_frames(count: int, height: int = 48, width: int = 64) -> np.ndarray:
    """Frame k is filled with ``COLOURS[k]``."""
    assert count <= len(COLOURS)
    return np.broadcast_to(COLOURS[:count, None, None, :], (count, height, width, 3)).copy()


def source_index(video: np.ndarray) -> list[int]:
    """Which source frame of `solid_frames` each decoded frame shows."""
    means = video.reshape(len(video), -1, 3).mean(axis=1)
    distances = np.linalg.norm(means[:, None, :] - COLOURS[None, :, :].astype(float), axis=2)
    assert distances.min(axis=1).max() < 12, "a decoded frame matches no source colour"
    return distances.argmin(axis=1).tolist()


def write_timed_video(
    path,
    frames: np.ndarray,
    pts: list[int],
    time_base: Fraction,
    *,
    fmt: str,
    codec: str,
    rate: int,
    pix_fmt: str = "yuv420p",
    rotation: int | None = None,
    matrix: list[int] | None = None,
):
    """Writes ``frames`` with the presentation timestamps ``pts`` (in ``time_base`` units)."""
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = pix_fmt
        stream.options = {"libx264": {"crf": "8"}, "mjpeg": {"q:v": "2"}}.get(codec, {})
        stream.codec_context.time_base = time_base
        if rotation is not None:
            stream.set_display_rotation(rotation)  # counter-clockwise, as frame.rotation
        if matrix is not None:
            stream.set_display_matrix(matrix)
        for frame, t in zip(frames, pts, strict=True):
            picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            picture.pts, picture.time_base = t, time_base
            out.mux(stream.encode(picture))
        out.mux(stream.encode(None))
    return path


def expected_slots(times: list[Fraction], fps: Fraction, source_fps: Fraction) -> list[int]:
    """The rule, written out: slot i shows the latest frame whose time (from the first frame)
    is at most ``i / fps`` + half a source interval; the slots are those a next frame, one
    source interval after the last, would not take."""
    relative = [t - times[0] for t in times]
    tolerance, end = 1 / (2 * source_fps), relative[-1] + 1 / source_fps
    count = math.ceil((end - tolerance) * fps)
    return [
        max(k for k, t in enumerate(relative) if t <= i / fps + tolerance) for i in range(count)
    ]


# --- the timeline on its own -----------------------------------------------------------------


def _place(times, fps, source_fps):
    timeline = Timeline(as_rate(fps), as_rate(source_fps))
    placed = []
    for k, t in enumerate(times):
        placed += timeline.push(None if t is None else Fraction(t), k)
    placed += timeline.finish()
    assert [slot for slot, _ in placed] == list(range(len(placed)))
    return [k for _, k in placed]


def test_timeline_rounded_timestamps_keep_every_frame():
    # A 30 fps WebM stores 0, 33, 67, 100 ms: frame 2 is 0.33 ms after slot 2's time, and a
    # timeline without tolerance would show frame 1 twice and drop frame 2.
    times = [Fraction(round(k * 1000 / 30), 1000) for k in range(90)]
    assert times[2] > Fraction(2, 30)
    assert _place(times, 30, 30) == list(range(90))
    # Phone-like jitter of up to +-5 ms around 30 fps: still one slot per frame.
    rng = random.Random(0)
    jittered = [Fraction(k, 30) + Fraction(rng.randint(-5, 5), 1000) for k in range(90)]
    assert _place(jittered, 30, 30) == list(range(90))


def test_timeline_gaps_repeat_surplus_drops_missing_timestamps_count_on():
    times = [0, Fraction(1, 25), Fraction(5, 25), Fraction(5, 25) + Fraction(1, 1000), 0.24]
    # Slots 2-4 repeat frame 1 (a gap), frame 2 is dropped for frame 3 (a surplus in slot 5).
    assert _place(times, 25, 25) == [0, 1, 1, 1, 1, 3, 4]
    # No timestamp: one source interval after the previous frame.
    assert _place([None] * 5, 25, 25) == [0, 1, 2, 3, 4]
    assert _place([0, 0.04, None, None, 0.2], 25, 25) == [0, 1, 2, 3, 3, 4]
    # Twice the source rate: every source frame twice (the tie at the midpoint goes later, so
    # the first frame shows once, and the last once, its second slot being the next's).
    assert _place([None] * 5, 50, 25) == [0, 1, 1, 2, 2, 3, 3, 4, 4]
    # Out of order: shown after the previous frame, replacing it.
    assert _place([0, 0.08, 0.04, 0.12], 25, 25) == [0, 0, 2, 3]
    # The first timestamp is the origin, whatever it is.
    assert _place([10, 10.04, 10.08], 25, 25) == [0, 1, 2]


def test_timeline_long_gap_is_filled_a_corrupt_jump_is_not():
    assert len(_place([0, MAX_GAP], 25, 25)) == 25 * MAX_GAP + 1  # a stall: frame 0 repeated
    # A jump of 46 hours (a corrupt timestamp) is a discontinuity: frame 2 follows frame 1.
    timeline = Timeline(as_rate(25), as_rate(25))
    placed = []
    for k, t in enumerate(
        [0, Fraction(1, 25), 2**31 / Fraction(12800), 2**31 / Fraction(12800) + Fraction(1, 25)]
    ):
        placed += timeline.push(t, k)
    placed += timeline.finish()
    assert [k for _, k in placed] == [0, 1, 2, 3]
    assert timeline.covered == 2**31 / Fraction(12800) + Fraction(2, 25)  # for the truncation check


@pytest.mark.parametrize("bad", [0, -25, float("nan"), float("inf"), "fast", 5000])
def test_bad_frame_rates_are_refused(tmp_path, bad):
    with pytest.raises(DataError, match="fps must be a frame rate"):
        as_rate(bad)
    path = write_timed_video(
        tmp_path / "v.avi", solid_frames(3), [0, 1, 2], Fraction(1, 25),
        fmt="avi", codec="mjpeg", rate=25, pix_fmt="yuvj420p",
    )  # fmt: skip
    with pytest.raises(DataError, match="fps must be a frame rate"):
        read_video(path, fps=bad)


# --- generated files -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dropped_frames_avi(tmp_path_factory):
    """The issue's AVI: 444 frame slots declared, 68 frames stored, the last one at slot 443
    (PyAV's AVI muxer writes an empty index entry for every slot without a frame)."""
    rng = random.Random(13)
    slots = [0, *sorted(rng.sample(range(1, 443), 66)), 443]
    path = tmp_path_factory.mktemp("avi") / "dropped.avi"
    write_timed_video(
        path, solid_frames(68), slots, Fraction(1, 25),
        fmt="avi", codec="mjpeg", rate=25, pix_fmt="yuvj420p",
    )  # fmt: skip
    return path, slots


def test_avi_with_dropped_frame_entries(dropped_frames_avi):
    path, slots = dropped_frames_avi
    info = probe_video(path)
    assert (info.num_frames, info.fps, info.duration) == (444, 25.0, 17.76)
    video = read_video(path, short_side=24)
    assert video.shape == (444, 24, 32, 3)
    # Slot i shows the latest stored frame at or before it: gaps repeat it.
    latest = [max(k for k, s in enumerate(slots) if s <= i) for i in range(444)]
    assert source_index(video) == latest
    # A frame range is a range of slots; resampled to 12.5 fps, slot i is source slot 2i.
    assert source_index(read_video(path, 100, 120)) == latest[100:120]
    assert source_index(read_video(path, fps=12.5)) == latest[::2]


def test_avi_cut_in_the_middle_is_truncated(dropped_frames_avi, tmp_path):
    path, slots = dropped_frames_avi
    data = path.read_bytes()
    with av.open(str(path)) as container:
        positions = [p.pos for p in container.demux(video=0) if p.size]
    cuts = {
        "at_chunk.avi": data[: positions[34]],  # clean end of data: judged by timestamps
        "mid_chunk.avi": data[: positions[34] + 100],  # a partial frame: the decoder fails
    }
    for name, cut in cuts.items():
        (tmp_path / name).write_bytes(cut)
        with pytest.raises(DataError, match="truncated") as error:
            read_video(tmp_path / name)
        assert str(tmp_path / name) in str(error.value)
    # 34 frames kept: they end one interval after the 34th's slot.
    ends = f"{(slots[33] + 1) / 25:.2f}"
    with pytest.raises(DataError, match=f"end at {ends} s but its container declares 17.76 s"):
        read_video(tmp_path / "at_chunk.avi")


def test_mp4_cut_in_the_middle_is_truncated(tmp_path):
    path = tmp_path / "whole.mp4"
    with av.open(str(path), "w", options={"movflags": "faststart"}) as out:  # index first
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for frame in solid_frames(100):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(stream.encode(None))
    assert len(read_video(path)) == 100
    data = path.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: int(len(data) * 0.9)])
    with pytest.raises(DataError, match=r"cut\.mp4: truncated: .* declares 4\.00 s"):
        read_video(tmp_path / "cut.mp4")


@pytest.fixture(scope="module")
def vfr_mp4(tmp_path_factory):
    """H.264 MP4 as a phone writes it: 1 ms timestamps around 30 fps, irregular intervals and
    two stalls (frames the camera did not deliver)."""
    rng = random.Random(7)
    intervals = [rng.choice([25, 30, 33, 34, 40, 45]) for _ in range(44)]
    intervals[10], intervals[30] = 200, 120
    ms = [0]
    for step in intervals:
        ms.append(ms[-1] + step)
    path = tmp_path_factory.mktemp("vfr") / "phone.mp4"
    write_timed_video(
        path, solid_frames(len(ms)), ms, Fraction(1, 1000), fmt="mp4", codec="libx264", rate=30
    )
    return path, [Fraction(t, 1000) for t in ms]


def test_vfr_h264_mp4_on_a_constant_rate_timeline(vfr_mp4):
    path, times = vfr_mp4
    info = probe_video(path)
    nominal = as_rate(info.fps)
    assert 20 < info.fps < 30  # the average rate FFmpeg computes: frames / duration
    for fps in (None, 30, 25):
        video = read_video(path, fps=fps)
        rate = as_rate(timeline_fps(info, fps))
        expected = expected_slots(times, rate, nominal)
        assert len(video) == len(expected)
        assert source_index(video) == expected, fps
    # The stalls repeat frames (the old decoder packed the 45 frames as consecutive).
    at_30 = source_index(read_video(path, fps=30))
    assert len(at_30) == math.ceil((times[-1] + 1 / (2 * nominal)) * 30) > len(times)
    assert at_30.count(10) >= 6 and at_30.count(30) >= 3


def test_sixty_fps_resampled_to_twenty_five(tmp_path):
    path = write_timed_video(
        tmp_path / "sixty.mp4", solid_frames(60), list(range(60)), Fraction(1, 60),
        fmt="mp4", codec="libx264", rate=60,
    )  # fmt: skip
    assert probe_video(path).fps == 60.0
    assert source_index(read_video(path)) == list(range(60))  # its own rate: every frame
    video = read_video(path, fps=25)
    assert len(video) == 25  # one second
    shown = source_index(video)
    # Slot i (at i / 25 s) shows the source frame nearest to its time: round(2.4 i).
    assert shown == [math.floor(Fraction(12, 5) * i + Fraction(1, 2)) for i in range(25)]
    assert shown[:6] == [0, 2, 5, 7, 10, 12]
    for i, k in enumerate(shown):
        assert abs(Fraction(k, 60) - Fraction(i, 25)) <= Fraction(1, 120)
    assert source_index(read_video(path, 10, 15, fps=25)) == shown[10:15]


def _portrait_scene(height: int = 64, width: int = 48) -> np.ndarray:
    """An upright picture no rotation or flip maps onto itself."""
    scene = np.full((height, width, 3), 120, np.uint8)
    scene[:16, :16] = (230, 30, 30)  # red block top left
    scene[-8:, :] = (30, 30, 230)  # blue band at the bottom
    scene[16:48, 32:] = (30, 230, 30)  # green block on the right
    return scene


def _difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(int) - b.astype(int)).mean())


@pytest.mark.parametrize("rotation", [-90, 90, 180])
def test_rotated_mp4_decodes_upright(tmp_path, rotation):
    scene = _portrait_scene()
    frames = np.stack([scene] * 4)
    plain = write_timed_video(
        tmp_path / "plain.mp4", frames, [0, 1, 2, 3], Fraction(1, 25),
        fmt="mp4", codec="libx264", rate=25,
    )  # fmt: skip
    # The camera stores the picture turned the other way, with a matrix that turns it back.
    coded = np.stack([np.rot90(scene, -rotation // 90)] * 4)
    rotated = write_timed_video(
        tmp_path / "rotated.mp4", coded, [0, 1, 2, 3], Fraction(1, 25),
        fmt="mp4", codec="libx264", rate=25, rotation=rotation,
    )  # fmt: skip
    info = probe_video(rotated)
    assert info.rotation == rotation
    assert (info.display_width, info.display_height) == (48, 64)
    upright, reference = read_video(rotated), read_video(plain)
    assert upright.shape == reference.shape == (4, 64, 48, 3)
    assert _difference(upright[0], reference[0]) < 4  # chroma edges differ a little
    for wrong in (np.rot90(reference[0], 2), reference[0, ::-1], reference[0, :, ::-1]):
        assert _difference(upright[0], wrong) > 20
    assert read_video(rotated, short_side=24).shape == (4, 32, 24, 3)


def test_iphone_portrait_matrix(tmp_path):
    scene = _portrait_scene()
    coded = np.stack([np.rot90(scene, 1)] * 3)  # the sensor's landscape picture
    path = write_timed_video(
        tmp_path / "iphone.mov", coded, [0, 1, 2], Fraction(1, 30),
        fmt="mov", codec="libx264", rate=30, matrix=IPHONE_PORTRAIT_MATRIX,
    )  # fmt: skip
    info = probe_video(path)
    assert (info.width, info.height, info.rotation) == (64, 48, -90)
    video = read_video(path)
    assert video.shape == (3, 64, 48, 3)
    assert _difference(video[0], scene) < 4


def test_cfr_webm_with_millisecond_timestamps_keeps_every_frame(tmp_path):
    count = 45
    ms = [round(k * 1000 / 30) for k in range(count)]
    path = write_timed_video(
        tmp_path / "web.webm", solid_frames(count), ms, Fraction(1, 1000),
        fmt="webm", codec="libvpx", rate=30,
    )  # fmt: skip
    assert probe_video(path).fps == 30.0
    assert source_index(read_video(path)) == list(range(count))


def test_real_kth_resampled(kth_dir):
    path = kth_dir / "walking" / "person01_walking_d1_uncomp.avi"
    full = read_video(path, 0, 100)
    np.testing.assert_array_equal(read_video(path, 0, 100, fps=25), full)
    # KTH is 25 fps: at 12.5 fps, frame i is source frame 2i, the same decoded picture.
    np.testing.assert_array_equal(read_video(path, 0, 50, fps=12.5), full[::2])
    assert sum(1 for _ in iter_frames(path, 270, None, fps=12.5)) == 278 - 270  # 555 / 2


# --- prepare --fps ---------------------------------------------------------------------------


def _records(out):
    import tensorflow as tf

    from xwisenet_tf.data.tfrecord import CONTEXT_FEATURES, SEQUENCE_FEATURES

    records = {}
    for path in sorted(out.glob("*.tfrecord")):
        for serialized in tf.data.TFRecordDataset(str(path)):
            context, sequence = tf.io.parse_single_sequence_example(
                serialized, context_features=CONTEXT_FEATURES, sequence_features=SEQUENCE_FEATURES
            )
            frames = np.stack([tf.io.decode_jpeg(j).numpy() for j in sequence["image/encoded"]])
            records[context["video/id"].numpy().decode()] = (
                float(context["video/fps"]),
                int(context["video/frame_start"]),
                frames,
            )
    return records


def test_convert_stores_the_timeline_and_its_rate(dropped_frames_avi, tmp_path):
    path, slots = dropped_frames_avi
    latest = [max(k for k, s in enumerate(slots) if s <= i) for i in range(444)]
    samples = [
        Sample(id="whole", label="a", split="train"),
        Sample(id="part", label="a", split="train", start=100, end=140, range_text="101-140"),
    ]
    plan = Plan("folder", str(tmp_path), ["a"], [VideoJob(VideoSource(str(path)), samples)])
    for fps, whole, part in ((None, 444, (100, 40)), (12.5, 222, (50, 20)), (10, 178, (40, 16))):
        out = tmp_path / f"out-{fps}"
        manifest = convert(plan, out, Settings(short_side=32, fps=fps), progress=False)
        assert manifest["failed"] == [] and manifest["settings"]["fps"] == fps
        rate = fps or 25.0
        videos = {v["id"]: v for v in manifest["splits"]["train"]["videos"]}
        assert (videos["whole"]["num_frames"], videos["whole"]["fps"]) == (whole, rate)
        assert (videos["part"]["frame_start"], videos["part"]["num_frames"]) == part
        records = _records(out)
        assert {k: v[:2] for k, v in records.items()} == {
            "whole": (rate, 0),
            "part": (rate, part[0]),
        }
        # Stored frame k of the timeline shows the source slot nearest to k / fps.
        nearest = [
            latest[math.floor(Fraction(25) / as_rate(rate) * k + Fraction(1, 2))]
            for k in range(whole)
        ]
        assert source_index(records["whole"][2]) == nearest
        assert source_index(records["part"][2]) == nearest[part[0] : part[0] + part[1]]
    with pytest.raises(DataError, match="fps must be a frame rate"):
        convert(plan, tmp_path / "bad", Settings(fps=0), progress=False)


def test_prepare_flag():
    parser = build_parser()
    args = parser.parse_args(["--dataset=kth", "--output=x", "--fps=12.5"])
    assert _options(args)["fps"] == 12.5
    assert _options(parser.parse_args(["--dataset=kth", "--output=x"]))["fps"] is None
    assert "--fps" in parser.format_help()
