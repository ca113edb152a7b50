"""Tests of transformers_vidanon.video on real files written with PyAV."""

from __future__ import annotations

import os

import numpy as np
import pytest
from _video_fixtures import encode_frames, frame_indices_of, level_video, noise_video

from transformers_vidanon.video import (
    VideoDecodeError,
    VideoFile,
    VideoNotFoundError,
    decord_available,
    read_clip,
    read_image,
    resolve_backend,
    training_indices,
    uniform_clip_indices,
    video_info,
    write_video,
)

BACKENDS = ["pyav"] + (["decord"] if decord_available() else [])


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    base = tmp_path_factory.mktemp("videos")
    good = level_video(base / "levels.mp4", num_frames=30)
    data = (base / "levels.mp4").read_bytes()
    rng = np.random.default_rng(0)
    corrupt = bytearray(data)
    start, stop = len(data) // 4, len(data) - 64
    corrupt[start:stop] = rng.integers(0, 256, size=stop - start, dtype=np.uint8).tobytes()
    (base / "corrupt.mp4").write_bytes(bytes(corrupt))
    (base / "truncated.mp4").write_bytes(data[: len(data) // 2])
    (base / "text.mp4").write_text("this is a text file, not a video\n" * 20)
    (base / "empty.mp4").write_bytes(b"")
    import av

    with av.open(str(base / "zero.mp4"), mode="w") as container:  # a video stream without a single frame
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        container.start_encoding()
    return {"base": base, "good": good}


# ---------------------------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_read_clip_returns_the_requested_frames_in_order(videos, backend):
    indices = [29, 0, 0, 7, 15, 14]
    frames = read_clip(videos["good"], indices, backend=backend)
    assert frames.shape == (6, 32, 40, 3)
    assert frames.dtype == np.uint8
    assert frame_indices_of(frames) == indices


def test_video_info_reads_the_header(videos):
    info = video_info(videos["good"])
    assert (info.num_frames, info.fps, info.height, info.width) == (30, 10.0, 32, 40)


@pytest.mark.skipif(not decord_available(), reason="decord is not installed")
def test_decord_and_pyav_return_the_same_frames(tmp_path):
    path = noise_video(tmp_path / "noise.mp4", num_frames=40, height=48, width=64)
    indices = np.random.default_rng(1).choice(40, size=12, replace=False)
    with_decord = read_clip(path, indices, backend="decord").astype(int)
    with_pyav = read_clip(path, indices, backend="pyav").astype(int)
    assert with_decord.shape == with_pyav.shape == (12, 48, 64, 3)
    # same decoder library underneath: equal up to colour-conversion rounding
    assert np.abs(with_decord - with_pyav).max() <= 2
    assert np.abs(with_decord - with_pyav).mean() < 0.5


def test_auto_backend_reads_widths_decord_gets_wrong(tmp_path):
    # decord 0.6 returns 4-channel or mis-sized rows for some widths (48 is one); "auto" must still be right
    path = level_video(tmp_path / "w48.mp4", num_frames=12, height=34, width=48)
    frames = read_clip(path, [11, 3], backend="auto")
    assert frames.shape == (2, 34, 48, 3)
    assert frame_indices_of(frames) == [11, 3]
    np.testing.assert_array_equal(frames, read_clip(path, [11, 3], backend="pyav"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_grayscale_video_comes_back_with_three_channels(tmp_path, backend):
    gray = (np.arange(8)[:, None, None] * 25 + np.zeros((8, 24, 32))).astype(np.uint8)
    path = encode_frames(tmp_path / "gray.mkv", gray, codec="ffv1", pix_fmt="gray")
    assert video_info(path).num_frames == 8  # Matroska has no frame count: counted from the packets
    frames = read_clip(path, [0, 5, 7], backend=backend)
    assert frames.shape == (3, 24, 32, 3)
    np.testing.assert_array_equal(frames[..., 0], frames[..., 1])
    np.testing.assert_array_equal(frames[..., 0], gray[[0, 5, 7]])  # ffv1 is lossless


@pytest.mark.parametrize("backend", BACKENDS)
def test_odd_sized_video_is_read_at_its_size(tmp_path, backend):
    frames = np.random.default_rng(0).integers(0, 256, (6, 47, 63, 3), dtype=np.uint8)
    path = encode_frames(
        tmp_path / "odd.mp4", frames, pix_fmt="yuv444p", options={"crf": "0", "threads": "1"}
    )
    decoded = read_clip(path, [0, 5], backend=backend)
    assert decoded.shape == (2, 47, 63, 3)
    assert np.abs(decoded.astype(int) - frames[[0, 5]]).mean() < 2.0


def test_video_file_reads_several_batches_from_one_open_file(videos):
    with VideoFile(videos["good"]) as video:
        assert video.info.num_frames == 30
        assert frame_indices_of(video.get_frames([1, 2])) == [1, 2]
        assert frame_indices_of(video.get_frames([28])) == [28]


# ---------------------------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_missing_file_raises_not_found_naming_it(tmp_path, backend):
    missing = tmp_path / "nowhere" / "missing.mp4"
    with pytest.raises(VideoNotFoundError) as info:
        read_clip(missing, [0], backend=backend)
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, ValueError)
    assert info.value.path == str(missing)
    assert "missing.mp4" in str(info.value)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "name, reason",
    [
        ("text.mp4", "not a readable video"),
        ("empty.mp4", "empty"),
        ("truncated.mp4", "not a readable video"),
        ("zero.mp4", "no video stream"),
    ],
)
def test_unreadable_files_raise_decode_errors_naming_them(videos, backend, name, reason):
    path = videos["base"] / name
    with pytest.raises(VideoDecodeError) as info:
        read_clip(path, [0], backend=backend)
    assert info.value.path == str(path)
    assert name in str(info.value) and reason in str(info.value)


@pytest.mark.parametrize("backend", BACKENDS)
def test_corrupt_data_raises_decode_error(videos, backend):
    path = videos["base"] / "corrupt.mp4"
    with pytest.raises(VideoDecodeError) as info, VideoFile(path, backend=backend) as video:
        video.get_frames(np.arange(video.info.num_frames))
    assert info.value.path == str(path)


def test_directory_is_not_a_video(tmp_path):
    with pytest.raises(VideoDecodeError, match="not a regular file"):
        video_info(tmp_path)


def test_frames_above_max_pixels_are_refused_before_decoding(videos):
    with pytest.raises(VideoDecodeError, match="max_pixels=1000") as info:
        read_clip(videos["good"], [0], max_pixels=1000)  # 40 x 32 = 1280 pixels
    assert info.value.path == str(videos["good"])
    assert read_clip(videos["good"], [0], max_pixels=1280).shape == (1, 32, 40, 3)
    assert read_clip(videos["good"], [0], max_pixels=None).shape == (1, 32, 40, 3)


@pytest.mark.parametrize(
    "indices, message",
    [
        ([30], "out of range"),
        ([-1], "out of range"),
        ([], "non-empty"),
        ([1.5], "integers"),
        ([[0, 1]], "1-D"),
    ],
)
def test_bad_indices_raise_value_errors_naming_the_file(videos, indices, message):
    with pytest.raises(ValueError, match=message) as info:
        read_clip(videos["good"], np.asarray(indices), backend="pyav")
    assert "levels.mp4" in str(info.value)


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="backend"):
        resolve_backend("opencv")


def test_read_image_converts_to_rgb_and_reports_bad_files(tmp_path):
    from PIL import Image

    Image.fromarray(np.full((5, 7), 99, dtype=np.uint8), mode="L").save(tmp_path / "gray.png")
    image = read_image(tmp_path / "gray.png")
    assert image.shape == (5, 7, 3) and (image == 99).all()
    (tmp_path / "bad.png").write_text("not an image")
    with pytest.raises(VideoDecodeError, match="bad.png"):
        read_image(tmp_path / "bad.png")
    with pytest.raises(VideoNotFoundError):
        read_image(tmp_path / "absent.png")


# ---------------------------------------------------------------------------------------------------------------
# Sampling
# ---------------------------------------------------------------------------------------------------------------


def test_training_indices_are_a_strided_window_from_a_seeded_start():
    indices = training_indices(100, num_frames=16, frame_stride=2, rng=np.random.default_rng(3))
    start = int(np.random.default_rng(3).integers(0, 100 - 31 + 1))
    np.testing.assert_array_equal(indices, start + 2 * np.arange(16))
    assert indices.dtype == np.int64
    starts = {int(training_indices(40, 4, 3, rng=seed)[0]) for seed in range(200)}
    assert starts == set(range(40 - 10 + 1))  # every start reachable, none past the end


def test_training_indices_fill_short_videos_by_the_chosen_policy():
    np.testing.assert_array_equal(
        training_indices(5, 6, 2, rng=0, short_video_policy="loop"), [0, 2, 4, 1, 3, 0]
    )
    np.testing.assert_array_equal(
        training_indices(5, 6, 2, rng=0, short_video_policy="pad"), [0, 2, 4, 4, 4, 4]
    )
    np.testing.assert_array_equal(training_indices(1, 3, 2, rng=0), [0, 0, 0])
    # exactly one clip long: the only window
    np.testing.assert_array_equal(training_indices(7, 4, 2, rng=0), [0, 2, 4, 6])


def test_uniform_clip_indices_spread_clips_from_first_to_last_frame():
    clips = uniform_clip_indices(100, num_frames=4, frame_stride=2, num_clips=5)
    np.testing.assert_array_equal(clips[:, 0], [0, 23, 46, 70, 93])
    np.testing.assert_array_equal(clips[:, 1:] - clips[:, :-1], np.full((5, 3), 2))
    assert clips[-1, -1] == 99
    np.testing.assert_array_equal(uniform_clip_indices(100, 4, 2, num_clips=1), [[46, 48, 50, 52]])
    short = uniform_clip_indices(3, 4, 2, num_clips=2, short_video_policy="pad")
    np.testing.assert_array_equal(short, [[0, 2, 2, 2], [0, 2, 2, 2]])
    short = uniform_clip_indices(3, 4, 2, num_clips=2, short_video_policy="loop")
    np.testing.assert_array_equal(short, [[0, 2, 1, 0], [0, 2, 1, 0]])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_video_frames": 0}, "num_video_frames"),
        ({"num_frames": 0}, "num_frames"),
        ({"frame_stride": 0}, "frame_stride"),
        ({"short_video_policy": "truncate"}, "short_video_policy"),
    ],
)
def test_sampling_arguments_are_validated(kwargs, message):
    arguments = {"num_video_frames": 50, "num_frames": 8, "frame_stride": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        training_indices(**arguments)
    with pytest.raises(ValueError, match=message):
        uniform_clip_indices(**arguments)
    with pytest.raises(ValueError, match="num_clips"):
        uniform_clip_indices(50, num_clips=0)


# ---------------------------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------------------------


def test_write_video_round_trips_and_leaves_no_temporary_file(tmp_path):
    y, x = np.mgrid[0:48, 0:64]
    frames = np.stack(
        [np.stack([(x * 3 + t) % 256, (y * 4) % 256, np.full_like(x, 128)], -1) for t in range(10)]
    )
    frames = frames.astype(np.uint8)
    path = write_video(tmp_path / "out" / "clip.mp4", frames, fps=12.5)
    assert path == tmp_path / "out" / "clip.mp4"
    assert os.listdir(tmp_path / "out") == ["clip.mp4"]
    info = video_info(path)
    assert (info.num_frames, info.fps, info.height, info.width) == (10, 12.5, 48, 64)
    for backend in BACKENDS:
        decoded = read_clip(path, np.arange(10), backend=backend).astype(int)
        assert np.abs(decoded - frames).mean() < 3.0


def test_write_video_replaces_an_existing_file_whole_and_is_deterministic(tmp_path):
    path = level_video(tmp_path / "clip.mp4", num_frames=30)
    write_video(path, np.zeros((3, 16, 16, 3), dtype=np.uint8), fps=5)
    assert video_info(path).num_frames == 3
    first = path.read_bytes()
    write_video(path, np.zeros((3, 16, 16, 3), dtype=np.uint8), fps=5)
    assert path.read_bytes() == first
    assert sorted(os.listdir(tmp_path)) == ["clip.mp4"]


@pytest.mark.parametrize("even_size, expected", [("pad", (34, 48)), ("crop", (32, 46))])
def test_write_video_makes_odd_sizes_even(tmp_path, even_size, expected):
    frames = np.full((4, 33, 47, 3), 120, dtype=np.uint8)
    path = write_video(tmp_path / "odd.mp4", frames, fps=10, even_size=even_size)
    info = video_info(path)
    assert (info.height, info.width) == expected
    assert np.abs(read_clip(path, [0]).astype(int) - 120).max() <= 2  # padding repeats the edge


@pytest.mark.parametrize(
    "frames, fps, message",
    [
        (np.zeros((2, 16, 16, 3), dtype=np.float32), 10, "uint8"),
        (np.zeros((2, 16, 16, 4), dtype=np.uint8), 10, "shape"),
        (np.zeros((0, 16, 16, 3), dtype=np.uint8), 10, "shape"),
        (np.zeros((2, 16, 16, 3), dtype=np.uint8), 0, "fps"),
    ],
)
def test_write_video_rejects_bad_input_naming_the_file(tmp_path, frames, fps, message):
    with pytest.raises(ValueError, match=message) as info:
        write_video(tmp_path / "bad.mp4", frames, fps=fps)
    assert "bad.mp4" in str(info.value)
    assert not (tmp_path / "bad.mp4").exists()


def test_write_video_accepts_grayscale_frames(tmp_path):
    path = write_video(tmp_path / "gray.mp4", np.full((2, 16, 16), 200, dtype=np.uint8), fps=10)
    frames = read_clip(path, [0, 1])
    assert frames.shape == (2, 16, 16, 3)
    assert np.abs(frames.astype(int) - 200).max() <= 2
