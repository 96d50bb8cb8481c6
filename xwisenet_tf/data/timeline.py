"""Constant-rate timeline from presentation timestamps (what a player shows at each instant).

Phones write variable-frame-rate video (frames at irregular times), AVI files store dropped
frames as empty index entries (gaps in the timestamps), and sources come at 24, 25, 30 or 60 fps.
A clip of 16 frames must span the same time whatever the source, so decoded frames are placed
on a timeline of slots ``i = 0, 1, 2, ...`` at times ``i / fps`` from the first frame:

* slot ``i`` holds the latest frame whose timestamp is at most ``i / fps + tolerance``;
* a gap in the timestamps repeats the previous frame, a surplus of frames within one slot is
  dropped (the latest is kept);
* the timeline ends where a next frame would start, one source frame interval after the last
  frame's timestamp (its slots are those that frame would not take);
* a frame without timestamp comes one source frame interval after the previous one, so a
  stream without any timestamp keeps its frames consecutive;
* a forward jump of more than `MAX_GAP` seconds between two frames is a timestamp
  discontinuity (a corrupt or wrapped timestamp, as FFmpeg treats MPEG-TS jumps beyond its
  ``dts_delta_threshold``): the next frame follows one interval after the previous, so one bad
  timestamp cannot make the timeline hours long.

The tolerance is half a source frame interval (at the source's nominal rate). Timestamps are
rounded to their container's time base - a 30 fps WebM stores 0, 33, 67, 100 ms - and phone
frames jitter by a few milliseconds around their nominal times; with a tolerance of zero such a
frame could land one slot late, repeating its predecessor and dropping itself. With half an
interval, every frame of a regular source at the timeline's own rate keeps its slot, and
resampling a regular source to another rate picks, for each slot, the source frame nearest to
the slot's time (ties go to the later frame).

Times are exact `fractions.Fraction` seconds (frame ``pts * time_base``), so slot boundaries do
not depend on float rounding.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import Generic, TypeVar

from xwisenet_tf.data.errors import DataError

T = TypeVar("T")

# Above this a "frame rate" is a time base or a guess, not a rate (FFmpeg reports 90000 or
# "1k tbr" for streams it cannot time).
MAX_FPS = 1000

# Longest gap between two frames filled by repeating a frame (seconds).
MAX_GAP = 60


def as_rate(value: float | Fraction | str, what: str = "fps") -> Fraction:
    """A frame rate as an exact fraction.

    Args:
        value: Frames per second, e.g. ``25``, ``29.97``, ``Fraction(30000, 1001)``, ``"12.5"``.
        what: Name of the value in the error message.

    Returns:
        The rate; floats are read through their shortest decimal form (29.97 -> 2997/100).

    Raises:
        DataError: the value is not a number in ``(0, MAX_FPS]``.
    """
    try:
        rate = Fraction(str(value)) if isinstance(value, float) else Fraction(value)
    except (TypeError, ValueError, ZeroDivisionError) as e:
        raise DataError(
            f"{what} must be a frame rate in frames per second; received {value!r}"
        ) from e
    if not 0 < rate <= MAX_FPS:
        raise DataError(
            f"{what} must be a frame rate in (0, {MAX_FPS}] frames per second; received {value!r}"
        )
    return rate


class Timeline(Generic[T]):
    """Places timestamped frames on constant-rate slots (see the module docstring).

    Streamed: it holds one frame at a time. Feed frames in decoding order with `push` and end
    with `finish`; both yield ``(slot, frame)`` pairs in slot order, the same frame object
    repeated across the slots of a gap.

    Args:
        fps: Rate of the timeline (slots per second).
        source_fps: Nominal rate of the source: its interval spaces frames without
            timestamps, ends the last frame, and half of it is the timestamp tolerance.
    """

    def __init__(self, fps: Fraction, source_fps: Fraction):
        self.fps = Fraction(fps)
        self.interval = 1 / Fraction(source_fps)
        self._tolerance = self.interval / 2
        self.origin: Fraction | None = None  # timestamp of slot 0 (the first frame's)
        self.last: Fraction | None = None  # time of the held frame, relative to the origin
        self.num_frames = 0  # frames pushed
        self.num_slots = 0  # slots yielded so far
        self.skipped = Fraction(0)  # seconds left out at timestamp discontinuities
        self._held: T | None = None

    def push(self, time: Fraction | None, frame: T) -> Iterator[tuple[int, T]]:
        """Adds a decoded frame; yields the slots it closes (those before it, not its own).

        The frame is recorded when the returned iterator is exhausted: iterate it to the end.

        Args:
            time: The frame's presentation time in seconds, or ``None`` when it has none.
            frame: The frame (any object).
        """
        expected = Fraction(0) if self.last is None else self.last + self.interval
        if time is None:
            relative = expected
        else:
            if self.origin is None:
                self.origin = Fraction(time) - expected
            relative = Fraction(time) - self.origin
        if self.last is not None and relative < self.last:
            relative = self.last  # out of order: shown after the previous frame, replacing it
        if self.last is not None and relative - self.last > MAX_GAP:
            self.skipped += relative - expected
            self.origin += relative - expected
            relative = expected
        if self._held is not None:
            while self.num_slots / self.fps + self._tolerance < relative:
                yield self.num_slots, self._held
                self.num_slots += 1
        self._held, self.last = frame, relative
        self.num_frames += 1

    def finish(self) -> Iterator[tuple[int, T]]:
        """Yields the remaining slots: those a next frame, one source interval after the last,
        would not take."""
        if self._held is None:
            return
        end = self.last + self.interval
        while self.num_slots / self.fps + self._tolerance < end:
            yield self.num_slots, self._held
            self.num_slots += 1

    @property
    def covered(self) -> Fraction:
        """Seconds from the first frame to the end of the last one, discontinuities included
        (0 before any frame)."""
        return Fraction(0) if self.last is None else self.last + self.interval + self.skipped
