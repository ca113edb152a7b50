"""Tests of the SynthPrivacy generator: files, determinism, region masks, labels and motions (world 1; world 2 in
test_synth_world2.py, worker processes in test_synth_workers.py)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch

from transformers_vidanon.data.labels import PRIVACY_ATTRIBUTES
from transformers_vidanon.data.synth import (
    GENERATOR_VERSION,
    REGION_NAMES,
    SYNTH_ACTIONS,
    VP_UCF101_PREVALENCE,
    ClipSet,
    action_region,
    generate_synth_privacy,
    load_synth_clips,
    privacy_region,
    read_region_file,
    read_synth_manifest,
    read_synth_regions,
    render_synth_video,
    sample_synth_labels,
)
from transformers_vidanon.video import read_clip, write_video

NUM_FRAMES = 12
SIZE = 48


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    generate_synth_privacy(root, 24, seed=3, num_frames=NUM_FRAMES, image_size=SIZE, progress=False)
    return root


def _decode_all(root, rows):
    return [read_clip(root / row["path"], np.arange(row["num_frames"])) for row in rows]


def test_manifest_rows_and_files(synth_dir):
    rows = read_synth_manifest(synth_dir)
    assert [row["video_id"] for row in rows] == [f"synth_{i:05d}" for i in range(24)]
    # balanced actions: 24 videos, 6 classes -> 4 each
    assert sorted(row["label"] for row in rows) == sorted(list(range(6)) * 4)
    for row in rows:
        assert set(row) >= {"video_id", "path", "action", "label", "split", "regions", *PRIVACY_ATTRIBUTES}
        assert SYNTH_ACTIONS[row["label"]] == row["action"]
        assert row["path"] == f"videos/{row['action']}/{row['video_id']}.mp4"
        assert all(row[name] in (0, 1) for name in PRIVACY_ATTRIBUTES)
        assert row["split"] in ("train", "val", "test")
        frames = read_clip(synth_dir / row["path"], np.arange(NUM_FRAMES))
        assert frames.shape == (NUM_FRAMES, SIZE, SIZE, 3)
        regions = read_synth_regions(synth_dir, row["video_id"])
        assert set(regions) == set(REGION_NAMES)
        for name, mask in regions.items():
            assert mask.shape == (NUM_FRAMES, SIZE, SIZE) and mask.dtype == bool, name
        assert regions["actor"].any(axis=(1, 2)).all()  # the actor is in every frame
        assert regions["relationship"].any() == bool(row["relationship"])
        # privacy cues on the actor's body lie on the actor
        for name in ("skin_color", "face", "nudity"):
            assert not (regions[name] & ~regions["actor"]).any(), name
    settings = json.loads((synth_dir / "synth_config.json").read_text())
    assert settings["actions"] == list(SYNTH_ACTIONS) and settings["num_videos"] == 24
    assert settings["world"] == 1 and settings["generator_version"] == GENERATOR_VERSION == 2
    assert settings["region_names"] == list(REGION_NAMES) and REGION_NAMES[-1] == "action"
    assert train_names(synth_dir) == SYNTH_ACTIONS


def train_names(root):
    return load_synth_clips(root, "train", num_frames=2, progress=False).action_names


# What generator version 1 (before worlds and the action region) wrote, for two settings: the sha256 of the
# manifest bytes, of the decoded frames of every video in manifest order, of the rendered (not yet encoded) frames,
# and of the privacy and actor masks (packed bits, keys sorted).
VERSION_1_REFERENCE = {
    (12, 3, 12, 48): {
        "manifest": "95b884fd936c8db9b4886a59fec062b8fc9db2606e2f4046ced5444896cc49f9",
        "decoded": "4428a4d94c5b2ec0fde35b1548019ecf52130604e3f4fda542202ad6be69cdbb",
        "rendered": "9297ff0d8ea0c72ee68aa922da3491f13ae2d5dc30e1af34aa4ddb353d353836",
        "regions": "3752795f913dad40225957b297cef33de97929af326f6f1c80e1bbc08de1c139",
    },
    (6, 7, 32, 64): {
        "manifest": "48dccd6e60064d4be6119c9a2f5d88ce696fe1675874b2dd88ae87b499284bfe",
        "decoded": "720b6fa20ac8032bd03bc563bd6acf5d0f0fbd42c27f93e9a53e1ed9675bada5",
        "rendered": "e8ccb9d970cf959f8e3cae26e164b0e8c165df908d658b7f98bc30eb3d2db866",
        "regions": "567faab70ea42b5795cd5def23534ca9c44afe9ed1ff052687f40c24b8320b33",
    },
}


@pytest.mark.parametrize("settings", list(VERSION_1_REFERENCE))
def test_world_1_draws_what_version_1_drew(tmp_path, settings):
    num_videos, seed, num_frames, size = settings
    root = tmp_path / "w1"
    generate_synth_privacy(root, num_videos, seed, num_frames=num_frames, image_size=size, world=1, progress=False)
    rows = read_synth_manifest(root)
    decoded, rendered, masks = hashlib.sha256(), hashlib.sha256(), hashlib.sha256()
    labels, privacy, _ = sample_synth_labels(num_videos, seed)
    for index, row in enumerate(rows):
        decoded.update(np.ascontiguousarray(read_clip(root / row["path"], np.arange(num_frames))).tobytes())
        video = render_synth_video(SYNTH_ACTIONS[labels[index]], privacy[index].tolist(),
                                   np.random.default_rng([seed, index]), num_frames=num_frames, image_size=size)
        rendered.update(video.frames.tobytes())
        regions = read_region_file(root / row["regions"])
        assert set(regions) == set(REGION_NAMES)
        for key in sorted(name for name in regions if name != "action"):
            masks.update(key.encode())
            masks.update(np.packbits(regions[key]).tobytes())
    reference = VERSION_1_REFERENCE[settings]
    assert hashlib.sha256((root / "manifest.jsonl").read_bytes()).hexdigest() == reference["manifest"]
    assert rendered.hexdigest() == reference["rendered"]
    assert decoded.hexdigest() == reference["decoded"]
    assert masks.hexdigest() == reference["regions"]


def test_same_seed_same_bytes_and_frames(synth_dir, tmp_path):
    again = tmp_path / "again"
    generate_synth_privacy(again, 24, seed=3, num_frames=NUM_FRAMES, image_size=SIZE, progress=False)
    assert (again / "manifest.jsonl").read_bytes() == (synth_dir / "manifest.jsonl").read_bytes()
    rows = read_synth_manifest(synth_dir)
    for first, second in zip(_decode_all(synth_dir, rows), _decode_all(again, rows)):
        np.testing.assert_array_equal(first, second)
    other = tmp_path / "other"
    generate_synth_privacy(other, 24, seed=4, num_frames=NUM_FRAMES, image_size=SIZE, progress=False)
    assert (other / "manifest.jsonl").read_bytes() != (synth_dir / "manifest.jsonl").read_bytes()


def test_overwrite_rules(synth_dir, tmp_path):
    with pytest.raises(FileExistsError, match="manifest.jsonl"):
        generate_synth_privacy(synth_dir, 2, seed=0, num_frames=4, image_size=32, progress=False)
    target = tmp_path / "small"
    generate_synth_privacy(target, 6, seed=0, num_frames=4, image_size=32, progress=False)
    generate_synth_privacy(target, 2, seed=0, num_frames=4, image_size=32, progress=False, overwrite=True)
    assert len(read_synth_manifest(target)) == 2
    assert len(list(target.glob("videos/*/*.mp4"))) == 2  # no stale video of the first set
    assert len(list(target.glob("regions/*.npz"))) == 2


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_videos": 0}, "num_videos"),
        ({"image_size": 33}, "image_size"),
        ({"privacy_prevalence": [0.5, 0.5]}, "privacy_prevalence"),
        ({"privacy_prevalence": [0.5, 0.5, 0.5, 0.5, 1.5]}, "privacy_prevalence"),
        ({"split_fractions": (0.5, 0.2, 0.2)}, "split_fractions"),
        ({"num_frames": 0}, "num_frames"),
    ],
)
def test_bad_arguments_are_named(tmp_path, kwargs, match):
    arguments = {"num_videos": 2, "seed": 0, "num_frames": 4, "image_size": 32, "progress": False, **kwargs}
    with pytest.raises(ValueError, match=match):
        generate_synth_privacy(tmp_path / "x", **arguments)
    assert not (tmp_path / "x" / "manifest.jsonl").exists()


def test_attributes_are_independent_of_the_action():
    labels, privacy, splits = sample_synth_labels(6000, seed=11)
    assert np.bincount(labels).tolist() == [1000] * 6
    overall = privacy.mean(axis=0)
    np.testing.assert_allclose(overall, 0.5, atol=0.03)
    for action in range(6):
        rates = privacy[labels == action].mean(axis=0)
        # 1000 videos per class: one standard deviation of a rate is about 0.016
        np.testing.assert_allclose(rates, overall, atol=0.07)
    # the attributes are also independent of each other
    correlation = np.corrcoef(privacy.T)
    assert np.abs(correlation[~np.eye(5, dtype=bool)]).max() < 0.06
    # splits are stratified by action
    for action in range(6):
        members = [s for s, label in zip(splits, labels) if label == action]
        assert members.count("train") == 600 and members.count("val") == 200 and members.count("test") == 200


def test_imbalanced_prevalence():
    _, privacy, _ = sample_synth_labels(20000, seed=1, privacy_prevalence=VP_UCF101_PREVALENCE)
    np.testing.assert_allclose(privacy.mean(axis=0), VP_UCF101_PREVALENCE, atol=0.015)


@pytest.mark.parametrize("attribute", PRIVACY_ATTRIBUTES)
def test_regions_cover_the_drawn_cue(attribute):
    """Switching one attribute changes pixels only inside its region, and changes its mean colour."""
    for seed, action in enumerate(SYNTH_ACTIONS):
        base = dict.fromkeys(PRIVACY_ATTRIBUTES, 0)
        if attribute == "skin_color":
            base["relationship"] = 1  # the companion shares the actor's skin tone
        off = render_synth_video(action, {**base, attribute: 0}, seed, num_frames=6, image_size=64)
        on = render_synth_video(action, {**base, attribute: 1}, seed, num_frames=6, image_size=64)
        region = on.regions[attribute] | off.regions[attribute]
        if attribute == "skin_color":
            region |= on.regions["relationship"]
        # one pixel of anti-aliased edge around a region may change too
        grown = region.copy()
        grown[:, 1:] |= region[:, :-1]
        grown[:, :-1] |= region[:, 1:]
        grown[:, :, 1:] |= region[:, :, :-1]
        grown[:, :, :-1] |= region[:, :, 1:]
        change = np.abs(on.frames.astype(int) - off.frames.astype(int)).sum(axis=-1)
        assert change.sum() > 0, (attribute, action)
        # (anti-aliased edges of parts drawn over the cue let a little of it show outside the region)
        assert change[grown].sum() / change.sum() > 0.9, (attribute, action)
        mask = on.regions[attribute]
        assert mask.any()
        mean_on = on.frames[mask].astype(float).mean(axis=0)
        mean_off = off.frames[mask].astype(float).mean(axis=0)
        assert np.abs(mean_on - mean_off).max() > 20.0, (attribute, action, mean_on, mean_off)


def test_region_of_the_face_in_decoded_video(tmp_path):
    """After H.264 coding, the face region still tells a face from a plain head."""
    means = []
    for face in (0, 1):
        video = render_synth_video("squat", {**dict.fromkeys(PRIVACY_ATTRIBUTES, 0), "face": face}, 5, num_frames=8)
        path = tmp_path / f"face{face}.mp4"
        write_video(path, video.frames, fps=16, crf=18)
        decoded = read_clip(path, np.arange(8)).astype(float)
        means.append(decoded[video.regions["face"]].std(axis=0).mean())
    # eyes and mouth make the face area far less uniform than plain skin
    assert means[1] > means[0] + 15.0


def _centroids(mask: np.ndarray) -> np.ndarray:
    """(T, 2) x, y centroids of a (T, H, W) mask."""
    ys, xs = np.mgrid[: mask.shape[1], : mask.shape[2]]
    area = mask.sum(axis=(1, 2))
    return np.stack([(mask * xs).sum(axis=(1, 2)) / area, (mask * ys).sum(axis=(1, 2)) / area], axis=1)


@pytest.mark.parametrize("seed", [0, 1])
def test_each_action_moves_as_named(seed):
    privacy = dict.fromkeys(PRIVACY_ATTRIBUTES, 0)
    masks = {a: render_synth_video(a, privacy, seed, num_frames=32).regions["actor"] for a in SYNTH_ACTIONS}
    size = 64
    centroid = {a: _centroids(m) for a, m in masks.items()}
    tops = {a: np.array([np.flatnonzero(f.any(axis=1))[0] for f in m]) for a, m in masks.items()}
    widths = {a: np.array([np.ptp(np.flatnonzero(f.any(axis=0))) for f in m]) for a, m in masks.items()}
    # walking: the centroid travels a quarter of the frame or more, in the named direction, steadily
    assert centroid["walk_left"][-1, 0] - centroid["walk_left"][0, 0] < -0.25 * size
    assert centroid["walk_right"][-1, 0] - centroid["walk_right"][0, 0] > 0.25 * size
    assert (np.diff(centroid["walk_left"][::4, 0]) < 0).all()
    assert (np.diff(centroid["walk_right"][::4, 0]) > 0).all()
    for action in ("jump", "wave", "squat", "spin"):
        assert np.ptp(centroid[action][:, 0]) < 0.1 * size, action  # stays in place
    # jumping lifts the whole body (the lowest pixel leaves the ground); squatting does not
    bottoms = {a: np.array([np.flatnonzero(f.any(axis=1))[-1] for f in m]) for a, m in masks.items()}
    assert np.ptp(bottoms["jump"]) > 5
    assert np.ptp(bottoms["squat"]) <= 1
    # squatting lowers the head by several pixels and brings it back
    assert np.ptp(tops["squat"]) > 4
    # spinning: the arms' apparent span changes a lot; walking and squatting keep the body upright
    assert np.ptp(widths["spin"]) > 0.3 * size
    # waving: what moves is one raised arm, high on one side of the body
    occupancy = masks["wave"].mean(axis=0)
    moving, body = (occupancy > 0.05) & (occupancy < 0.95), occupancy > 0.5
    ys, xs = np.mgrid[:size, :size]
    assert abs(xs[moving].mean() - xs[body].mean()) > 6
    assert ys[moving].mean() - ys[body].mean() < -8


def _moving_part_invariants(video) -> None:
    """The action region lies on the actor, never on the companion; the actor's pixels outside it never move: what
    a static part shows at any frame it shows at every frame, unless a moving part is drawn over it there."""
    act, actor = video.regions["action"], video.regions["actor"]
    assert not (act & ~actor).any() and not (act & video.regions["relationship"]).any()
    static = actor & ~act
    ever_static = static.any(axis=0)
    for t in range(len(act)):
        assert not (ever_static & ~(static[t] | act[t])).any(), t
    # and the action region itself moves: well over a pixel's worth of its edge changes over the video
    assert (act ^ act[:1]).sum(axis=(1, 2)).max() > 12


@pytest.mark.parametrize("seed", [0, 1])
def test_action_region_is_the_moving_parts(seed):
    privacy = {**dict.fromkeys(PRIVACY_ATTRIBUTES, 0), "relationship": 1, "gender": 1}
    videos = {a: render_synth_video(a, privacy, seed, num_frames=32) for a in SYNTH_ACTIONS}
    for action, video in videos.items():
        _moving_part_invariants(video)
        assert video.regions["action"].any(axis=(1, 2)).all(), action
        assert np.array_equal(action_region(video.regions), video.regions["action"])
    for action in ("walk_left", "walk_right", "jump", "squat"):  # the whole figure moves
        assert np.array_equal(videos[action].regions["action"], videos[action].regions["actor"]), action
    # waving: one arm only, so a small part of the actor, and not the head (face) or the hair (gender)
    wave = videos["wave"].regions
    assert wave["action"].sum() < 0.25 * wave["actor"].sum()
    assert not (wave["action"] & (wave["face"] | wave["gender"])).any()
    # spinning: the arms and the narrowing torso; the head stays
    spin = videos["spin"].regions
    assert (spin["action"] & spin["nudity"]).any() and not (spin["action"] & spin["face"]).any()
    torso_widths = [np.ptp(np.flatnonzero(frame.any(axis=0))) for frame in spin["nudity"] & spin["action"]]
    assert np.ptp(torso_widths) >= 2


def test_region_files_without_the_action_key_still_read(tmp_path):
    """Region files of generator version 1 have no `action` mask: the privacy code reads them as before, and
    `action_region` says which key is missing."""
    video = render_synth_video("jump", [1, 1, 1, 1, 1], 0, num_frames=4, image_size=32)
    old = {name: mask for name, mask in video.regions.items() if name != "action"}
    path = tmp_path / "synth_00000.npz"
    np.savez_compressed(path, **old)
    regions = read_region_file(path)
    assert set(regions) == set(REGION_NAMES) - {"action"}
    np.testing.assert_array_equal(privacy_region(regions), privacy_region(video.regions))
    with pytest.raises(ValueError, match="'action'"):
        action_region(regions)


def test_render_rejects_bad_input():
    with pytest.raises(ValueError, match="action"):
        render_synth_video("dance", [0] * 5, 0)
    with pytest.raises(ValueError, match="action"):
        render_synth_video("kick", [0] * 5, 0)  # a world-2 action is not one of world 1's
    with pytest.raises(ValueError, match="privacy"):
        render_synth_video("jump", [0, 1], 0)
    with pytest.raises(ValueError, match="missing"):
        render_synth_video("jump", {"face": 1}, 0)


def test_load_synth_clips_matches_the_files(synth_dir):
    train = load_synth_clips(synth_dir, "train", num_frames=4, frame_stride=2, progress=False)
    rows = read_synth_manifest(synth_dir, "train")
    assert isinstance(train, ClipSet) and len(train) == len(rows)
    assert train.clips.shape == (len(rows), 4, 3, SIZE, SIZE) and train.clips.dtype == torch.uint8
    assert train.labels.tolist() == [row["label"] for row in rows]
    assert train.privacy_labels.tolist() == [[float(row[n]) for n in PRIVACY_ATTRIBUTES] for row in rows]
    assert train.video_ids == [row["video_id"] for row in rows]
    # one centred clip: 12 frames, span 7 -> starts at 2
    assert train.frame_indices[0, 0].tolist() == [2, 4, 6, 8]
    expected = read_clip(synth_dir / rows[0]["path"], [2, 4, 6, 8])
    np.testing.assert_array_equal(train.clips[0].permute(0, 2, 3, 1).numpy(), expected)

    multi = load_synth_clips(synth_dir, "test", num_frames=4, frame_stride=2, num_clips=3, progress=False)
    assert multi.clips.shape[1:] == (3, 4, 3, SIZE, SIZE) and multi.num_clips == 3
    assert multi.frame_indices[0, :, 0].tolist() == [0, 2, 5]  # first clip at 0, last ends on frame 11
    assert multi.multi_clip().shape == multi.clips.shape
    assert train.multi_clip().shape == (len(rows), 1, 4, 3, SIZE, SIZE)
    sub = multi.subset([1])
    assert sub.video_ids == multi.video_ids[1:2] and torch.equal(sub.clips[0], multi.clips[1])

    everything = load_synth_clips(synth_dir, None, num_frames=4, progress=False)
    assert len(everything) == 24


def test_reading_errors_name_the_file(synth_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match="manifest"):
        read_synth_manifest(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="split"):
        load_synth_clips(synth_dir, "training", progress=False)
    with pytest.raises(KeyError, match="synth_99999"):
        read_synth_regions(synth_dir, "synth_99999")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.jsonl").write_text('{"video_id": "a"}\n')
    with pytest.raises(ValueError, match="line 1"):
        read_synth_manifest(broken)


def test_synth_command(tmp_path):
    from transformers_vidanon.cli import main

    out = tmp_path / "cli"
    code = main(["synth", "--output", str(out), "--num-videos", "3", "--seed", "2", "--num-frames", "4",
                 "--image-size", "32", "--imbalanced", "--no-progress"])
    assert code == 0
    rows = read_synth_manifest(out)
    assert len(rows) == 3 and rows[0]["height"] == 32 and rows[0]["num_frames"] == 4
    settings = json.loads((out / "synth_config.json").read_text())
    assert settings["privacy_prevalence"] == list(VP_UCF101_PREVALENCE)
    # a second run into the same folder is refused unless --overwrite
    assert main(["synth", "--output", str(out), "--num-videos", "3", "--no-progress"]) != 0
