"""SynthPrivacy generated in worker processes writes what one process writes, byte for byte."""

from __future__ import annotations

import numpy as np
import pytest

from transformers_vidanon.data.synth import generate_synth_privacy, read_region_file, read_synth_manifest


@pytest.mark.parametrize("world", [1, 2])
def test_workers_write_the_same_files(tmp_path, world):
    settings = {"num_frames": 6, "image_size": 32, "world": world, "progress": False}
    one = generate_synth_privacy(tmp_path / "one", 10, 4, num_workers=1, **settings).parent
    two = generate_synth_privacy(tmp_path / "two", 10, 4, num_workers=2, **settings).parent
    assert (one / "manifest.jsonl").read_bytes() == (two / "manifest.jsonl").read_bytes()
    assert (one / "synth_config.json").read_bytes() == (two / "synth_config.json").read_bytes()
    rows = read_synth_manifest(one)
    assert len(rows) == 10
    for row in rows:
        assert (one / row["regions"]).read_bytes() == (two / row["regions"]).read_bytes()
        first, second = read_region_file(one / row["regions"]), read_region_file(two / row["regions"])
        assert set(first) == set(second)
        for name in first:
            np.testing.assert_array_equal(first[name], second[name])
        assert (one / row["path"]).read_bytes() == (two / row["path"]).read_bytes()
    # more workers than videos: as many as there are videos
    three = generate_synth_privacy(tmp_path / "three", 2, 4, num_workers=8, **settings).parent
    assert [row["video_id"] for row in read_synth_manifest(three)] == [row["video_id"] for row in rows[:2]]


@pytest.mark.parametrize("num_workers", [0, -1, 1.5, True])
def test_bad_worker_counts_are_named(tmp_path, num_workers):
    with pytest.raises(ValueError, match="num_workers"):
        generate_synth_privacy(tmp_path / "x", 2, 0, num_frames=2, image_size=32, num_workers=num_workers,
                               progress=False)
    assert not (tmp_path / "x").exists()


def test_a_failing_video_stops_the_run(tmp_path):
    """A worker's error reaches the caller and no manifest is written (the folder is not left looking complete)."""
    root = tmp_path / "broken"
    # a folder where a video file must go: that video cannot be written
    for action in ("walk_left", "walk_right", "jump", "wave", "squat", "spin"):
        (root / "videos" / action / "synth_00001.mp4").mkdir(parents=True, exist_ok=True)
    with pytest.raises(IsADirectoryError, match="synth_00001"):
        generate_synth_privacy(root, 4, 0, num_frames=2, image_size=32, num_workers=2, progress=False)
    assert not (root / "manifest.jsonl").exists()
