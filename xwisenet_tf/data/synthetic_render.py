"""What a synthetic video shows, rendered frame by frame with NumPy (`render_video`).

Six classes with KTH's names: ``walking``, ``jogging``, ``running`` (the same stick figure
crossing the frame; they differ *only* in speed: translation and limb-cycle frequency), and
``boxing``, ``handwaving``, ``handclapping`` (standing figure, different arm motion). Every video
has its own background, figure colour, size, limb thickness, position, direction, phase and a
+-12% speed jitter; walk/jog/run speeds stay apart, so a model must look at several frames to
separate them.

The splits measure generalisation, not memorisation, as new subjects and scenes do in real data:
each appearance attribute (figure size, i.e. distance; horizontal position; figure hue; limb
thickness) has its range cut into `NUM_BANDS` interleaved bands, and the training, validation and
test splits draw from disjoint bands (`SPLIT_BANDS`); their backgrounds come from disjoint texture
families (`SPLIT_TEXTURES`). A test video therefore never shows a figure size, colour, position,
build or background kind that a training video shows. Motion (the label) follows the same
distribution in every split.
"""

from __future__ import annotations

import numpy as np

from xwisenet_tf.data.errors import DataError
from xwisenet_tf.data.synthetic_defaults import CLASSES, HEIGHT, WIDTH

# Per class: (limb cycles per frame, translation in figure heights per frame). The three
# locomotion classes differ only here; +-12% jitter keeps them apart (0.0235 < 0.0312 ...).
_MOTION = {
    "walking": (1 / 18, 0.0105),
    "jogging": (1 / 12, 0.0210),
    "running": (1 / 8, 0.0330),
    "boxing": (1 / 9, 0.0),
    "handwaving": (1 / 14, 0.0),
    "handclapping": (1 / 7, 0.0),
}
_JITTER = 0.12

# Appearance domains (module docstring): band indices of each split, out of NUM_BANDS.
NUM_BANDS = 7
SPLIT_BANDS = {"train": (0, 2, 4, 6), "validation": (1,), "test": (3, 5)}
SPLIT_TEXTURES = {
    "train": ("blocks", "plain"),
    "validation": ("disks",),
    "test": ("stripes", "checker"),
}
# Attribute ranges split into bands: figure height / frame height, centre x / frame width,
# figure hue (turns), limb radius / figure height.
_SIZE, _POSITION, _HUE, _THICKNESS = (0.5, 0.92), (0.3, 0.7), (0.0, 1.0), (0.035, 0.07)


def _segment_alpha(xx, yy, p, q, radius):
    p, q = np.asarray(p, np.float32), np.asarray(q, np.float32)
    d = q - p
    t = np.clip(((xx - p[0]) * d[0] + (yy - p[1]) * d[1]) / max(float(d @ d), 1e-6), 0.0, 1.0)
    dist = np.hypot(xx - (p[0] + t * d[0]), yy - (p[1] + t * d[1]))
    return np.clip(radius + 0.5 - dist, 0.0, 1.0)


def _limb(root, end, bend):
    """Joint between ``root`` and ``end``, pushed sideways by ``bend`` (figure units)."""
    root, end = np.asarray(root), np.asarray(end)
    mid = (root + end) / 2
    d = end - root
    normal = np.array([-d[1], d[0]]) / max(np.hypot(*d), 1e-6)
    return mid + bend * normal


def _pose(action: str, phase: float, facing: int) -> list[tuple]:
    """Stick-figure segments in figure units (height 1, feet at y=0, y up) at limb phase."""
    hip, neck = np.array([0.0, 0.48]), np.array([0.0, 0.82])
    s = np.sin(phase)
    segments = [(hip, neck)]
    if action in ("walking", "jogging", "running"):
        for sign in (1, -1):
            a = 0.45 * sign * s
            foot = hip + 0.48 * np.array([np.sin(a) * facing, -np.cos(a)])
            segments += [
                (hip, _limb(hip, foot, -0.05 * facing)),
                (_limb(hip, foot, -0.05 * facing), foot),
            ]
            b = -0.55 * sign * s
            hand = neck + 0.34 * np.array([np.sin(b) * facing, -np.cos(b)])
            elbow = _limb(neck, hand, 0.04 * facing)
            segments += [(neck, elbow), (elbow, hand)]
        return segments
    for sign in (1, -1):
        foot = hip + np.array([0.10 * sign, -0.48])
        segments.append((hip, foot))
    if action == "boxing":
        for k, sign in enumerate((1, -1)):
            reach = max(0.0, np.sin(phase + k * np.pi)) ** 2
            guard = neck + np.array([0.10 * facing, 0.02])
            punch = neck + np.array([0.34 * facing, -0.02])
            hand = guard + reach * (punch - guard)
            segments += [
                (neck, _limb(neck, hand, 0.08 * sign)),
                (_limb(neck, hand, 0.08 * sign), hand),
            ]
    elif action == "handwaving":
        for sign in (1, -1):
            a = sign * (0.55 + 0.45 * s)
            hand = neck + 0.34 * np.array([np.sin(a), np.cos(a)])
            segments += [(neck, _limb(neck, hand, 0.0)), (_limb(neck, hand, 0.0), hand)]
    else:  # handclapping: hands meet and part in front of the chest
        gap = 0.02 + 0.13 * (0.5 + 0.5 * s)
        for sign in (1, -1):
            hand = neck + np.array([sign * gap, -0.10])
            elbow = neck + np.array([sign * (gap + 0.12), -0.20])
            segments += [(neck, elbow), (elbow, hand)]
    return segments


def _banded(rng: np.random.Generator, span: tuple[float, float], split: str) -> float:
    """A value of ``span`` drawn uniformly from one of ``split``'s bands (module docstring)."""
    band = rng.choice(SPLIT_BANDS[split])
    width = (span[1] - span[0]) / NUM_BANDS
    return span[0] + width * (band + rng.uniform(0, 1))


def draw_appearance(rng: np.random.Generator, split: str) -> dict:
    """The banded appearance of one video of ``split`` (module docstring): background
    ``texture``, figure ``size`` (fraction of the frame height), ``position`` (centre x as a
    fraction of the width), ``hue`` (turns) and limb ``thickness`` (fraction of the figure).

    Raises:
        DataError: unknown split.
    """
    if split not in SPLIT_BANDS:
        raise DataError(f"unknown synthetic split {split!r}; expected one of {list(SPLIT_BANDS)}")
    return {
        "texture": str(rng.choice(SPLIT_TEXTURES[split])),
        "size": _banded(rng, _SIZE, split),
        "position": _banded(rng, _POSITION, split),
        "hue": _banded(rng, _HUE, split),
        "thickness": _banded(rng, _THICKNESS, split),
    }


def _hue_colour(hue: float, bright: bool, rng: np.random.Generator) -> np.ndarray:
    """An RGB colour of ``hue`` (turns), dark or bright to stand out from the background."""
    angles = 2 * np.pi * (hue - np.array([0.0, 1 / 3, 2 / 3]))
    unit = 0.5 + 0.5 * np.cos(angles)  # 0..1 per channel, peak at the hue
    saturation = rng.uniform(0.5, 1.0)
    mix = 1 - saturation + saturation * unit
    return 165 + 90 * mix if bright else 90 * mix


def _background(rng: np.random.Generator, yy, xx, texture: str) -> np.ndarray:
    c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * xx / WIDTH + np.sin(angle) * yy / HEIGHT + 1) / 2
    image = c0 + (c1 - c0) * ramp[..., None]
    if texture == "blocks":
        for _ in range(rng.integers(1, 4)):
            x0, y0 = rng.uniform(-20, WIDTH), rng.uniform(-20, HEIGHT)
            w, h = rng.uniform(8, 40), rng.uniform(8, 40)
            inside = (xx >= x0) & (xx < x0 + w) & (yy >= y0) & (yy < y0 + h)
            image[inside] = 0.5 * image[inside] + 0.5 * rng.uniform(0, 255, 3)
    elif texture == "disks":
        for _ in range(rng.integers(1, 4)):
            cx, cy, r = rng.uniform(0, WIDTH), rng.uniform(0, HEIGHT), rng.uniform(6, 22)
            inside = np.hypot(xx - cx, yy - cy) < r
            image[inside] = 0.5 * image[inside] + 0.5 * rng.uniform(0, 255, 3)
    elif texture == "stripes":
        period, tilt = rng.uniform(8, 24), rng.uniform(0, np.pi)
        wave = np.cos(2 * np.pi * (np.cos(tilt) * xx + np.sin(tilt) * yy) / period)
        image += (wave > 0)[..., None] * (rng.uniform(0, 255, 3) - image) * 0.4
    elif texture == "checker":
        cell = rng.uniform(8, 20)
        parity = ((xx // cell + yy // cell) % 2).astype(bool)
        image[parity] = 0.6 * image[parity] + 0.4 * rng.uniform(0, 255, 3)
    return image + rng.normal(0, 4, image.shape)


def _bounce(x: float, low: float, high: float) -> tuple[float, int]:
    """``x`` reflected into [low, high] (a walk that turns at both ends), and +1 while moving
    in the original direction, -1 after an odd number of turns."""
    span = high - low
    u = (x - low) % (2 * span)
    return (low + u, 1) if u < span else (low + 2 * span - u, -1)


def render_video(
    action: str, rng: np.random.Generator, num_frames: int, split: str = "train"
) -> np.ndarray:
    """Renders one synthetic clip.

    Args:
        action: One of `CLASSES`.
        rng: Source of all random choices (background, figure, speed, phase...).
        num_frames: Number of frames.
        split: The appearance domain (module docstring): ``"train"``, ``"validation"`` or
            ``"test"``.

    Returns:
        ``uint8`` array ``(num_frames, 72, 96, 3)``.
    """
    if action not in CLASSES:
        raise DataError(f"unknown synthetic action {action!r}; expected one of {CLASSES}")
    look = draw_appearance(rng, split)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    background = _background(rng, yy, xx, look["texture"])
    frequency, speed = _MOTION[action]
    jitter = rng.uniform(1 - _JITTER, 1 + _JITTER)
    frequency, speed = frequency * jitter, speed * jitter
    size = look["size"] * HEIGHT
    feet_y = rng.uniform(0.9, 0.98) * HEIGHT
    facing = int(rng.choice([-1, 1]))
    colour = _hue_colour(look["hue"], background.mean() <= 128, rng)
    radius = max(1.0, look["thickness"] * size)
    phase0 = rng.uniform(0, 2 * np.pi)
    # Walkers cross the frame and turn back at its edges (as KTH's actors do), so the figure is
    # in every frame: a clip never shows an empty background under a locomotion label.
    low, high = 0.3 * size, WIDTH - 0.3 * size
    start = look["position"] * WIDTH
    frames = np.empty((num_frames, HEIGHT, WIDTH, 3), np.uint8)
    for t in range(num_frames):
        x0, heading = _bounce(start + facing * speed * size * t, low, high)
        heading *= facing
        phase = phase0 + 2 * np.pi * frequency * t

        def to_px(p, x0=x0):
            return (x0 + p[0] * size, feet_y - p[1] * size)

        alpha = np.zeros((HEIGHT, WIDTH), np.float32)
        for p, q in _pose(action, phase, heading):
            alpha = np.maximum(alpha, _segment_alpha(xx, yy, to_px(p), to_px(q), radius))
        hx, hy = to_px((0.0, 0.91))
        head = np.clip(0.085 * size + 0.5 - np.hypot(xx - hx, yy - hy), 0.0, 1.0)
        alpha = np.maximum(alpha, head)[..., None]
        image = background * (1 - alpha) + colour * alpha + rng.normal(0, 2, background.shape)
        frames[t] = np.clip(image, 0, 255).astype(np.uint8)
    return frames
