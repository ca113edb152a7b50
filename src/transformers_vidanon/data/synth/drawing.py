"""What every SynthPrivacy world draws with: signed distances in pixels, anti-aliased coverage, the canvas with its
map of which part is on top, colours, two-segment limbs, and the checks of a video's size and attributes."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..labels import PRIVACY_ATTRIBUTES

REGION_NAMES: tuple[str, ...] = ("actor",) + PRIVACY_ATTRIBUTES + ("action",)
"""Keys of every `regions/<video_id>.npz` file (files of generator version 1 lack `action`)."""


def privacy_dict(privacy: Mapping[str, int] | Sequence[int]) -> dict[str, int]:
    """The five attribute values keyed by name, from a mapping or a sequence in `PRIVACY_ATTRIBUTES` order."""
    if isinstance(privacy, Mapping):
        missing = [name for name in PRIVACY_ATTRIBUTES if name not in privacy]
        if missing:
            raise ValueError(f"`privacy` is missing the attributes {missing}; expected {PRIVACY_ATTRIBUTES}.")
        values = [privacy[name] for name in PRIVACY_ATTRIBUTES]
    else:
        values = list(privacy)
        if len(values) != len(PRIVACY_ATTRIBUTES):
            raise ValueError(f"`privacy` must hold {len(PRIVACY_ATTRIBUTES)} values, got {len(values)}.")
    if any(int(v) not in (0, 1) for v in values):
        raise ValueError(f"`privacy` values must be 0 or 1, got {values}.")
    return {name: int(v) for name, v in zip(PRIVACY_ATTRIBUTES, values)}


def check_size(num_frames: int, image_size: int) -> None:
    """Refuse a video size the generator cannot render and encode."""
    if int(num_frames) < 1:
        raise ValueError(f"`num_frames` must be >= 1, got {num_frames}.")
    if int(image_size) < 32 or int(image_size) % 2:
        raise ValueError(f"`image_size` must be an even number >= 32 (H.264 yuv420p), got {image_size}.")


@dataclass
class SynthVideo:
    """One rendered SynthPrivacy video.

    Attributes:
        frames (`np.ndarray` of shape `(T, H, W, 3)`, uint8): the RGB frames.
        regions (`dict[str, np.ndarray]`): boolean masks of shape `(T, H, W)`, one per name of
            `REGION_NAMES` (see the package docstring for what each marks).
    """

    frames: np.ndarray
    regions: dict[str, np.ndarray] = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------
# Signed distances (pixels, < 0 inside), coverage and compositing.
# ----------------------------------------------------------------------------------------------


def coverage(sdf: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] of a shape from its signed distance (pixels, < 0 inside)."""
    return np.clip(0.5 - sdf, 0.0, 1.0)


def disc_sdf(xx: np.ndarray, yy: np.ndarray, center: np.ndarray, radius: float) -> np.ndarray:
    return np.hypot(xx - center[0], yy - center[1]) - radius


def capsule_sdf(xx: np.ndarray, yy: np.ndarray, p0: np.ndarray, p1: np.ndarray, radius: float) -> np.ndarray:
    """Signed distance to a segment `p0`-`p1` thickened by `radius`."""
    d = p1 - p0
    denom = float(d @ d)
    px, py = xx - p0[0], yy - p0[1]
    if denom < 1e-9:
        return np.hypot(px, py) - radius
    h = np.clip((px * d[0] + py * d[1]) / denom, 0.0, 1.0)
    return np.hypot(px - h * d[0], py - h * d[1]) - radius


def box_sdf(
    xx: np.ndarray, yy: np.ndarray, center: np.ndarray, half_size: np.ndarray, rounding: float
) -> np.ndarray:
    """Signed distance to an axis-aligned box with rounded corners."""
    qx = np.abs(xx - center[0]) - (half_size[0] - rounding)
    qy = np.abs(yy - center[1]) - (half_size[1] - rounding)
    outside = np.hypot(np.maximum(qx, 0.0), np.maximum(qy, 0.0))
    inside = np.minimum(np.maximum(qx, qy), 0.0)
    return outside + inside - rounding


def trapezoid_sdf(
    xx: np.ndarray, yy: np.ndarray, top: float, bottom: float, x: float, half_top: float, half_bottom: float
) -> np.ndarray:
    """Signed distance (exact inside, a close bound outside) to a trapezoid symmetric about `x`, with horizontal
    edges at heights `top` < `bottom` and half-widths `half_top` and `half_bottom` there."""
    height = max(bottom - top, 1e-6)
    slope = (half_bottom - half_top) / height
    half = half_top + slope * np.clip(yy - top, 0.0, height)
    side = (np.abs(xx - x) - half) / math.hypot(1.0, slope)
    vertical = np.maximum(top - yy, yy - bottom)
    return np.maximum(side, vertical)


def limb(root: np.ndarray, angles: tuple[float, float], lengths: tuple[float, float], squeeze: float):
    """Joint and end of a two-segment limb from `root`: angles in radians from straight down, positive towards +x,
    horizontal extents scaled by `squeeze`."""
    a1, a2 = angles
    p1 = root + lengths[0] * np.array([math.sin(a1) * squeeze, math.cos(a1)])
    p2 = p1 + lengths[1] * np.array([math.sin(a2) * squeeze, math.cos(a2)])
    return p1, p2


class Canvas:
    """One frame being drawn: an RGB float image and the map of which part is on top."""

    def __init__(self, background: np.ndarray) -> None:
        self.image = background.copy()  # (H, W, 3) float in [0, 1]
        self.owner = np.zeros(background.shape[:2], dtype=np.int8)

    def paint(self, sdf: np.ndarray, color: np.ndarray, part: int) -> np.ndarray:
        alpha = coverage(sdf)
        self.image += alpha[..., None] * (color - self.image)
        self.owner[alpha >= 0.5] = part
        return alpha


# ----------------------------------------------------------------------------------------------
# Colours.
# ----------------------------------------------------------------------------------------------


def hsv_to_rgb(h: float, s: float, v: float) -> np.ndarray:
    i = int(h * 6.0) % 6
    f = h * 6.0 - int(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    return np.array([(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i])


def clothes_color(rng: np.random.Generator, value_range: tuple[float, float]) -> np.ndarray:
    """A saturated colour whose hue stays away from skin hues (orange-brown, 10-50 degrees)."""
    hue = (50.0 + rng.uniform(0.0, 320.0)) % 360.0 / 360.0
    return hsv_to_rgb(hue, rng.uniform(0.55, 0.9), rng.uniform(*value_range))


def skin_tone(
    rng: np.random.Generator, dark: bool, tones: tuple[np.ndarray, np.ndarray], jitter: float
) -> np.ndarray:
    """A figure's skin colour: the world's light or `dark` tone (`tones` = (light, dark); the `skin_color`
    attribute), shifted by one draw of up to `jitter`, clipped to [0, 1]."""
    return np.clip(tones[int(dark)] + rng.uniform(-jitter, jitter), 0.0, 1.0)


def scene_unit(size: int) -> float:
    """Pixels per length unit in a `size x size` frame: the worlds give their lengths and speeds at 64 x 64."""
    return size / 64.0


def pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates `(xx, yy)` of a `size x size` frame."""
    coords = np.arange(size, dtype=np.float64) + 0.5
    return np.meshgrid(coords, coords)
