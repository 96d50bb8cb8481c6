"""The choices a training clip is made with, named without TensorFlow.

`xwisenet_tf.training.config.TrainConfig` checks a run's crop and colour jitter against them
before TensorFlow loads; the clip pipeline (`xwisenet_tf.data.pipeline`, `clip_ops`) applies
them.
"""

from __future__ import annotations

from dataclasses import dataclass

# Training crops, each drawing a scale and a position uniformly from its own choices
# (`xwisenet_tf.data.pipeline.TRAIN_CROPS`). "corner_multiscale" is the paper's (sec. IV-B): centre
# or a corner, at a scale from 1 to 1/2 of the short side. A corner crop at scale 1/2 holds a
# quarter of a 4:3 frame and can miss the actor altogether, so on data whose subject sits near the
# centre it adds label noise; "corner_large" keeps the five positions with the three largest
# scales (1 to 2^-1/2: at least half the frame's area, so the actor stays in view);
# "centre_multiscale" keeps the scale jitter at the centre, "centre" keeps only temporal jitter
# and the flip. "corner" keeps the five positions at scale 1 only: the window shifts along the
# long side of the frame but never zooms, so the actor has the size it has at test time
# (sec. IV-C crops the centre at scale 1). "resized" is the random resized crop (below).
TRAIN_CROP_NAMES = (
    "corner_multiscale",
    "corner_large",
    "centre_multiscale",
    "centre",
    "corner",
    "resized",
)
DEFAULT_TRAIN_CROP = "corner_multiscale"
# `jitter_colours` at strength 1: the range of the brightness, contrast and saturation factors
# around 1 and of the hue shift (turns), those of torchvision's ColorJitter(0.4, 0.4, 0.4, 0.1).
COLOUR_JITTER_RANGES = (0.4, 0.4, 0.4, 0.1)
MAX_COLOUR_JITTER = 2.0  # keeps every factor > 0

# The random resized crop ("resized"): a window of a random area (a share in [min_area, 1] of
# the short side's square, the test crop's area) and aspect ratio (log-uniform in
# [1/max_aspect, max_aspect]) anywhere in the frame, resized to the square clip: the actor is
# seen at several sizes, places and proportions, as a user's own recordings show him.
RESIZED_CROP = "resized"
DEFAULT_CROP_MIN_AREA = 0.35
DEFAULT_CROP_MAX_ASPECT = 4 / 3
MAX_SPEED = 3.0  # the temporal speed jitter's largest factor

# Test-time augmentation: the views of every evaluation clip whose softmax scores are averaged,
# each ``(position, flip)`` with a position of `xwisenet_tf.data.POSITIONS` at scale 1 (the
# square of the short side: 0 the centre, 1 and 4 the two ends of the long side). "none" is the
# paper's protocol (sec. IV-C: the centre crop); "crops" the three crops along the long side.
TEST_VIEWS = {
    "none": ((0, False),),
    "flip": ((0, False), (0, True)),
    "crops": ((0, False), (1, False), (4, False)),
    "crops_flip": ((0, False), (0, True), (1, False), (1, True), (4, False), (4, True)),
}


@dataclass(frozen=True)
class ClipAugmentation:
    """The training clip augmentations beyond the paper's crop and flip (sec. IV-B), each off
    at its default; `xwisenet_tf.data.load` applies them inside the ``tf.data`` graph.

    Attributes:
        crop_min_area: Smallest area of the ``"resized"`` crop, a share of the short side's
            square, in (0, 1].
        crop_max_aspect: Largest aspect ratio (either way) of the ``"resized"`` crop, >= 1.
        speed: Temporal speed jitter: frames are sampled ``v * frame_stride`` apart with ``v``
            log-uniform in ``[1/speed, speed]`` (nearest earlier frame), so an action is seen
            slower and faster than recorded; 1: off. In [1, `MAX_SPEED`].
        grayscale: Probability that a clip is turned grey (every frame, 3 equal channels).
        erase: Probability of random erasing: one rectangle (2-25% of the frame, aspect 0.3 to
            3.3) set to the mean colour in every frame of the clip (a tube), after
            normalisation.
    """

    crop_min_area: float = DEFAULT_CROP_MIN_AREA
    crop_max_aspect: float = DEFAULT_CROP_MAX_ASPECT
    speed: float = 1.0
    grayscale: float = 0.0
    erase: float = 0.0

    def problems(self) -> list[str]:
        """What is out of range, as ``name must ...; received value`` lines."""
        out = []
        if not 0 < self.crop_min_area <= 1:
            out.append(f"crop_min_area must be in (0, 1]; received {self.crop_min_area!r}")
        if not self.crop_max_aspect >= 1:
            out.append(f"crop_max_aspect must be >= 1; received {self.crop_max_aspect!r}")
        if not 1 <= self.speed <= MAX_SPEED:
            out.append(f"speed must be in [1, {MAX_SPEED}]; received {self.speed!r}")
        for name in ("grayscale", "erase"):
            if not 0 <= getattr(self, name) <= 1:
                out.append(f"{name} must be in [0, 1]; received {getattr(self, name)!r}")
        return out
