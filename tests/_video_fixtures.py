"""Small real video files for the tests, written with PyAV directly (independently of `video_io.write_video`).

`level_video` frames are flat grey images whose level encodes the frame index (`LEVEL0 + LEVEL_STEP * t`), so a
decoded frame tells which index it came from despite compression: [`frame_indices_of`] recovers them.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

LEVEL0 = 16
LEVEL_STEP = 6
MAX_LEVEL_FRAMES = 35  # 16 + 6 * 34 = 220 stays inside video range


def encode_frames(
    path: Path,
    frames: np.ndarray,
    fps: float = 10,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    container_format: str | None = None,
    options: dict[str, str] | None = None,
) -> Path:
    """Encode `(T, H, W, 3)` RGB (or `(T, H, W)` gray) uint8 frames with PyAV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if container_format is None:
        container_format = {".avi": "avi", ".mkv": "matroska"}.get(path.suffix.lower(), "mp4")
    if options is None:
        options = (
            {"crf": "10", "threads": "1"}
            if codec == "libx264"
            else {"qscale": "2"}
            if codec == "mpeg4"
            else {}
        )
    with av.open(str(path), mode="w", format=container_format) as container:
        stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        stream.height, stream.width = frames.shape[1], frames.shape[2]
        stream.pix_fmt = pix_fmt
        stream.options = options
        input_format = "gray" if frames.ndim == 3 else "rgb24"
        for frame in frames:
            for packet in stream.encode(
                av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format=input_format)
            ):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def level_frames(num_frames: int, height: int = 32, width: int = 40) -> np.ndarray:
    if num_frames > MAX_LEVEL_FRAMES:
        raise ValueError(f"level videos hold at most {MAX_LEVEL_FRAMES} frames")
    levels = LEVEL0 + LEVEL_STEP * np.arange(num_frames)
    return np.broadcast_to(levels[:, None, None, None], (num_frames, height, width, 3)).astype(np.uint8)


def level_video(path: Path, num_frames: int = 30, height: int = 32, width: int = 40, **kwargs) -> Path:
    """A video whose frame t is flat grey at level `LEVEL0 + LEVEL_STEP * t`."""
    if path.suffix.lower() == ".avi":
        kwargs.setdefault("codec", "mpeg4")
    return encode_frames(path, level_frames(num_frames, height, width), **kwargs)


def frame_indices_of(frames: np.ndarray) -> list[int]:
    """Recover the frame indices of decoded level-video frames (`(..., H, W, 3)` uint8 or `(..., 3, H, W)` float)."""
    array = np.asarray(frames, dtype=np.float64)
    if array.max() <= 1.0 + 1e-6:
        array = array * 255.0
    means = array.reshape(-1, int(np.prod(array.shape[-3:]))).mean(axis=1)
    return [int(v) for v in np.rint((means - LEVEL0) / LEVEL_STEP)]


def noise_video(
    path: Path, num_frames: int = 24, height: int = 48, width: int = 64, seed: int = 0, **kwargs
) -> Path:
    """A video of smooth random motion (a noise texture sliding down), hard for a codec to fake."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, size=(height + num_frames, width, 3), dtype=np.uint8)
    frames = np.stack([base[t : t + height] for t in range(num_frames)])
    return encode_frames(path, frames, **kwargs)


# ---------------------------------------------------------------------------------------------------------------
# Dataset layouts
# ---------------------------------------------------------------------------------------------------------------

# (class folder, file stem, subset in split 1): real UCF101 names, so that the shipped VP-UCF101 labels apply.
UCF_CLASSES = ["ApplyEyeMakeup", "Basketball", "HandstandPushups"]
UCF_VIDEOS = [
    ("ApplyEyeMakeup", "v_ApplyEyeMakeup_g01_c01", "test"),
    ("ApplyEyeMakeup", "v_ApplyEyeMakeup_g08_c01", "train"),
    ("ApplyEyeMakeup", "v_ApplyEyeMakeup_g09_c02", "train"),
    ("Basketball", "v_Basketball_g01_c02", "test"),
    ("Basketball", "v_Basketball_g08_c01", "train"),
    ("HandstandPushups", "v_HandStandPushups_g01_c01", "test"),
    ("HandstandPushups", "v_HandStandPushups_g08_c01", "train"),
]


def make_ucf101(base: Path, num_frames: int = 20) -> tuple[Path, Path]:
    """UCF101 layout: `<root>/<Class>/<stem>.avi` (Basketball stored as .mp4) and `ucfTrainTestlist/`."""
    root, split_dir = base / "UCF-101", base / "ucfTrainTestlist"
    for index, (folder, stem, _) in enumerate(UCF_VIDEOS):
        suffix = ".mp4" if folder == "Basketball" else ".avi"
        level_video(root / folder / f"{stem}{suffix}", num_frames=num_frames + index)
    split_dir.mkdir(parents=True, exist_ok=True)
    (split_dir / "classInd.txt").write_text("".join(f"{i + 1} {c}\n" for i, c in enumerate(UCF_CLASSES)))
    train = [
        f"{folder}/{stem}.avi {UCF_CLASSES.index(folder) + 1}"
        for folder, stem, s in UCF_VIDEOS
        if s == "train"
    ]
    test = [f"{folder}/{stem}.avi" for folder, stem, s in UCF_VIDEOS if s == "test"]
    (split_dir / "trainlist01.txt").write_text("\n".join(train) + "\n")
    (split_dir / "testlist01.txt").write_text("\n".join(test) + "\n")
    return root, split_dir


# real HMDB51 names (present in the shipped VP-HMDB51 labels) with their tags in splits 1 and 2
HMDB_VIDEOS = [
    ("brush_hair", "April_09_brush_hair_u_nm_np1_ba_goo_0", "1", "2"),
    ("brush_hair", "April_09_brush_hair_u_nm_np1_ba_goo_1", "2", "1"),
    ("brush_hair", "April_09_brush_hair_u_nm_np1_ba_goo_2", "1", "1"),
    ("brush_hair", "Aussie_Brunette_Brushing_Hair_II_brush_hair_u_nm_np1_ba_goo_4", "0", "2"),
    ("cartwheel", "(Rad)Schlag_die_Bank!_cartwheel_f_cm_np1_le_med_0", "1", "1"),
    ("cartwheel", "Acrobacias_de_un_fenomeno_cartwheel_f_cm_np1_ba_bad_8", "2", "2"),
    ("cartwheel", "Acrobacias_de_un_fenomeno_cartwheel_f_cm_np1_fr_bad_3", "1", "0"),
]


def make_hmdb51(base: Path, num_frames: int = 20) -> tuple[Path, Path]:
    """HMDB51 layout: `<root>/<class>/<name>.avi` and `<split_dir>/<class>_test_split{1,2}.txt`."""
    root, split_dir = base / "hmdb51", base / "testTrainMulti_7030_splits"
    split_dir.mkdir(parents=True, exist_ok=True)
    for index, (folder, stem, _, _) in enumerate(HMDB_VIDEOS):
        # distinct frame rates: the same frames, but not byte-identical files (split checks compare content)
        level_video(root / folder / f"{stem}.avi", num_frames=num_frames, fps=10 + index)
    for folder in sorted({v[0] for v in HMDB_VIDEOS}):
        for split, column in ((1, 2), (2, 3)):
            lines = [f"{v[1]}.avi {v[column]}" for v in HMDB_VIDEOS if v[0] == folder]
            (split_dir / f"{folder}_test_split{split}.txt").write_text(" \n".join(lines) + " \n")
    return root, split_dir


def make_pa_hmdb51(base: Path) -> Path:
    """PA-HMDB51 annotations (one JSON per class) for two of the HMDB51 videos above."""
    folder = base / "PrivacyAttributes"
    folder.mkdir(parents=True, exist_ok=True)
    brush = {
        "April_09_brush_hair_u_nm_np1_ba_goo_1.avi": {
            "skin_color": [[0, 19, 1]],
            "face": [[0, 9, 0], [10, 19, 2]],
            "gender": [[0, 19, [0, 0]]],
            "nudity": [[0, 19, 0]],
            "relationship": [[0, 19, 0]],
            "review": False,
            "note": "",
        }
    }
    cartwheel = {
        "Acrobacias_de_un_fenomeno_cartwheel_f_cm_np1_ba_bad_8.avi": {
            "skin_color": [[0, 19, 0]],
            "face": [[0, 19, 0]],
            "gender": [[0, 5, 0], [6, 19, [1, 2]]],
            "nudity": [[0, 19, 2]],
            "relationship": [[0, 19, 1]],
        }
    }
    (folder / "brush_hair.json").write_text(json.dumps(brush))
    (folder / "cartwheel.json").write_text(json.dumps(cartwheel))
    return folder


VISPR_IMAGES = [
    ("2017_10000001", ["a17_color", "a4_gender", "a9_face_complete"]),
    ("2017_10000002", ["a10_face_partial", "a12_semi_nudity", "a65_rel_social"]),
    ("2017_10000003", ["a0_safe"]),
]


def make_vispr(base: Path, split: str = "train") -> tuple[Path, Path]:
    """VISPR layout: `<root>/images/<split>2017/<id>.jpg` and `<root>/annos/<split>2017/<id>.json`."""
    from PIL import Image

    root = base / "vispr"
    images, annos = root / "images" / f"{split}2017", root / "annos" / f"{split}2017"
    images.mkdir(parents=True, exist_ok=True)
    annos.mkdir(parents=True, exist_ok=True)
    for index, (image_id, labels) in enumerate(VISPR_IMAGES):
        pixels = np.full((30, 44, 3), 40 + 60 * index, dtype=np.uint8)
        Image.fromarray(pixels).save(images / f"{image_id}.png")
        record = {"id": image_id, "image_path": f"images/{split}2017/{image_id}.png", "labels": labels}
        (annos / f"{image_id}.json").write_text(json.dumps(record))
    return root, root / "annos"
