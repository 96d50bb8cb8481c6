"""The probability panel drawn on annotated videos (`xwisenet_tf.prediction.annotate`).

A panel in the frame's top-left corner, one row per label of the top ``top_k`` (3 by default):
the label, its probability in percent and a bar as long as the probability (the panel's full
width is 100%; the top label's bar green, the others' blue), on a translucent dark background.
Text and bars scale with the frame height: a font of 3% of the height (32 px at 1080p, 14 px
at 480 lines), at least 7 px, the smallest that stays legible (up to 233 lines, KTH's 160x120
among them), so the panel keeps to the top third of the frame and, on KTH, to the left of the
actor (28% of the height and 38% of the width at 160x120); a smaller font (down to 6 px), then
cut labels, only when the labels do not fit the frame's width. Drawn with Pillow
(``ImageFont.load_default(size=...)``, Pillow's bitmap font where FreeType is missing).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

TOP_K = 3

# Panel layout, in pixels of the frame: font size, then everything in units of it.
_MIN_FONT = 7  # still legible; smaller only when the labels do not fit the width
_FONT_FRACTION = 0.03  # of the frame height
_BACKGROUND = (0, 0, 0, 150)
_BARS = ((46, 160, 67, 210), (52, 101, 164, 210))  # the top label, the others
_TEXT, _SHADOW = (255, 255, 255, 255), (0, 0, 0, 255)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ImportError, OSError):  # Pillow < 10.1 or no FreeType: the bitmap font
        return ImageFont.load_default()


def _text_width(font, text: str) -> int:
    left, _, right, _ = font.getbbox(text)
    return int(math.ceil(right - min(0, left)))


class Overlay:
    """The probability panel for frames of one size and a set of class names.

    The layout is fixed by the frame size and the longest class name, so the panel does not
    move or change size from frame to frame (`box`).

    Args:
        width: Frame width in pixels.
        height: Frame height in pixels.
        class_names: The model's classes, in the order of the probability vectors.
        top_k: Labels shown (the most probable first); at most the number of classes.
    """

    def __init__(self, width: int, height: int, class_names: Sequence[str], top_k: int = TOP_K):
        if width < 1 or height < 1:
            raise ValueError(f"frame size must be positive; received {width}x{height}")
        if top_k < 1 or not class_names:
            raise ValueError(f"need top_k >= 1 and class names; received {top_k}, {class_names}")
        self.class_names = [str(n) for n in class_names]
        self.top_k = min(top_k, len(self.class_names))
        self.width, self.height = width, height
        size = max(_MIN_FONT, round(height * _FONT_FRACTION))
        while True:  # the largest font (down to 6 px) whose panel fits the frame's width
            self._layout(size)
            if self._right <= width - self.margin or size <= 6:
                break
            size -= 1
        x1 = min(self._right, width)
        y1 = min(self.margin + self.top_k * self.row_height + (self.top_k - 1) * self.gap, height)
        self.box = (min(self.margin, x1 - 1), min(self.margin, y1 - 1), x1, y1)
        # Labels too long for the frame even at the smallest font are cut (with "...").
        room = self.box[2] - self.box[0] - 3 * self.pad - self.percent_width
        self._labels = [self._fit(n, room) for n in self.class_names]

    def _layout(self, size: int) -> None:
        self.font = _font(size)
        self.font_size = size
        self.pad = max(1, size // 4)
        self.margin = max(2, size // 3)
        self.gap = max(1, size // 8)
        self.shadow = max(1, size // 14)
        ascent, descent = (
            self.font.getmetrics() if hasattr(self.font, "getmetrics") else (size, size // 4)
        )
        self.row_height = ascent + descent + self.pad
        self.percent_width = _text_width(self.font, "100%")
        label_width = max(_text_width(self.font, n) for n in self.class_names)
        self._right = self.margin + 3 * self.pad + label_width + self.percent_width + self.shadow

    def _fit(self, label: str, room: int) -> str:
        if _text_width(self.font, label) <= room:
            return label
        while label and _text_width(self.font, label + "...") > room:
            label = label[:-1]
        return label + "..."

    def draw(self, frame: np.ndarray, probabilities: np.ndarray | Sequence[float] | None):
        """The frame with the panel drawn on it (a new array; only `box` changes).

        Args:
            frame: RGB ``uint8`` ``(height, width, 3)``.
            probabilities: One probability per class, or ``None`` (no prediction yet: the
                frame is returned unchanged).

        Returns:
            RGB ``uint8`` ``(height, width, 3)``.
        """
        frame = np.array(frame, dtype=np.uint8, copy=True)
        if frame.shape != (self.height, self.width, 3):
            raise ValueError(f"frame shape {frame.shape} is not ({self.height}, {self.width}, 3)")
        if probabilities is None:
            return frame
        p = np.asarray(probabilities, np.float64).reshape(-1)
        if p.size != len(self.class_names):
            raise ValueError(
                f"{p.size} probabilities for {len(self.class_names)} classes; expected one "
                "per class name"
            )
        x0, y0, x1, y1 = self.box
        panel = Image.new("RGBA", (x1 - x0, y1 - y0), (0, 0, 0, 0))
        draw = ImageDraw.Draw(panel)
        inner = x1 - x0
        for rank, index in enumerate(np.argsort(-p, kind="stable")[: self.top_k]):
            top = rank * (self.row_height + self.gap)
            bottom = top + self.row_height - 1
            draw.rectangle((0, top, inner - 1, bottom), fill=_BACKGROUND)
            value = float(np.clip(p[index], 0.0, 1.0))
            if round(value * inner) > 0:
                draw.rectangle((0, top, round(value * inner) - 1, bottom), fill=_BARS[min(rank, 1)])
            text_y = top + self.pad // 2
            percent = f"{100 * value:.0f}%"
            percent_x = inner - self.pad - self.shadow - _text_width(self.font, percent)
            for text, x in ((self._labels[index], self.pad), (percent, percent_x)):
                draw.text((x + self.shadow, text_y + self.shadow), text, _SHADOW, font=self.font)
                draw.text((x, text_y), text, _TEXT, font=self.font)
        region = Image.fromarray(frame[y0:y1, x0:x1]).convert("RGBA")
        frame[y0:y1, x0:x1] = np.asarray(Image.alpha_composite(region, panel).convert("RGB"))
        return frame
