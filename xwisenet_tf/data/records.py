"""One video of a `Plan` -> the TFRecord records of its samples.

The video is decoded (PyAV) onto a constant-rate timeline (the source's nominal rate, or
``Settings.fps``), resized to a short side and JPEG-encoded by
`xwisenet_tf.data.frames.stored_frames`, the path prediction shares; only the frames some
sample needs are encoded. Each sample becomes one ``tf.train.SequenceExample``
(`xwisenet_tf.data.tfrecord`) and one entry of the manifest's ``videos``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from xwisenet_tf.data import tfrecord
from xwisenet_tf.data.decode import probe_video, timeline_fps
from xwisenet_tf.data.errors import DataError
from xwisenet_tf.data.frames import stored_frames
from xwisenet_tf.data.plan import Settings, VideoJob, VideoSource

# ``fetch(source, tmp_dir)``: a context manager yielding a local path FFmpeg can open.
Fetch = Callable[[VideoSource, str], contextlib.AbstractContextManager[str]]


def video_records(
    job: VideoJob,
    label_index: dict[str, int],
    settings: Settings,
    tmp_dir: str,
    fetch: Fetch | None = None,
) -> tuple[list, list, list]:
    """Decodes one video and builds the records of its samples.

    A video that cannot be decoded, or a sample outside its frames, is reported, not raised:
    one bad video must not stop a conversion.

    Args:
        job: The video and the samples cut from it.
        label_index: Class name -> label.
        settings: Frame size, JPEG quality and frame rate of the stored frames.
        tmp_dir: Where a zip member (or a fetched copy) is extracted.
        fetch: How the video becomes a local file; default `VideoSource.local_file` (Beam's
            runner fetches through Beam's file systems: gs://, s3://...). It raises
            `DataError` for a file it cannot read.

    Returns:
        ``(records, failures, warnings)`` with records a list of ``(meta, serialized)``.
    """
    shown = str(job.source)
    records, failures, warnings = [], [], []
    try:
        with (fetch or VideoSource.local_file)(job.source, tmp_dir) as path:
            try:
                info = probe_video(path)
                fps = timeline_fps(info, settings.fps)
                ranges = [s.timeline_range(timeline_fps(info), fps) for s in job.samples]
                first = min(start for start, _ in ranges)
                ends = [end for _, end in ranges]
                last = None if None in ends else max(ends)
                wanted = None
                if last is not None:
                    wanted = {i for start, end in ranges for i in range(start, end)}
                jpegs: dict[int, bytes] = {}
                decoded, shape = 0, (0, 0)
                frames = stored_frames(
                    path,
                    first,
                    last,
                    short_side=settings.short_side,
                    jpeg_quality=settings.jpeg_quality,
                    fps=settings.fps,
                    keep=None if wanted is None else wanted.__contains__,
                )
                for frame in frames:
                    decoded = frame.index + 1
                    if frame.jpeg is not None:
                        jpegs[frame.index] = frame.jpeg
                        shape = frame.height, frame.width
            except DataError as e:
                raise DataError(str(e).replace(path, shown)) from e
    except DataError as e:
        return [], [{"path": shown, "error": str(e)}], []
    except Exception as e:  # noqa: BLE001 - one bad video must not stop the conversion
        error = f"{shown}: unexpected error while converting ({type(e).__name__}: {e})"
        return [], [{"path": shown, "error": error}], []
    if decoded == 0:
        error = f"{shown}: video has no decodable frame; expected at least one frame"
        return [], [{"path": shown, "error": error}], []
    for sample, (start, stop) in zip(job.samples, ranges, strict=True):
        end = decoded if stop is None else min(stop, decoded)
        where = f"{shown}: sample {sample.id}"
        if sample.range_text:
            where += f" (frames {sample.range_text})"
        if start >= end:
            error = f"{where} starts after the last decoded frame ({decoded})"
            failures.append({"path": shown, "sample": sample.id, "error": error})
            continue
        if stop is not None and stop > decoded:
            warnings.append(f"{where} cut to the {decoded} decoded frames")
        frames = [jpegs[i] for i in range(start, end)]
        serialized = tfrecord.make_sequence_example(
            video_id=sample.id,
            source=shown,
            frame_start=start,
            fps=fps,
            label_index=label_index[sample.label],
            label_name=sample.label,
            height=shape[0],
            width=shape[1],
            jpeg_frames=frames,
        )
        meta = {
            "id": sample.id,
            "label": label_index[sample.label],
            "num_frames": len(frames),
            "frame_start": start,
            "fps": fps,
            "source": shown,
        }
        records.append((meta, serialized))
    return records, failures, warnings
