"""Rendering one SynthPrivacy video: the actor, the companion and the background, with their region masks.

This module draws world 1 and dispatches to the other worlds ([`world2`]); see the package docstring for what
each privacy attribute looks like in each world and why the scenes are built this way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .drawing import (
    REGION_NAMES,
    Canvas,
    SynthVideo,
    box_sdf,
    capsule_sdf,
    check_size,
    clothes_color,
    disc_sdf,
    hsv_to_rgb,
    limb,
    pixel_grid,
    privacy_dict,
    scene_unit,
    skin_tone,
)
from .world2 import WORLD2_ACTIONS, render_world2_video

SYNTH_ACTIONS: tuple[str, ...] = ("walk_left", "walk_right", "jump", "wave", "squat", "spin")
"""Action class names of world 1 (the default world); a video's `label` is the index of its action in the
class names of its world (`world_actions`)."""

SYNTH_WORLDS: tuple[int, ...] = (1, 2)
"""The worlds the generator draws: 1 (the default) and 2 (other figures, cues, backgrounds, camera and actions)."""

_WORLD_ACTIONS: dict[int, tuple[str, ...]] = {1: SYNTH_ACTIONS, 2: WORLD2_ACTIONS}


def check_world(world: int) -> int:
    """The world as an int; a ValueError naming `world` for one the generator does not draw."""
    if isinstance(world, bool) or not isinstance(world, (int, np.integer)) or int(world) not in SYNTH_WORLDS:
        raise ValueError(f"`world` must be one of {SYNTH_WORLDS}, got {world!r}.")
    return int(world)


def world_actions(world: int = 1) -> tuple[str, ...]:
    """The action class names of a world, in label order."""
    return _WORLD_ACTIONS[check_world(world)]


DEFAULT_NUM_FRAMES = 32
DEFAULT_IMAGE_SIZE = 64
LARGE_IMAGE_SIZE = 112


BACKGROUND_CONTRAST = 0.6
"""Scale of the background texture's amplitude (1.0: gratings of amplitude 0.03-0.08 each)."""
BACKGROUND_SPEED = (0.1, 0.5)
"""Range of the background's pan speed, in pixels per frame (at 64x64; scaled with the size)."""

# Part identifiers of the "owner" map: which part is on top at each pixel.
_BACKGROUND = 0
_COMPANION = 1
_HAIR_LONG = 2
_LEG = 3
_TORSO = 4
_ARM = 5
_HEAD = 6
_EYE = 7
_MOUTH = 8
_HAIR_CAP = 9
_ARM_RIGHT = 10  # the image-right arm (`_ARM` is the image-left one)
_ACTOR_PARTS = (_HAIR_LONG, _LEG, _TORSO, _ARM, _ARM_RIGHT, _HEAD, _EYE, _MOUTH, _HAIR_CAP)

_LIGHT_SKIN = np.array([0.93, 0.78, 0.66])
_DARK_SKIN = np.array([0.40, 0.26, 0.17])
_HAIR_COLORS = np.array(
    [[0.08, 0.06, 0.05], [0.28, 0.17, 0.08], [0.55, 0.40, 0.18], [0.45, 0.12, 0.06], [0.72, 0.70, 0.66]]
)
_EYE_WHITE = np.array([0.98, 0.98, 0.98])
_PUPIL = np.array([0.02, 0.02, 0.04])
_MOUTH_COLOR = np.array([0.62, 0.05, 0.10])


# ----------------------------------------------------------------------------------------------
# Background: a periodic texture (sum of gratings with integer frequencies) panned over time.
# ----------------------------------------------------------------------------------------------


@dataclass
class _Background:
    base: np.ndarray  # (3,)
    chroma: np.ndarray  # (3,) colour direction of the second texture
    freqs: np.ndarray  # (K, 2) integer cycles per frame width / height
    amps: np.ndarray  # (K,)
    phases: np.ndarray  # (K,)
    chroma_channel: np.ndarray  # (K,) bool: component modulates `chroma` instead of luminance
    velocity: np.ndarray  # (2,) pixels per frame

    @classmethod
    def sample(cls, rng: np.random.Generator, size: int) -> _Background:
        hue = rng.random()
        sat = rng.uniform(0.15, 0.45)
        val = rng.uniform(0.35, 0.70)
        base = hsv_to_rgb(hue, sat, val)
        num = 10
        freqs = rng.integers(-6, 7, size=(num, 2))
        freqs[np.all(freqs == 0, axis=1)] = (1, 0)
        norm = np.hypot(freqs[:, 0], freqs[:, 1])
        amps = BACKGROUND_CONTRAST * rng.uniform(0.03, 0.08, size=num) / (1.0 + norm / 5.0)
        phases = rng.uniform(0, 2 * np.pi, size=num)
        chroma = rng.normal(size=3)
        chroma /= np.linalg.norm(chroma) + 1e-9
        speed = rng.uniform(*BACKGROUND_SPEED)
        angle = rng.uniform(0, 2 * np.pi)
        velocity = speed * size / 64.0 * np.array([math.cos(angle), math.sin(angle)])
        return cls(base, chroma, freqs, amps, phases, rng.random(num) < 0.4, velocity)

    def render(self, xx: np.ndarray, yy: np.ndarray, frame: int, size: int) -> np.ndarray:
        x = xx - self.velocity[0] * frame
        y = yy - self.velocity[1] * frame
        lum = np.zeros_like(xx)
        chroma = np.zeros_like(xx)
        for (fx, fy), amp, phase, is_chroma in zip(self.freqs, self.amps, self.phases, self.chroma_channel):
            wave = amp * np.cos(2 * np.pi * (fx * x + fy * y) / size + phase)
            if is_chroma:
                chroma += wave
            else:
                lum += wave
        image = self.base + lum[..., None] + chroma[..., None] * self.chroma
        return np.clip(image, 0.0, 1.0)


# ----------------------------------------------------------------------------------------------
# Figures: a pose (joint positions) from an action and a time, then drawing.
# ----------------------------------------------------------------------------------------------


@dataclass
class _Body:
    """Body dimensions in pixels for one figure."""

    unit: float

    @property
    def head_r(self) -> float:
        return 5.2 * self.unit

    @property
    def neck_to_head(self) -> float:
        return 5.6 * self.unit

    @property
    def torso_len(self) -> float:
        return 12.0 * self.unit

    @property
    def torso_r(self) -> float:
        return 4.2 * self.unit

    @property
    def shoulder_dx(self) -> float:
        return 3.6 * self.unit

    @property
    def upper_arm(self) -> float:
        return 6.5 * self.unit

    @property
    def forearm(self) -> float:
        return 6.0 * self.unit

    @property
    def arm_r(self) -> float:
        return 2.0 * self.unit

    @property
    def hip_dx(self) -> float:
        return 2.1 * self.unit

    @property
    def thigh(self) -> float:
        return 7.5 * self.unit

    @property
    def shin(self) -> float:
        return 7.5 * self.unit

    @property
    def leg_r(self) -> float:
        return 2.3 * self.unit


@dataclass
class _Pose:
    """Joint angles (radians from straight down, positive towards +x) and the body position.

    Limbs are indexed 0 = image-left, 1 = image-right.
    """

    x: float  # hip centre x
    lift: float  # height of the feet above the ground (jumps), pixels
    arm: tuple[tuple[float, float], tuple[float, float]]  # (upper, fore) per side
    leg: tuple[tuple[float, float], tuple[float, float]]  # (thigh, shin) per side
    width: float = 1.0  # horizontal squeeze of shoulders and arms (spin), may be negative
    torso_width: float = 1.0


def _leg_extent(body: _Body, angles: tuple[float, float]) -> float:
    return body.thigh * math.cos(angles[0]) + body.shin * math.cos(angles[1])


@dataclass
class _Motion:
    """Per-video random parameters of the actor's action."""

    action: str
    x_center: float
    distance: float  # walking distance over the whole video, pixels
    cycles: float  # repetitions over the whole video
    phase: float
    amplitude: float  # radians (walk swing), pixels (jump height) or fraction (squat depth)
    side: float  # -1 or +1: which arm waves

    @classmethod
    def sample(cls, action: str, rng: np.random.Generator, size: int, body: _Body) -> _Motion:
        margin = 9.0 * body.unit
        distance = 0.0
        if action in ("walk_left", "walk_right"):
            distance = rng.uniform(0.4, 0.55) * size
        half = distance / 2.0
        x_center = rng.uniform(margin + half, size - margin - half)
        cycles = {
            "walk_left": rng.uniform(2.0, 3.5),
            "walk_right": rng.uniform(2.0, 3.5),
            "jump": rng.uniform(1.5, 3.0),
            "wave": rng.uniform(2.0, 4.0),
            "squat": rng.uniform(1.5, 2.5),
            "spin": rng.uniform(1.0, 2.0),
        }[action]
        amplitude = {
            "walk_left": math.radians(rng.uniform(22.0, 32.0)),
            "walk_right": math.radians(rng.uniform(22.0, 32.0)),
            "jump": rng.uniform(6.0, 9.0) * body.unit,
            "wave": math.radians(rng.uniform(28.0, 40.0)),
            "squat": rng.uniform(0.35, 0.55),
            "spin": 1.0,
        }[action]
        return cls(
            action=action,
            x_center=x_center,
            distance=distance,
            cycles=cycles,
            phase=rng.uniform(0, 2 * np.pi),
            amplitude=amplitude,
            side=float(rng.choice([-1.0, 1.0])),
        )

    def pose(self, progress: float) -> _Pose:
        """The pose at `progress` in [0, 1] through the video."""
        angle = 2 * np.pi * self.cycles * progress + self.phase
        rest_arms = ((math.radians(-12), math.radians(-8)), (math.radians(12), math.radians(8)))
        rest_legs = ((math.radians(-6), math.radians(-4)), (math.radians(6), math.radians(4)))
        if self.action in ("walk_left", "walk_right"):
            direction = -1.0 if self.action == "walk_left" else 1.0
            x = self.x_center + direction * self.distance * (progress - 0.5)
            swing = self.amplitude * math.sin(angle)
            legs = ((swing, 0.6 * swing), (-swing, -0.6 * swing))
            arms = ((-0.7 * swing, -0.9 * swing), (0.7 * swing, 0.9 * swing))
            return _Pose(x=x, lift=0.0, arm=arms, leg=legs)
        if self.action == "jump":
            height = max(0.0, math.sin(angle))
            tuck = math.radians(8.0 + 28.0 * height)
            raise_ = math.radians(25.0 + 120.0 * height)
            return _Pose(
                x=self.x_center,
                lift=self.amplitude * height,
                arm=((-raise_, -raise_ - 0.2), (raise_, raise_ + 0.2)),
                leg=((-tuck, tuck), (tuck, -tuck)),
            )
        if self.action == "wave":
            # the raised arm sweeps from the shoulder, the forearm a little further
            swing = self.amplitude * math.sin(angle)
            upper = self.side * math.radians(145.0) + swing
            waving = (upper, upper + self.side * math.radians(15.0) + 0.8 * swing)
            other = rest_arms[0] if self.side > 0 else rest_arms[1]
            arms = (other, waving) if self.side > 0 else (waving, other)
            return _Pose(x=self.x_center, lift=0.0, arm=arms, leg=rest_legs)
        if self.action == "squat":
            depth = self.amplitude * (1.0 - math.cos(angle)) / 2.0
            bend = math.acos(1.0 - depth)
            spread = math.radians(15.0) + 3.0 * depth
            return _Pose(
                x=self.x_center,
                lift=0.0,
                arm=((-spread, -spread), (spread, spread)),
                leg=((-bend, bend), (bend, -bend)),
            )
        if self.action == "spin":
            turn = math.cos(angle)
            out = math.radians(88.0)
            return _Pose(
                x=self.x_center,
                lift=0.0,
                arm=((-out, -out), (out, out)),
                leg=rest_legs,
                width=turn,
                torso_width=0.55 + 0.45 * abs(turn),
            )
        raise ValueError(f"Unknown SynthPrivacy action {self.action!r}; expected one of {SYNTH_ACTIONS}.")

    def moving_parts(self) -> tuple[int, ...]:
        """The actor's parts that move in this video (the `action` region; the package docstring's table)."""
        if self.action == "wave":
            return (_ARM_RIGHT,) if self.side > 0 else (_ARM,)
        if self.action == "spin":
            return (_ARM, _ARM_RIGHT, _TORSO)
        return _ACTOR_PARTS  # walking, jumping and squatting move the whole figure


@dataclass
class _Look:
    """Appearance of one figure."""

    skin: np.ndarray
    hair: np.ndarray
    shirt: np.ndarray
    trousers: np.ndarray
    face: bool
    long_hair: bool
    bare_torso: bool


def _draw_figure(
    canvas: Canvas,
    xx: np.ndarray,
    yy: np.ndarray,
    body: _Body,
    pose: _Pose,
    look: _Look,
    ground: float,
    part_offset: int | None = None,
) -> dict[str, np.ndarray]:
    """Draw a figure; returns the full (unoccluded) shapes needed for the region masks.

    `part_offset` None draws the actor with its own part ids; otherwise every part is recorded as
    `part_offset` (the companion).
    """

    def part(pid: int) -> int:
        return pid if part_offset is None else part_offset

    leg_extent = max(_leg_extent(body, pose.leg[0]), _leg_extent(body, pose.leg[1]))
    hip = np.array([pose.x, ground - pose.lift - leg_extent])
    neck = hip - np.array([0.0, body.torso_len])
    head = neck - np.array([0.0, body.neck_to_head])
    r = body.head_r

    # Long hair behind the head, down to the shoulders; its shape is kept for the gender region.
    hair_box = box_sdf(
        xx, yy, head + np.array([0.0, 0.5 * r + 1.5 * body.unit]),
        np.array([r + 1.3 * body.unit, 1.5 * r + 1.5 * body.unit]), 2.5 * body.unit,
    )
    if look.long_hair:
        canvas.paint(hair_box, look.hair, part(_HAIR_LONG))

    for side in (0, 1):
        root = hip + np.array([(-1, 1)[side] * body.hip_dx, 0.0])
        knee, foot = limb(root, pose.leg[side], (body.thigh, body.shin), 1.0)
        canvas.paint(
            np.minimum(capsule_sdf(xx, yy, root, knee, body.leg_r), capsule_sdf(xx, yy, knee, foot, body.leg_r)),
            look.trousers, part(_LEG),
        )

    torso_sdf = capsule_sdf(xx, yy, hip, neck + np.array([0.0, 1.0 * body.unit]), body.torso_r * pose.torso_width)
    canvas.paint(torso_sdf, look.skin if look.bare_torso else look.shirt, part(_TORSO))

    for side in (0, 1):
        sign = (-1, 1)[side]
        root = neck + np.array([sign * body.shoulder_dx * pose.width, 1.5 * body.unit])
        elbow, hand = limb(root, pose.arm[side], (body.upper_arm, body.forearm), pose.width)
        canvas.paint(
            np.minimum(capsule_sdf(xx, yy, root, elbow, body.arm_r), capsule_sdf(xx, yy, elbow, hand, body.arm_r)),
            look.skin, part((_ARM, _ARM_RIGHT)[side]),
        )

    canvas.paint(disc_sdf(xx, yy, head, r), look.skin, part(_HEAD))
    face_sdf = disc_sdf(xx, yy, head + np.array([0.0, 0.25 * r]), 0.8 * r)
    if look.face:
        for sign in (-1.0, 1.0):
            eye = head + np.array([sign * 0.42 * r, 0.05 * r])
            canvas.paint(disc_sdf(xx, yy, eye, 0.30 * r), _EYE_WHITE, part(_EYE))
            canvas.paint(disc_sdf(xx, yy, eye, 0.15 * r), _PUPIL, part(_EYE))
        mouth_y = head[1] + 0.52 * r
        canvas.paint(
            capsule_sdf(xx, yy, np.array([head[0] - 0.35 * r, mouth_y]), np.array([head[0] + 0.35 * r, mouth_y]),
                         0.13 * r),
            _MOUTH_COLOR, part(_MOUTH),
        )
    cap_sdf = np.maximum(disc_sdf(xx, yy, head, r + 0.8 * body.unit), yy - (head[1] - 0.35 * r))
    canvas.paint(cap_sdf, look.hair, part(_HAIR_CAP))
    return {"hair_box": hair_box, "face": face_sdf}


def render_synth_video(
    action: str,
    privacy: Mapping[str, int] | Sequence[int],
    rng: np.random.Generator | int,
    *,
    num_frames: int = DEFAULT_NUM_FRAMES,
    image_size: int = DEFAULT_IMAGE_SIZE,
    world: int = 1,
) -> SynthVideo:
    """Render one SynthPrivacy video in memory.

    Args:
        action (`str`): one of the world's actions (`world_actions(world)`; `SYNTH_ACTIONS` for world 1).
        privacy (`Mapping[str, int]` or a sequence of 5 ints): the attribute values (0/1), by name or
            in the order of `PRIVACY_ATTRIBUTES`.
        rng (`np.random.Generator` or `int`): the source of every nuisance (or a seed for one).
        num_frames (`int`, *optional*, defaults to 32): number of frames T.
        image_size (`int`, *optional*, defaults to 64): frame height and width (even, >= 32).
        world (`int`, *optional*, defaults to 1): which world draws the video (`SYNTH_WORLDS`).

    Returns:
        `SynthVideo`: uint8 frames `(T, H, W, 3)` and boolean region masks `(T, H, W)`, one per `REGION_NAMES`.

    Raises:
        ValueError: an unknown world or action, bad attribute values, or a size the generator cannot draw.
    """
    actions = world_actions(world)
    if action not in actions:
        raise ValueError(f"Unknown SynthPrivacy action {action!r} in world {world}; expected one of {actions}.")
    attributes = privacy_dict(privacy)
    check_size(num_frames, image_size)
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    if int(world) == 2:
        return render_world2_video(action, attributes, rng, num_frames=int(num_frames), image_size=int(image_size))
    return _render_world1(action, attributes, rng, int(num_frames), int(image_size))


def _render_world1(
    action: str, attributes: dict[str, int], rng: np.random.Generator, num_frames: int, size: int
) -> SynthVideo:
    """World 1: the actor over a panned grating texture (the package docstring describes it)."""
    unit = scene_unit(size)
    actor_body = _Body(unit * rng.uniform(1.05, 1.2))
    motion = _Motion.sample(action, rng, size, actor_body)
    ground = size - rng.uniform(2.0, 4.0) * unit
    actor_look = _Look(
        skin=skin_tone(rng, bool(attributes["skin_color"]), (_LIGHT_SKIN, _DARK_SKIN), 0.04),
        hair=_HAIR_COLORS[rng.integers(len(_HAIR_COLORS))],
        shirt=clothes_color(rng, (0.45, 0.95)),
        trousers=clothes_color(rng, (0.15, 0.5)),
        face=bool(attributes["face"]),
        long_hair=bool(attributes["gender"]),
        bare_torso=bool(attributes["nudity"]),
    )
    background = _Background.sample(rng, size)
    # The companion stands on the side of the frame away from the actor's mean position.
    companion_body = _Body(unit * rng.uniform(0.8, 0.95))
    companion_side = -1.0 if motion.x_center > size / 2 else 1.0
    companion_x = size / 2 + companion_side * rng.uniform(0.22, 0.36) * size
    companion_ground = ground - rng.uniform(0.0, 4.0) * unit
    companion_look = _Look(
        skin=actor_look.skin,
        hair=_HAIR_COLORS[rng.integers(len(_HAIR_COLORS))],
        shirt=clothes_color(rng, (0.45, 0.95)),
        trousers=clothes_color(rng, (0.15, 0.5)),
        face=False,
        long_hair=False,
        bare_torso=False,
    )
    companion_phase = rng.uniform(0, 2 * np.pi)
    has_companion = bool(attributes["relationship"])

    xx, yy = pixel_grid(size)
    moving = motion.moving_parts()
    frames = np.empty((num_frames, size, size, 3), dtype=np.uint8)
    regions = {name: np.zeros((num_frames, size, size), dtype=bool) for name in REGION_NAMES}
    for t in range(num_frames):
        canvas = Canvas(background.render(xx, yy, t, size))
        if has_companion:
            sway = math.radians(10.0 + 4.0 * math.sin(2 * np.pi * t / num_frames + companion_phase))
            idle = _Pose(
                x=companion_x, lift=0.0,
                arm=((-sway, -sway), (sway, sway)),
                leg=((math.radians(-5), math.radians(-3)), (math.radians(5), math.radians(3))),
            )
            _draw_figure(canvas, xx, yy, companion_body, idle, companion_look, companion_ground, _COMPANION)
        shapes = _draw_figure(canvas, xx, yy, actor_body, motion.pose(t / max(num_frames - 1, 1)), actor_look, ground)
        owner = canvas.owner
        frames[t] = np.round(canvas.image * 255.0).astype(np.uint8)
        regions["actor"][t] = np.isin(owner, _ACTOR_PARTS)
        skin_parts = (_HEAD, _ARM, _ARM_RIGHT) + ((_TORSO,) if actor_look.bare_torso else ())
        regions["skin_color"][t] = np.isin(owner, skin_parts)
        regions["face"][t] = (shapes["face"] <= 0.0) & np.isin(owner, (_HEAD, _EYE, _MOUTH))
        behind = np.isin(owner, (_BACKGROUND, _COMPANION, _HAIR_LONG))
        regions["gender"][t] = ((shapes["hair_box"] <= 0.0) & behind) | (owner == _HAIR_CAP)
        regions["nudity"][t] = owner == _TORSO
        regions["relationship"][t] = owner == _COMPANION
        regions["action"][t] = np.isin(owner, moving)
    return SynthVideo(frames=frames, regions=regions)
