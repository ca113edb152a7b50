"""SynthPrivacy's world 2: its files and class names, its cues and regions, its motions and camera, and the `world`
setting through the readers, the training data, the command line and the benchmark."""

from __future__ import annotations

import json

import numpy as np
import pytest

from transformers_vidanon.data.labels import PRIVACY_ATTRIBUTES
from transformers_vidanon.data.synth import (
    REGION_NAMES,
    SYNTH_ACTIONS,
    SYNTH_WORLDS,
    action_region,
    check_synth_world,
    generate_synth_privacy,
    load_synth_clips,
    read_synth_manifest,
    read_synth_regions,
    render_synth_video,
    sample_synth_labels,
    synth_action_names,
    synth_world,
    world_actions,
)
from transformers_vidanon.data.synth.world2 import render_world2_video
from transformers_vidanon.video import read_clip

WORLD2 = ("kick", "clap", "bow", "run_left", "run_right", "turn")
NUM_FRAMES = 12
SIZE = 48


@pytest.fixture(scope="module")
def world2_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth_w2")
    generate_synth_privacy(root, 18, seed=5, num_frames=NUM_FRAMES, image_size=SIZE, world=2, progress=False)
    return root


def _render(action, privacy, seed, num_frames=32, size=64, still=False):
    """A world-2 video; `still` draws it through a camera that does not move."""
    attributes = dict(zip(PRIVACY_ATTRIBUTES, privacy)) if not isinstance(privacy, dict) else privacy
    if still:
        return render_world2_video(action, attributes, np.random.default_rng(seed), num_frames=num_frames,
                                   image_size=size, still_camera=True)
    return render_synth_video(action, attributes, seed, num_frames=num_frames, image_size=size, world=2)


def test_world_2_files_and_class_names(world2_dir):
    assert world_actions(2) == WORLD2 and world_actions(1) == SYNTH_ACTIONS and SYNTH_WORLDS == (1, 2)
    settings = json.loads((world2_dir / "synth_config.json").read_text())
    assert settings["world"] == 2 and settings["actions"] == list(WORLD2)
    assert synth_world(world2_dir) == 2 and synth_action_names(world2_dir) == WORLD2
    rows = read_synth_manifest(world2_dir)
    assert [row["video_id"] for row in rows] == [f"synth_w2_{i:05d}" for i in range(18)]
    assert sorted(row["label"] for row in rows) == sorted(list(range(6)) * 3)
    for row in rows:
        assert WORLD2[row["label"]] == row["action"]
        assert row["path"] == f"videos/{row['action']}/{row['video_id']}.mp4"
        assert read_clip(world2_dir / row["path"], [0]).shape == (1, SIZE, SIZE, 3)
        regions = read_synth_regions(world2_dir, row["video_id"])
        assert set(regions) == set(REGION_NAMES)
        assert regions["actor"].any(axis=(1, 2)).all() and regions["action"].any()
        assert regions["relationship"].any() == bool(row["relationship"])
        for name in ("skin_color", "face", "nudity", "action"):
            assert not (regions[name] & ~regions["actor"]).any(), name
    # the same seed gives the world's own labels: the classes are balanced over world 2's six actions
    labels, _, _ = sample_synth_labels(18, 5, world=2)
    assert [row["label"] for row in rows] == labels.tolist()


def test_readers_take_the_class_names_of_the_dataset(world2_dir):
    from transformers_vidanon.data import load_manifest
    from transformers_vidanon.evaluation.protocol import synth_protocol_data

    clips = load_synth_clips(world2_dir, "train", num_frames=4, progress=False)
    assert clips.action_names == WORLD2 and clips.subset([0]).action_names == WORLD2
    splits = load_manifest(world2_dir / "manifest.jsonl")
    assert splits["train"].features["label"].names == list(WORLD2)
    data = synth_protocol_data(world2_dir / "manifest.jsonl", num_frames=4, test_clips_per_video=1, progress=False)
    assert data.num_labels == 6
    test_rows = read_synth_manifest(world2_dir, "test")
    assert data.test_labels.tolist() == [row["label"] for row in test_rows]


def test_training_data_of_a_world(world2_dir, tmp_path):
    from transformers_vidanon.data.builders import build_training_data, ensure_synth
    from transformers_vidanon.training.arguments import DataArguments

    assert DataArguments().synth_world == 1
    data = build_training_data(DataArguments(dataset="synth", data_dir=str(world2_dir), synth_world=2), 32, 4)
    assert data.class_names == list(WORLD2)
    # a folder of another world is refused, not silently reused
    with pytest.raises(ValueError, match="world"):
        build_training_data(DataArguments(dataset="synth", data_dir=str(world2_dir), synth_world=1), 32, 4)
    with pytest.raises(ValueError, match="world"):
        ensure_synth(str(world2_dir), 18, 5, SIZE, 4, world=1)
    assert ensure_synth(str(world2_dir), 18, 5, SIZE, 4, world=None) == world2_dir / "manifest.jsonl"
    # a missing set is generated in the world asked for
    fresh = ensure_synth(str(tmp_path / "new"), 6, 0, 32, 2, world=2)
    assert synth_world(fresh) == 2 and read_synth_manifest(fresh)[0]["num_frames"] == 32
    with pytest.raises(ValueError, match="world"):
        ensure_synth(str(tmp_path / "other"), 6, 0, 32, 2, world=7)
    assert not (tmp_path / "other" / "manifest.jsonl").exists()


def test_unknown_worlds_are_refused(tmp_path):
    for world in (0, 3, "2", True, 1.5):
        with pytest.raises(ValueError, match="world"):
            generate_synth_privacy(tmp_path / "x", 2, 0, num_frames=2, image_size=32, world=world, progress=False)
    assert not (tmp_path / "x").exists()
    with pytest.raises(ValueError, match="world"):
        render_synth_video("kick", [0] * 5, 0, world=3)
    with pytest.raises(ValueError, match="action"):
        render_synth_video("wave", [0] * 5, 0, world=2)  # a world-1 action
    with pytest.raises(ValueError, match="world"):
        world_actions(9)
    with pytest.raises(ValueError, match="world"):
        check_synth_world(tmp_path, 4)


def test_old_benchmarks_are_world_1(tmp_path):
    """A benchmark whose settings predate worlds (no `world` key), or that has no settings file, is world 1."""
    root = tmp_path / "old"
    generate_synth_privacy(root, 2, 0, num_frames=2, image_size=32, progress=False)
    settings = json.loads((root / "synth_config.json").read_text())
    del settings["world"]
    (root / "synth_config.json").write_text(json.dumps(settings))
    assert synth_world(root) == 1
    check_synth_world(root / "manifest.jsonl", 1)
    with pytest.raises(ValueError, match="world 1"):
        check_synth_world(root, 2)
    (root / "synth_config.json").unlink()
    assert synth_world(root) == 1 and synth_action_names(root) == SYNTH_ACTIONS


def _grown(region: np.ndarray) -> np.ndarray:
    grown = region.copy()
    grown[:, 1:] |= region[:, :-1]
    grown[:, :-1] |= region[:, 1:]
    grown[:, :, 1:] |= region[:, :, :-1]
    grown[:, :, :-1] |= region[:, :, 1:]
    return grown


@pytest.mark.parametrize("attribute", PRIVACY_ATTRIBUTES)
def test_regions_cover_the_drawn_cue(attribute):
    """Switching one attribute changes pixels only inside its region (and its one-pixel edge), and changes them a
    lot there."""
    for seed, action in enumerate(WORLD2):
        base = dict.fromkeys(PRIVACY_ATTRIBUTES, 0)
        if attribute == "skin_color":
            base["relationship"] = 1  # the companion shares the actor's skin tone
        off = _render(action, {**base, attribute: 0}, seed, num_frames=6)
        on = _render(action, {**base, attribute: 1}, seed, num_frames=6)
        region = on.regions[attribute] | off.regions[attribute]
        if attribute == "skin_color":
            region |= on.regions["relationship"]
        change = np.abs(on.frames.astype(int) - off.frames.astype(int)).sum(axis=-1)
        assert change.sum() > 0, (attribute, action)
        assert change[_grown(region)].sum() / change.sum() > 0.9, (attribute, action)
        mask = on.regions[attribute]
        assert mask.any()
        per_pixel = np.abs(on.frames[mask].astype(float) - off.frames[mask].astype(float)).mean()
        assert per_pixel > 20.0, (attribute, action, per_pixel)


def test_the_cues_sit_elsewhere_than_in_world_1():
    """The face cue is a band across the head's upper half, the gender cue a skirt below the torso, the nudity cue
    the legs, and the companion sits lower than a standing actor's head."""
    video = _render("clap", [1, 1, 1, 1, 1], 3)
    regions = video.regions
    ys = np.mgrid[:64, :64][0]

    def mean_y(mask):
        return float((ys[None] * mask).sum() / mask.sum())

    assert mean_y(regions["face"]) < mean_y(regions["gender"]) < mean_y(regions["nudity"])
    face_rows = [np.ptp(np.flatnonzero(f.any(axis=1))) + 1 for f in regions["face"]]
    face_cols = [np.ptp(np.flatnonzero(f.any(axis=0))) + 1 for f in regions["face"]]
    assert np.mean(face_cols) > 2 * np.mean(face_rows)  # a band, wider than tall
    assert not (regions["skin_color"] & regions["face"]).any()  # the visor hides the skin under it
    actor_top = min(np.flatnonzero(f.any(axis=1))[0] for f in regions["actor"])
    companion_top = min(np.flatnonzero(f.any(axis=1))[0] for f in regions["relationship"])
    assert companion_top > actor_top + 4


def _centroids(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.mgrid[: mask.shape[1], : mask.shape[2]]
    area = mask.sum(axis=(1, 2))
    return np.stack([(mask * xs).sum(axis=(1, 2)) / area, (mask * ys).sum(axis=(1, 2)) / area], axis=1)


def _extent(mask: np.ndarray, axis: int) -> np.ndarray:
    """Per frame, the first and last row (axis 1) or column (axis 0) the mask covers."""
    return np.array([[np.flatnonzero(f.any(axis=axis))[0], np.flatnonzero(f.any(axis=axis))[-1]] for f in mask])


@pytest.mark.parametrize("seed", [0, 1])
def test_each_action_moves_as_named(seed):
    privacy = dict.fromkeys(PRIVACY_ATTRIBUTES, 0)
    size = 64
    # through the moving camera, the runs cross the frame in the named direction
    for action, sign in (("run_left", -1), ("run_right", 1)):
        actor = _render(action, privacy, seed).regions["actor"]
        x = _centroids(actor)[:, 0]
        assert sign * (x[-1] - x[0]) > 0.25 * size, action
        assert (sign * np.diff(x[::8]) > 0).all(), action
    still = {a: _render(a, privacy, seed, still=True).regions for a in WORLD2}
    for action in ("kick", "clap", "bow", "turn"):
        assert np.ptp(_centroids(still[action]["actor"])[:, 0]) < 0.1 * size, action  # in place
    rows = {a: _extent(r["actor"], axis=1) for a, r in still.items()}
    # bowing lowers the head by several pixels and brings it back, the feet stay; the others keep the head up
    assert np.ptp(rows["bow"][:, 0]) >= 4 and np.ptp(rows["bow"][:, 1]) <= 1
    for action in ("kick", "clap", "turn"):
        assert np.ptp(rows[action][:, 0]) <= 1, action
    # kicking: one leg swings out sideways, below the hips, on one side
    kick = still["kick"]
    leg = kick["action"]
    assert np.ptp(_extent(leg, axis=0), axis=0).max() > 6
    assert abs(_centroids(leg)[:, 0].mean() - _centroids(kick["actor"])[:, 0].mean()) > 2
    assert _centroids(leg)[:, 1].mean() > _centroids(kick["actor"])[:, 1].mean() + 5
    # clapping: the hands come together in front of the body and part again
    spans = np.diff(_extent(still["clap"]["action"], axis=0), axis=1)[:, 0]
    assert np.ptp(spans) > 8
    # turning: the shoulders narrow and widen again
    turn_spans = np.diff(_extent(still["turn"]["action"], axis=0), axis=1)[:, 0]
    assert np.ptp(turn_spans) > 3


@pytest.mark.parametrize("seed", [0, 1])
def test_action_region_is_the_moving_parts(seed):
    privacy = {**dict.fromkeys(PRIVACY_ATTRIBUTES, 1), "face": 1}
    for action in WORLD2:
        video = _render(action, privacy, seed, still=True)
        regions = video.regions
        act, actor = regions["action"], regions["actor"]
        assert not (act & ~actor).any() and not (act & regions["relationship"]).any()
        static = actor & ~act
        ever_static = static.any(axis=0)
        for t in range(len(act)):
            assert not (ever_static & ~(static[t] | act[t])).any(), (action, t)
        assert (act ^ act[:1]).sum(axis=(1, 2)).max() > 12, action
        assert np.array_equal(action_region(regions), act)
        if action in ("run_left", "run_right"):
            assert np.array_equal(act, actor)
        if action == "kick":  # one leg: on the legs, never on the skirt or the head
            assert (act & regions["nudity"]).any() and not (act & (regions["gender"] | regions["face"])).any()
        if action in ("clap", "turn", "bow"):
            assert not (act & regions["nudity"]).any(), action  # the legs stay
        if action in ("turn", "bow"):
            assert (act & regions["face"]).any(), action  # the visor moves with the head or slides over it


def test_the_camera_moves_the_whole_scene():
    """Through the camera, even a still part (the legs while clapping) moves on screen; without it, it does not."""
    privacy = dict.fromkeys(PRIVACY_ATTRIBUTES, 0)
    moving = _render("clap", privacy, 4)
    still = _render("clap", privacy, 4, still=True)
    legs_moving = _centroids(moving.regions["nudity"])
    legs_still = _centroids(still.regions["nudity"])
    assert np.ptp(legs_still, axis=0).max() < 0.2
    assert np.ptp(legs_moving, axis=0).max() > 1.0
    # and the background changes from frame to frame where nothing is drawn
    empty = ~(moving.regions["actor"] | moving.regions["relationship"]).any(axis=0)
    assert np.abs(moving.frames[-1].astype(int) - moving.frames[0].astype(int))[empty].mean() > 2


def test_synth_command_world(tmp_path):
    from transformers_vidanon.cli import main
    from transformers_vidanon.commands import synth as command

    assert command.SYNTH_WORLDS == SYNTH_WORLDS  # written out so that --help imports no torch
    out = tmp_path / "cli"
    assert main(["synth", "--output", str(out), "--num-videos", "6", "--num-frames", "4", "--image-size", "32",
                 "--world", "2", "--num-workers", "2", "--no-progress"]) == 0
    assert json.loads((out / "synth_config.json").read_text())["world"] == 2
    assert {row["action"] for row in read_synth_manifest(out)} == set(WORLD2)
    assert main(["synth", "--output", str(tmp_path / "bad"), "--num-videos", "2", "--world", "3",
                 "--no-progress"]) == 2
    assert not (tmp_path / "bad" / "manifest.jsonl").exists()


def test_benchmark_world_setting(tmp_path):
    import argparse

    from transformers_vidanon.commands import benchmark as command
    from transformers_vidanon.training.arguments import build_arguments
    from transformers_vidanon.workflows.benchmark import (
        BenchmarkConfig,
        _recipe_overrides,
        packaged_config,
        run_benchmark,
    )

    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    assert parser.parse_args(["--world", "2"]).world == 2 and parser.parse_args([]).world is None
    config = BenchmarkConfig(output_dir=str(tmp_path / "bench"), world=2, progress=False)
    assert BenchmarkConfig().world == 1
    # the anonymizer's training run reads the benchmark's world (and refuses data of another)
    overrides = _recipe_overrides(config, tmp_path / "bench" / "data", "synthetic")
    assert build_arguments(packaged_config("synthetic"), overrides)[1].synth_world == 2
    assert build_arguments(packaged_config("synthetic"))[1].synth_world == 1
    # data of another world left in the output folder is refused before anything is trained
    generate_synth_privacy(tmp_path / "bench" / "data", 2, 0, num_frames=2, image_size=32, progress=False)
    with pytest.raises(ValueError, match="world"):
        run_benchmark(config)
    assert not (tmp_path / "bench" / "vidanon-synthetic").exists()
