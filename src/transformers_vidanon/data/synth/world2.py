"""World 2 of SynthPrivacy: other figures, other privacy cues, other backgrounds, a moving camera and other actions.

The figures are outlined cartoons with a square head under a hat, a boxy shirt, sleeved arms ending in hands, and
shoes. The cues sit elsewhere than in world 1: a visor band across the eyes (`face`), a skirt over the hips
(`gender`), bare legs (`nudity`) and a companion sitting on a stool behind the actor (`relationship`); `skin_color`
is the tone of the head, hands and bare legs. The background is a tiled wall over a planked floor, and the camera
pans, zooms and shakes: every part of the scene, the figures too, is drawn through it. The package docstring lists
the actions and the moving parts of each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .drawing import (
    REGION_NAMES,
    Canvas,
    SynthVideo,
    box_sdf,
    capsule_sdf,
    clothes_color,
    disc_sdf,
    hsv_to_rgb,
    limb,
    pixel_grid,
    scene_unit,
    skin_tone,
    trapezoid_sdf,
)

WORLD2_ACTIONS: tuple[str, ...] = ("kick", "clap", "bow", "run_left", "run_right", "turn")
"""Action class names of world 2, in label order."""

WALL_CONTRAST = 0.7
"""Scale of the wall's tile-to-tile shade jitter and mortar contrast (1.0: jitter up to 0.08, mortar 0.12)."""
CAMERA_PAN = (0.04, 0.14)
"""Range of the camera's pan speed, in pixels per frame (at 64x64; scaled with the size)."""
CAMERA_ZOOM = (0.03, 0.08)
"""Range of the camera's zoom over a whole video, a relative change of scale, in or out."""
CAMERA_SHAKE = (0.2, 0.5)
"""Range of the camera's shake amplitude per axis, in pixels (at 64x64)."""

# Part identifiers of the owner map.
_BACKGROUND = 0
_COMPANION = 1
_LEG_LEFT, _LEG_RIGHT = 2, 3  # image-left and image-right
_SHOE_LEFT, _SHOE_RIGHT = 4, 5
_SKIRT = 6
_TORSO = 7
_ARM_LEFT, _ARM_RIGHT = 8, 9
_HAND_LEFT, _HAND_RIGHT = 10, 11
_HEAD = 12
_VISOR = 13
_HAT = 14
_ACTOR_PARTS = tuple(range(2, 15))
_LEGS = (_LEG_LEFT, _LEG_RIGHT)
_ARMS_AND_HANDS = (_ARM_LEFT, _ARM_RIGHT, _HAND_LEFT, _HAND_RIGHT)

_MOVING_PARTS: dict[str, tuple[int, ...]] = {
    "run_left": _ACTOR_PARTS,
    "run_right": _ACTOR_PARTS,
    "clap": _ARMS_AND_HANDS,
    "bow": (_TORSO, *_ARMS_AND_HANDS, _HEAD, _VISOR, _HAT),
    "turn": (_TORSO, *_ARMS_AND_HANDS, _VISOR),
}
"""The actor's parts that move, per action (`kick`: the kicking leg and its shoe, chosen per video)."""

_LIGHT_SKIN = np.array([0.90, 0.74, 0.60])
_DARK_SKIN = np.array([0.36, 0.22, 0.14])
_HIGHLIGHT = np.array([0.95, 0.97, 1.0])


# ----------------------------------------------------------------------------------------------
# The camera and the background.
# ----------------------------------------------------------------------------------------------


@dataclass
class _Camera:
    """Screen = centre + scale * (world - centre - offset): a pan and a shake move the offset, a zoom the scale."""

    center: float
    pan: np.ndarray  # (2,) pixels per frame
    zoom: float  # relative change of scale over the video
    shake_amp: np.ndarray  # (2, 2): axis, component
    shake_freq: np.ndarray  # (2, 2) cycles per frame
    shake_phase: np.ndarray  # (2, 2)

    @classmethod
    def sample(cls, rng: np.random.Generator, size: int) -> _Camera:
        unit = scene_unit(size)
        angle = rng.uniform(0, 2 * np.pi)
        pan = rng.uniform(*CAMERA_PAN) * unit * np.array([math.cos(angle), math.sin(angle)])
        zoom = rng.uniform(*CAMERA_ZOOM) * rng.choice([-1.0, 1.0])
        amp = rng.uniform(*CAMERA_SHAKE, size=(2, 1)) * unit * np.array([[0.7, 0.3]])
        return cls(size / 2.0, pan, float(zoom), amp, rng.uniform(0.08, 0.3, size=(2, 2)),
                   rng.uniform(0, 2 * np.pi, size=(2, 2)))

    def view(self, xx: np.ndarray, yy: np.ndarray, t: int, num_frames: int):
        """World coordinates of the pixel centres at frame `t`, and the scale (screen pixels per world pixel)."""
        scale = 1.0 + self.zoom * t / max(num_frames - 1, 1)
        shake = (self.shake_amp * np.sin(2 * np.pi * self.shake_freq * t + self.shake_phase)).sum(axis=1)
        offset = self.pan * t + shake
        c = self.center
        return (xx - c) / scale + c + offset[0], (yy - c) / scale + c + offset[1], scale


def _tile_hash(row: np.ndarray, col: np.ndarray, salt: int) -> np.ndarray:
    """A value in [-1, 1] per integer tile position (a fixed integer hash, the same on every platform)."""
    h = (row.astype(np.int64) * 73856093) ^ (col.astype(np.int64) * 19349663) ^ salt
    h = (h ^ (h >> 13)) * 1274126177
    return ((h >> 8) & 0xFFFF).astype(np.float64) / 32767.5 - 1.0


@dataclass
class _TileBackground:
    """A wall of tiles (bricks or a grid) with mortar lines, over a floor of planks below the horizon."""

    wall: np.ndarray
    mortar: np.ndarray
    floor: np.ndarray
    seam: np.ndarray
    tile: tuple[float, float]  # width, height in world pixels
    stagger: float  # 0.5: bricks, 0: a grid
    jitter: float
    salt: int
    horizon: float  # world y of the wall's foot
    plank: float  # floor line spacing

    @classmethod
    def sample(cls, rng: np.random.Generator, size: int, ground: float) -> _TileBackground:
        unit = scene_unit(size)
        hue = rng.random()
        wall = hsv_to_rgb(hue, rng.uniform(0.1, 0.4), rng.uniform(0.4, 0.72))
        mortar = np.clip(wall + rng.choice([-1.0, 1.0]) * 0.12 * WALL_CONTRAST, 0.0, 1.0)
        floor = hsv_to_rgb((hue + rng.uniform(0.25, 0.75)) % 1.0, rng.uniform(0.15, 0.45), rng.uniform(0.28, 0.55))
        seam = floor * (1.0 - 0.25 * WALL_CONTRAST)
        tile = (rng.uniform(7.0, 14.0) * unit, rng.uniform(4.0, 8.0) * unit)
        return cls(wall, mortar, floor, seam, tile, float(rng.choice([0.0, 0.5])),
                   rng.uniform(0.04, 0.08) * WALL_CONTRAST, int(rng.integers(1 << 30)),
                   ground - rng.uniform(12.0, 20.0) * unit, rng.uniform(3.0, 6.0) * unit)

    def render(self, xw: np.ndarray, yw: np.ndarray, scale: float) -> np.ndarray:
        tw, th = self.tile
        row = np.floor(yw / th)
        u = xw / tw + self.stagger * (row % 2)
        col = np.floor(u)
        fx, fy = (u - col) * tw, (yw / th - row) * th
        edge = np.minimum(np.minimum(fx, tw - fx), np.minimum(fy, th - fy)) * scale  # screen pixels
        shade = 1.0 + self.jitter * _tile_hash(row, col, self.salt) / max(float(self.wall.max()), 1e-6)
        wall = np.clip(self.wall[None, None, :] * shade[..., None], 0.0, 1.0)
        mortar = np.clip(1.0 - edge, 0.0, 1.0)[..., None]  # lines about 1 screen pixel wide
        wall += mortar * (self.mortar - wall)
        line = np.abs((yw - self.horizon) / self.plank - np.round((yw - self.horizon) / self.plank)) * self.plank
        floor = self.floor + np.clip(1.0 - line * scale, 0.0, 1.0)[..., None] * (self.seam - self.floor)
        on_floor = np.clip(0.5 + (yw - self.horizon) * scale, 0.0, 1.0)[..., None]
        return wall + on_floor * (floor - wall)


# ----------------------------------------------------------------------------------------------
# Figures.
# ----------------------------------------------------------------------------------------------


_BODY_UNITS = {"head_w": 4.3, "head_h": 4.6, "neck": 0.8, "torso_len": 11.5, "torso_w": 4.8, "shoulder_dx": 4.0,
               "upper_arm": 5.6, "forearm": 5.0, "arm_r": 1.45, "hand_r": 1.9, "hip_dx": 2.4, "thigh": 8.0,
               "shin": 8.0, "leg_r": 1.8, "shoe_w": 2.3, "shoe_h": 1.3, "shoe_drop": 1.0}
"""Body dimensions in units (half sizes for the head, torso and shoes)."""


class _Body:
    """Body dimensions in world pixels: each of `_BODY_UNITS` times `unit`, and the outline width."""

    def __init__(self, unit: float) -> None:
        self.unit = unit
        for name, units in _BODY_UNITS.items():
            setattr(self, name, units * unit)
        self.outline = max(0.8 * unit, 0.7)


@dataclass
class _Pose:
    """Joint angles (radians from straight down, positive towards +x; limb 0 image-left, 1 image-right)."""

    x: float
    lift: float
    arm: tuple[tuple[float, float], tuple[float, float]]
    leg: tuple[tuple[float, float], tuple[float, float]]
    width: float = 1.0  # horizontal squeeze of the torso, shoulders and arms (turning)
    torso_scale: float = 1.0  # vertical foreshortening of the torso (bowing)
    visor_shift: float = 0.0  # sideways shift of the visor, in [-1, 1] (turning the head)
    thigh_scale: float = 1.0  # foreshortened thighs (sitting)


_REST_ARMS = ((math.radians(-10), math.radians(-6)), (math.radians(10), math.radians(6)))
_REST_LEGS = ((math.radians(-4), math.radians(-2)), (math.radians(4), math.radians(2)))


@dataclass
class _Motion:
    """Per-video random parameters of the actor's action."""

    action: str
    x_center: float
    distance: float
    cycles: float
    phase: float
    amplitude: float
    side: float  # -1 or +1: which leg kicks

    @classmethod
    def sample(cls, action: str, rng: np.random.Generator, size: int, body: _Body) -> _Motion:
        side = float(rng.choice([-1.0, 1.0]))
        distance = rng.uniform(0.42, 0.55) * size if action in ("run_left", "run_right") else 0.0
        # room for the open arms, and on its side for the kicking leg
        low = high = (10.0 if distance else 13.0) * body.unit
        if action == "kick":
            low, high = (13.0 * body.unit, 19.0 * body.unit) if side > 0 else (19.0 * body.unit, 13.0 * body.unit)
        x_center = rng.uniform(low + distance / 2.0, size - high - distance / 2.0)
        cycles = {"kick": (1.5, 3.0), "clap": (2.5, 4.0), "bow": (1.2, 2.2), "run_left": (2.5, 4.0),
                  "run_right": (2.5, 4.0), "turn": (1.0, 2.0)}[action]
        amplitude = {"kick": (55.0, 75.0), "clap": (1.0, 1.0), "bow": (0.75, 1.0), "run_left": (30.0, 40.0),
                     "run_right": (30.0, 40.0), "turn": (45.0, 65.0)}[action]
        return cls(action, x_center, distance, rng.uniform(*cycles), rng.uniform(0, 2 * np.pi),
                   rng.uniform(*amplitude), side)

    def pose(self, progress: float, body: _Body) -> _Pose:
        angle = 2 * np.pi * self.cycles * progress + self.phase
        rad = math.radians
        if self.action in ("run_left", "run_right"):
            direction = -1.0 if self.action == "run_left" else 1.0
            swing = rad(self.amplitude) * math.sin(angle)
            legs = ((swing, 0.3 * swing), (-swing, -0.3 * swing))
            # elbows bent outwards, the arms swinging against the legs
            arms = ((rad(-28) - 0.6 * swing, rad(25) - 0.9 * swing), (rad(28) - 0.6 * swing, rad(-25) - 0.9 * swing))
            return _Pose(x=self.x_center + direction * self.distance * (progress - 0.5),
                         lift=1.5 * body.unit * abs(math.cos(angle)), arm=arms, leg=legs)
        if self.action == "kick":
            up = max(0.0, math.sin(angle))
            thigh = self.side * (rad(4) + rad(self.amplitude) * up)
            kicking = (thigh, thigh + self.side * rad(10) * up)
            legs = (_REST_LEGS[0], kicking) if self.side > 0 else (kicking, _REST_LEGS[1])
            arms = ((rad(-30), rad(-24)), (rad(30), rad(24)))
            return _Pose(x=self.x_center, lift=0.0, arm=arms, leg=legs)
        if self.action == "clap":
            spread = (1.0 + math.cos(angle)) / 2.0
            upper, fore = rad(20) + rad(35) * spread, rad(-100) + rad(140) * spread
            return _Pose(x=self.x_center, lift=0.0, arm=((-upper, -fore), (upper, fore)), leg=_REST_LEGS)
        if self.action == "bow":
            depth = self.amplitude * (1.0 - math.cos(angle)) / 2.0
            return _Pose(x=self.x_center, lift=0.0, arm=_REST_ARMS, leg=_REST_LEGS, torso_scale=1.0 - 0.5 * depth)
        if self.action == "turn":
            twist = rad(self.amplitude) * math.sin(angle)
            arms = ((rad(-16), rad(-10)), (rad(16), rad(10)))
            return _Pose(x=self.x_center, lift=0.0, arm=arms, leg=_REST_LEGS, width=math.cos(twist),
                         visor_shift=math.sin(twist))
        raise ValueError(f"Unknown world-2 action {self.action!r}; expected one of {WORLD2_ACTIONS}.")

    def moving_parts(self) -> tuple[int, ...]:
        """The actor's parts that move in this video (the `action` region)."""
        if self.action == "kick":
            return (_LEG_RIGHT, _SHOE_RIGHT) if self.side > 0 else (_LEG_LEFT, _SHOE_LEFT)
        return _MOVING_PARTS[self.action]


@dataclass
class _Look:
    """Appearance of one figure."""

    skin: np.ndarray
    shirt: np.ndarray
    trousers: np.ndarray
    skirt: np.ndarray
    visor: np.ndarray
    shoes: np.ndarray
    hat: np.ndarray
    outline: np.ndarray
    face: bool
    wears_skirt: bool
    bare_legs: bool

    @classmethod
    def sample(cls, rng: np.random.Generator, skin: np.ndarray, face: bool, skirt: bool, bare_legs: bool) -> _Look:
        return cls(skin=skin, shirt=clothes_color(rng, (0.4, 0.9)), trousers=clothes_color(rng, (0.2, 0.6)),
                   skirt=clothes_color(rng, (0.45, 0.95)), visor=clothes_color(rng, (0.75, 0.95)),
                   shoes=np.full(3, rng.uniform(0.08, 0.3)), hat=clothes_color(rng, (0.2, 0.85)),
                   outline=np.full(3, rng.uniform(0.04, 0.14)), face=face, wears_skirt=skirt, bare_legs=bare_legs)


class _Painter:
    """Draws outlined shapes given in world pixels onto a canvas seen through the camera's scale."""

    def __init__(self, canvas: Canvas, scale: float, outline_width: float, outline: np.ndarray,
                 part_override: int | None) -> None:
        self.canvas, self.scale, self.width, self.outline = canvas, scale, outline_width, outline
        self.override = part_override

    def part(self, pid: int) -> int:
        return pid if self.override is None else self.override

    def outlined(self, sdf: np.ndarray, color: np.ndarray, pid: int) -> np.ndarray:
        """Paint the shape with a dark outline around it; returns its outer signed distance (outline included)."""
        outer = sdf - self.width
        self.canvas.paint(outer * self.scale, self.outline, self.part(pid))
        self.canvas.paint(sdf * self.scale, color, self.part(pid))
        return outer

    def plain(self, sdf: np.ndarray, color: np.ndarray, pid: int) -> None:
        self.canvas.paint(sdf * self.scale, color, self.part(pid))


def _draw_figure(painter: _Painter, xw: np.ndarray, yw: np.ndarray, body: _Body, pose: _Pose, look: _Look,
                 ground: float, stool: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Draw a figure standing (or, with a `stool` colour, sitting on a stool) on `ground`; returns the outer shapes
    of the visor band and the skirt (drawn or not) for the region masks."""
    u = body.unit
    thigh = body.thigh * pose.thigh_scale
    extent = max(thigh * math.cos(a) + body.shin * math.cos(b) for a, b in pose.leg)
    hip = np.array([pose.x, ground - pose.lift - extent - body.shoe_drop - body.shoe_h])
    if stool is not None:
        seat = hip[1] + 1.6 * u
        for sign in (-1.0, 1.0):
            painter.plain(capsule_sdf(xw, yw, np.array([pose.x + sign * 3.4 * u, seat]),
                                      np.array([pose.x + sign * 4.2 * u, ground]), 0.8 * u), stool, _COMPANION)
        painter.outlined(box_sdf(xw, yw, np.array([pose.x, seat]), np.array([5.4 * u, 1.1 * u]), 0.5 * u), stool,
                         _COMPANION)

    legs = look.skin if look.bare_legs else look.trousers
    for side in (0, 1):
        root = hip + np.array([(-1, 1)[side] * body.hip_dx, 0.0])
        knee, foot = limb(root, pose.leg[side], (thigh, body.shin), 1.0)
        sdf = np.minimum(capsule_sdf(xw, yw, root, knee, body.leg_r), capsule_sdf(xw, yw, knee, foot, body.leg_r))
        painter.outlined(sdf, legs, (_LEG_LEFT, _LEG_RIGHT)[side])
        shoe = foot + np.array([(-1, 1)[side] * 0.6 * u, body.shoe_drop])
        painter.outlined(box_sdf(xw, yw, shoe, np.array([body.shoe_w, body.shoe_h]), 0.9 * u), look.shoes,
                         (_SHOE_LEFT, _SHOE_RIGHT)[side])

    skirt = trapezoid_sdf(xw, yw, hip[1] - 1.5 * u, hip[1] + 7.5 * u, pose.x, 4.4 * u, 7.6 * u)
    skirt_outer = skirt - painter.width
    if look.wears_skirt:
        painter.outlined(skirt, look.skirt, _SKIRT)

    bottom, top = hip[1] + 1.0 * u, hip[1] - body.torso_len * pose.torso_scale
    half_width = max(body.torso_w * abs(pose.width), 1.2 * u)
    painter.outlined(box_sdf(xw, yw, np.array([pose.x, (top + bottom) / 2.0]),
                             np.array([half_width, (bottom - top) / 2.0]), min(1.8 * u, half_width)),
                     look.shirt, _TORSO)

    sleeve = look.shirt * 0.82
    for side in (0, 1):
        root = np.array([pose.x + (-1, 1)[side] * body.shoulder_dx * pose.width, top + 1.6 * u])
        elbow, wrist = limb(root, pose.arm[side], (body.upper_arm, body.forearm), pose.width)
        sdf = np.minimum(capsule_sdf(xw, yw, root, elbow, body.arm_r), capsule_sdf(xw, yw, elbow, wrist, body.arm_r))
        painter.outlined(sdf, sleeve, (_ARM_LEFT, _ARM_RIGHT)[side])
        painter.outlined(disc_sdf(xw, yw, wrist, body.hand_r), look.skin, (_HAND_LEFT, _HAND_RIGHT)[side])

    head = np.array([pose.x, top - body.neck - body.head_h])
    head_sdf = box_sdf(xw, yw, head, np.array([body.head_w, body.head_h]), 2.3 * u)
    painter.outlined(head_sdf, look.skin, _HEAD)
    band_center = head + np.array([0.45 * body.head_w * pose.visor_shift, -0.6 * u])
    band = np.maximum(box_sdf(xw, yw, band_center, np.array([3.9 * u, 1.6 * u]), 1.0 * u), head_sdf)
    if look.face:
        painter.plain(band, look.visor, _VISOR)
        painter.plain(np.maximum(capsule_sdf(xw, yw, band_center + np.array([-2.6 * u, -0.7 * u]),
                                             band_center + np.array([2.6 * u, -0.7 * u]), 0.35 * u), band),
                      _HIGHLIGHT, _VISOR)
        painter.plain(np.maximum(capsule_sdf(xw, yw, band_center - np.array([0.0, 1.6 * u]),
                                             band_center + np.array([0.0, 1.6 * u]), 0.3 * u), band),
                      look.outline, _VISOR)
    head_top = head[1] - body.head_h
    hat = np.minimum(box_sdf(xw, yw, np.array([pose.x, head_top - 1.2 * u]), np.array([3.4 * u, 1.7 * u]), 1.0 * u),
                     box_sdf(xw, yw, np.array([pose.x, head_top + 0.3 * u]), np.array([5.6 * u, 0.75 * u]), 0.5 * u))
    painter.outlined(hat, look.hat, _HAT)
    return {"band": band, "skirt": skirt_outer}


def render_world2_video(
    action: str, attributes: dict[str, int], rng: np.random.Generator, *, num_frames: int, image_size: int,
    still_camera: bool = False,
) -> SynthVideo:
    """Render one world-2 video (arguments checked by `render.render_synth_video`).

    `still_camera` draws the same video through a camera that does not move (the camera's nuisances are drawn all
    the same, so that everything else is unchanged): for looking at the figures' own motion.
    """
    size = image_size
    unit = scene_unit(size)
    body = _Body(unit * rng.uniform(1.0, 1.12))
    motion = _Motion.sample(action, rng, size, body)
    ground = size - rng.uniform(5.0, 7.0) * unit
    skin = skin_tone(rng, bool(attributes["skin_color"]), (_LIGHT_SKIN, _DARK_SKIN), 0.05)
    look = _Look.sample(rng, skin, bool(attributes["face"]), bool(attributes["gender"]), bool(attributes["nudity"]))
    background = _TileBackground.sample(rng, size, ground)
    camera = _Camera.sample(rng, size)
    # the companion sits on a stool behind the actor, on the side away from the actor's mean position
    companion_body = _Body(unit * rng.uniform(0.78, 0.9))
    companion_side = -1.0 if motion.x_center > size / 2 else 1.0
    companion_x = size / 2 + companion_side * rng.uniform(0.24, 0.36) * size
    companion_ground = ground - rng.uniform(3.0, 9.0) * unit
    companion_look = _Look.sample(rng, skin, face=False, skirt=False, bare_legs=False)
    stool = hsv_to_rgb(rng.random(), rng.uniform(0.1, 0.3), rng.uniform(0.3, 0.5))
    companion_phase = rng.uniform(0, 2 * np.pi)
    has_companion = bool(attributes["relationship"])

    xx, yy = pixel_grid(size)
    moving = motion.moving_parts()
    skin_parts = (_HEAD, _HAND_LEFT, _HAND_RIGHT) + (_LEGS if look.bare_legs else ())
    behind_skirt = (_BACKGROUND, _COMPANION, *_LEGS, _SHOE_LEFT, _SHOE_RIGHT, _SKIRT)
    frames = np.empty((num_frames, size, size, 3), dtype=np.uint8)
    regions = {name: np.zeros((num_frames, size, size), dtype=bool) for name in REGION_NAMES}
    for t in range(num_frames):
        xw, yw, scale = (xx, yy, 1.0) if still_camera else camera.view(xx, yy, t, num_frames)
        canvas = Canvas(background.render(xw, yw, scale))
        if has_companion:
            rest = math.radians(24.0 + 4.0 * math.sin(2 * np.pi * t / num_frames + companion_phase))
            seated = _Pose(x=companion_x, lift=0.0, thigh_scale=0.5,
                           arm=((-rest, math.radians(40)), (rest, math.radians(-40))),
                           leg=((math.radians(-78), math.radians(-4)), (math.radians(78), math.radians(4))))
            painter = _Painter(canvas, scale, companion_body.outline, companion_look.outline, _COMPANION)
            _draw_figure(painter, xw, yw, companion_body, seated, companion_look, companion_ground, stool)
        painter = _Painter(canvas, scale, body.outline, look.outline, None)
        shapes = _draw_figure(painter, xw, yw, body, motion.pose(t / max(num_frames - 1, 1), body), look, ground)
        owner = canvas.owner
        frames[t] = np.round(np.clip(canvas.image, 0.0, 1.0) * 255.0).astype(np.uint8)
        regions["actor"][t] = np.isin(owner, _ACTOR_PARTS)
        regions["skin_color"][t] = np.isin(owner, skin_parts)
        regions["face"][t] = (shapes["band"] <= 0.0) & np.isin(owner, (_HEAD, _VISOR))
        regions["gender"][t] = (shapes["skirt"] <= 0.0) & np.isin(owner, behind_skirt)
        regions["nudity"][t] = np.isin(owner, _LEGS)
        regions["relationship"][t] = owner == _COMPANION
        regions["action"][t] = np.isin(owner, moving)
    return SynthVideo(frames=frames, regions=regions)
