"""Tests of the dataset loaders, label files and clip transform, on small real videos in every layout."""

from __future__ import annotations

import functools
import json
import math
import os
import pickle

import numpy as np
import pytest
import torch
from _video_fixtures import (
    HMDB_VIDEOS,
    UCF_CLASSES,
    UCF_VIDEOS,
    VISPR_IMAGES,
    frame_indices_of,
    level_video,
    make_hmdb51,
    make_pa_hmdb51,
    make_ucf101,
    make_vispr,
)
from datasets import Dataset, DatasetDict, IterableDataset
from torch.utils.data import DataLoader

from transformers_vidanon.data import (
    BadVideoLog,
    ClipTransform,
    SplitOverlapError,
    apply_clip_transform,
    check_disjoint_splits,
    collate_clips,
    dataset_metadata,
    hmdb51_minus_pa_hmdb51,
    load_hmdb51,
    load_manifest,
    load_pa_hmdb51,
    load_ucf101,
    load_videofolder,
    load_vispr,
    load_vp_hmdb51,
    load_vp_ucf101,
    privacy_attribute_names,
)
from transformers_vidanon.data.labels import (
    PRIVACY_ATTRIBUTES,
    LabelFileError,
    UnsafePickleError,
    load_privacy_labels,
    load_shipped_privacy_labels,
    read_hmdb51_split,
    read_pa_hmdb51_annotations,
)
from transformers_vidanon.processing_vidanon import ClipAugmentation
from transformers_vidanon.video import VideoDecodeError, uniform_clip_indices

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    base = tmp_path_factory.mktemp("datasets")
    ucf_root, ucf_splits = make_ucf101(base)
    hmdb_root, hmdb_splits = make_hmdb51(base)
    return {
        "base": base,
        "ucf": (ucf_root, ucf_splits),
        "hmdb": (hmdb_root, hmdb_splits),
        "pa": make_pa_hmdb51(base),
        "vispr": make_vispr(base),
    }


@functools.cache
def _shipped_labels(name: str):
    return load_shipped_privacy_labels(name)


def _shipped(name: str, key: str) -> list[float]:
    return _shipped_labels(name).get(key).tolist()


# ---------------------------------------------------------------------------------------------------------------
# UCF101 / VP-UCF101
# ---------------------------------------------------------------------------------------------------------------


def test_ucf101_reads_the_official_lists_with_zero_based_labels(trees):
    root, split_dir = trees["ucf"]
    train = load_ucf101(root, split_dir, split=1, subset="train")
    assert isinstance(train, Dataset)
    assert train.features["label"].names == ["ApplyEyeMakeup", "Basketball", "HandstandPushups"]
    assert train["video_id"][:] == [stem for _, stem, s in UCF_VIDEOS if s == "train"]
    assert train["label"][:] == [0, 0, 1, 2]
    assert set(train["split"][:]) == {"train"}
    assert all(math.isnan(v) for row in train["privacy_labels"] for v in row)
    # the Basketball files are .mp4 while the lists say .avi: matched on the stem
    assert train[2]["video"].endswith(os.path.join("Basketball", "v_Basketball_g08_c01.mp4"))
    test = load_ucf101(root, split_dir, subset="test")
    # test lines have no id: the label comes from the folder, matched case-insensitively
    assert dict(zip(test["video_id"][:], test["label"][:])) == {
        "v_ApplyEyeMakeup_g01_c01": 0,
        "v_Basketball_g01_c02": 1,
        "v_HandStandPushups_g01_c01": 2,
    }
    assert dataset_metadata(test)["subset"] == "test"


def test_vp_ucf101_joins_the_shipped_privacy_labels(trees):
    root, split_dir = trees["ucf"]
    splits = load_vp_ucf101(root, split_dir, subset=None)
    assert isinstance(splits, DatasetDict) and set(splits) == {"train", "test"}
    for row in splits["train"].to_list() + splits["test"].to_list():
        folder = os.path.basename(os.path.dirname(row["video"]))
        assert row["privacy_labels"] == _shipped("vp_ucf101", f"{folder}/{row['video_id']}.mp4")
    assert splits["test"][1]["privacy_labels"] == [
        1.0,
        1.0,
        1.0,
        0.0,
        1.0,
    ]  # v_Basketball_g01_c02 in the file
    assert privacy_attribute_names(splits["train"]) == PRIVACY_ATTRIBUTES
    assert dataset_metadata(splits["train"])["has_privacy_labels"] is True


def test_ucf101_missing_videos_raise_or_are_skipped(trees, tmp_path):
    root, split_dir = trees["ucf"]
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "classInd.txt").write_text((split_dir / "classInd.txt").read_text())
    (lists / "trainlist01.txt").write_text(
        (split_dir / "trainlist01.txt").read_text() + "Basketball/v_Basketball_g20_c01.avi 2\n"
    )
    with pytest.raises(FileNotFoundError, match="v_Basketball_g20_c01"):
        load_ucf101(root, lists)
    assert len(load_ucf101(root, lists, on_missing="skip")) == 4


def test_ucf101_list_errors_name_the_file_and_line(trees, tmp_path):
    root, split_dir = trees["ucf"]
    (tmp_path / "classInd.txt").write_text((split_dir / "classInd.txt").read_text())
    (tmp_path / "trainlist01.txt").write_text("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 3\n")
    with pytest.raises(LabelFileError, match=r"trainlist01.txt' line 1: id 3 does not match"):
        load_ucf101(root, tmp_path)
    with pytest.raises(FileNotFoundError, match="trainlist02"):
        load_ucf101(root, tmp_path, split=2)
    with pytest.raises(ValueError, match="split"):
        load_ucf101(root, tmp_path, split=4)


def test_overlapping_train_and_test_lists_are_refused(trees, tmp_path):
    root, split_dir = trees["ucf"]
    for name in ("classInd.txt", "trainlist01.txt"):
        (tmp_path / name).write_text((split_dir / name).read_text())
    (tmp_path / "testlist01.txt").write_text(
        (split_dir / "testlist01.txt").read_text() + "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi\n"
    )
    with pytest.raises(SplitOverlapError, match="v_ApplyEyeMakeup_g08_c01"):
        load_ucf101(root, tmp_path, subset=None)


# ---------------------------------------------------------------------------------------------------------------
# HMDB51 / VP-HMDB51 / PA-HMDB51
# ---------------------------------------------------------------------------------------------------------------


def test_hmdb51_uses_one_split_number_only(trees):
    root, split_dir = trees["hmdb"]
    for split, column in ((1, 2), (2, 3)):
        splits = load_hmdb51(root, split_dir, split=split, subset=None)
        expected_train = [v[1] for v in HMDB_VIDEOS if v[column] == "1"]
        expected_test = [v[1] for v in HMDB_VIDEOS if v[column] == "2"]
        assert splits["train"]["video_id"][:] == expected_train
        assert splits["test"]["video_id"][:] == expected_test
        assert not set(expected_train) & set(expected_test)
    train = load_hmdb51(root, split_dir, split=1)
    assert train.features["label"].names == ["brush_hair", "cartwheel"]
    assert train["label"][:] == [0, 0, 1, 1]
    assert len(load_hmdb51(root, split_dir, subset="all")) == len(HMDB_VIDEOS)


def test_hmdb51_split_files_are_validated(tmp_path):
    (tmp_path / "run_test_split1.txt").write_text("a.avi 1\nb.avi 3\n")
    with pytest.raises(LabelFileError, match=r"run_test_split1.txt' line 2"):
        read_hmdb51_split(tmp_path, 1)
    (tmp_path / "run_test_split1.txt").write_text("a.avi 1\na.avi 2\n")
    with pytest.raises(LabelFileError, match="listed twice"):
        read_hmdb51_split(tmp_path, 1)
    with pytest.raises(FileNotFoundError, match="_test_split2"):
        read_hmdb51_split(tmp_path, 2)


def test_vp_hmdb51_joins_the_shipped_labels(trees):
    root, split_dir = trees["hmdb"]
    test = load_vp_hmdb51(root, split_dir, split=1, subset="test")
    assert test["video_id"][:] == [v[1] for v in HMDB_VIDEOS if v[2] == "2"]
    for row in test.to_list():
        folder = os.path.basename(os.path.dirname(row["video"]))
        assert row["privacy_labels"] == _shipped("vp_hmdb51", f"{folder}/{row['video_id']}.mp4")


def test_pa_hmdb51_reduces_frame_ranges_to_video_labels(trees):
    root, _ = trees["hmdb"]
    annotations = read_pa_hmdb51_annotations(trees["pa"])
    # brush_hair: skin 1, face 0 then 2, gender [0, 0] only, no nudity, no relationship
    np.testing.assert_array_equal(
        annotations[("brush_hair", "April_09_brush_hair_u_nm_np1_ba_goo_1.avi")], [1, 1, 0, 0, 0]
    )
    np.testing.assert_array_equal(
        annotations[("cartwheel", "Acrobacias_de_un_fenomeno_cartwheel_f_cm_np1_ba_bad_8.avi")],
        [0, 0, 1, 1, 1],
    )
    pa = load_pa_hmdb51(root, trees["pa"])
    assert pa.features["label"].names == ["brush_hair", "cartwheel"]
    assert dict(zip(pa["video_id"][:], pa["label"][:])) == {
        "April_09_brush_hair_u_nm_np1_ba_goo_1": 0,
        "Acrobacias_de_un_fenomeno_cartwheel_f_cm_np1_ba_bad_8": 1,
    }
    assert pa["privacy_labels"][:] == [[1, 1, 0, 0, 0], [0, 0, 1, 1, 1]]
    # the same annotations merged in one file give the same result
    merged = {
        cls: json.loads((trees["pa"] / f"{cls}.json").read_text()) for cls in ("brush_hair", "cartwheel")
    }
    merged_file = trees["base"] / "pa_merged.json"
    merged_file.write_text(json.dumps(merged))
    assert load_pa_hmdb51(root, merged_file).to_list() == pa.to_list()


def test_hmdb51_minus_pa_hmdb51_leaves_the_evaluation_videos_out(trees):
    root, split_dir = trees["hmdb"]
    train = hmdb51_minus_pa_hmdb51(root, split_dir, trees["pa"])
    annotated = {
        "April_09_brush_hair_u_nm_np1_ba_goo_1",
        "Acrobacias_de_un_fenomeno_cartwheel_f_cm_np1_ba_bad_8",
    }
    assert set(train["video_id"][:]) == {v[1] for v in HMDB_VIDEOS} - annotated
    assert set(train["split"][:]) == {"train"}
    row = train.to_list()[0]
    assert row["privacy_labels"] == _shipped("vp_hmdb51", f"brush_hair/{row['video_id']}.mp4")
    check_disjoint_splits({"train": train, "test": load_pa_hmdb51(root, trees["pa"])})


def test_pa_hmdb51_malformed_annotations_name_the_file(tmp_path):
    (tmp_path / "run.json").write_text(
        json.dumps({"x.avi": {name: [[0, 5, 1]] for name in PRIVACY_ATTRIBUTES[:4]}})
    )
    with pytest.raises(LabelFileError, match=r"run.json.*lacks attributes \['relationship'\]"):
        read_pa_hmdb51_annotations(tmp_path)
    bad = {name: [[0, 5, 1]] for name in PRIVACY_ATTRIBUTES}
    bad["face"] = [[5, 2, 1]]
    (tmp_path / "run.json").write_text(json.dumps({"x.avi": bad}))
    with pytest.raises(LabelFileError, match="invalid frame range"):
        read_pa_hmdb51_annotations(tmp_path)


# ---------------------------------------------------------------------------------------------------------------
# VISPR, manifests, video folders
# ---------------------------------------------------------------------------------------------------------------


def test_vispr_maps_attributes_and_serves_static_clips(trees):
    root, annos = trees["vispr"]
    vispr = load_vispr(root, annos, split="train")
    assert vispr["video_id"][:] == [image_id for image_id, _ in VISPR_IMAGES]
    assert vispr["privacy_labels"][:] == [[1, 1, 1, 0, 0], [0, 1, 0, 1, 1], [0, 0, 0, 0, 0]]
    assert vispr["label"][:] == [-1, -1, -1]
    example = vispr.with_transform(ClipTransform("train", num_frames=4, image_size=16))[1]
    assert example["pixel_values"].shape == (4, 3, 16, 16)
    for t in range(1, 4):
        torch.testing.assert_close(example["pixel_values"][t], example["pixel_values"][0], atol=0, rtol=0)
    example = vispr.with_transform(ClipTransform("eval", num_frames=3, image_size=16, num_clips=2))[0]
    assert example["pixel_values"].shape == (2, 3, 3, 16, 16)
    assert example["pixel_values"].sub(40 / 255).abs().max() < 1e-6  # flat image of level 40


def test_manifest_csv_and_jsonl(tmp_path):
    level_video(tmp_path / "videos" / "a.mp4", num_frames=8)
    level_video(tmp_path / "videos" / "b.mp4", num_frames=9)
    level_video(tmp_path / "videos" / "c.mp4", num_frames=10)  # distinct bytes: splits are compared by content
    rows = [
        {
            "path": "videos/a.mp4",
            "action": "wave",
            "label": 1,
            "split": "train",
            **dict.fromkeys(PRIVACY_ATTRIBUTES, 1),
        },
        {
            "path": "videos/b.mp4",
            "action": "jump",
            "label": 0,
            "split": "train",
            **dict.fromkeys(PRIVACY_ATTRIBUTES, 0),
        },
        {
            "path": "videos/c.mp4",
            "action": "wave",
            "label": 1,
            "split": "test",
            **dict.fromkeys(PRIVACY_ATTRIBUTES, 0),
        },
    ]
    rows[2]["nudity"] = 1
    (tmp_path / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    splits = load_manifest(tmp_path / "manifest.jsonl")
    assert set(splits) == {"train", "test"}
    assert splits["train"].features["label"].names == ["jump", "wave"]
    assert splits["train"]["video_id"][:] == ["a", "b"] and splits["train"]["label"][:] == [1, 0]
    assert splits["test"]["privacy_labels"][:] == [[0, 0, 0, 1, 0]]
    assert splits["test"][0]["video"] == str(tmp_path / "videos" / "c.mp4")
    # CSV with action names only, no privacy columns, one split
    (tmp_path / "m.csv").write_text("path,action\nvideos/b.mp4,jump\nvideos/a.mp4,wave\n")
    single = load_manifest(tmp_path / "m.csv")
    assert isinstance(single, Dataset) and single["label"][:] == [0, 1]
    assert all(math.isnan(v) for v in single[0]["privacy_labels"])
    assert len(load_manifest(tmp_path / "manifest.jsonl", split="test")) == 1


@pytest.mark.parametrize(
    "content, error, message",
    [
        ("path,action,face\nvideos/a.mp4,wave,1\n", LabelFileError, "lacks"),
        ("path,action,label\nvideos/a.mp4,wave,0\nvideos/a.mp4,jump,0\n", LabelFileError, "label 0 is"),
        ("action\nwave\n", LabelFileError, "'path'"),
        ("path,action\nvideos/missing.mp4,wave\n", FileNotFoundError, "missing.mp4"),
    ],
)
def test_manifest_errors_name_the_problem(tmp_path, content, error, message):
    level_video(tmp_path / "videos" / "a.mp4", num_frames=4)
    (tmp_path / "m.csv").write_text(content)
    with pytest.raises(error, match=message):
        load_manifest(tmp_path / "m.csv")


def test_videofolder_layouts(tmp_path):
    for index, (split, cls, name) in enumerate([
        ("train", "wave", "w1"),
        ("train", "jump", "j1"),
        ("test", "wave", "w2"),
        ("test", "run", "r1"),
    ]):
        # distinct frame counts: splits are compared by content too
        level_video(tmp_path / "split_layout" / split / cls / f"{name}.mp4", num_frames=4 + index)
        level_video(tmp_path / "class_layout" / cls / f"{name}.mp4", num_frames=4 + index)
    splits = load_videofolder(tmp_path / "split_layout")
    assert set(splits) == {"train", "test"}
    assert splits["train"].features["label"].names == [
        "jump",
        "run",
        "wave",
    ]  # union: labels agree across splits
    assert dict(zip(splits["test"]["video_id"][:], splits["test"]["label"][:])) == {"r1": 1, "w2": 2}
    flat = load_videofolder(tmp_path / "class_layout")
    assert isinstance(flat, Dataset) and len(flat) == 4
    (tmp_path / "split_layout" / "test" / "wave" / "w1.mp4").write_bytes(
        (tmp_path / "split_layout" / "train" / "wave" / "w1.mp4").read_bytes()
    )
    with pytest.raises(SplitOverlapError, match="w1"):
        load_videofolder(tmp_path / "split_layout")


def test_check_disjoint_splits_compares_paths_as_well_as_ids(tmp_path):
    path = str(tmp_path / "x.mp4")
    first = Dataset.from_dict({"video": [path], "video_id": ["x"]})
    second = Dataset.from_dict({"video": [path], "video_id": ["renamed"]})
    with pytest.raises(SplitOverlapError, match="x.mp4"):
        check_disjoint_splits({"train": first, "test": second})
    check_disjoint_splits({"train": first, "test": Dataset.from_dict({"video": ["y"], "video_id": ["y"]})})


# ---------------------------------------------------------------------------------------------------------------
# Privacy label files
# ---------------------------------------------------------------------------------------------------------------


def test_original_pickles_load_through_the_restricted_unpickler(tmp_path):
    labels = {
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi": np.array([[1, 0, 1, 0, 1]], dtype=np.int64),
        "Basketball/v_Basketball_g01_c02.avi": np.array([[0, 1, 0, 1, 0]], dtype=np.int64),
    }
    for protocol in (2, 4, 5):
        path = tmp_path / f"labels{protocol}.pkl"
        path.write_bytes(pickle.dumps(labels, protocol=protocol))
        loaded = load_privacy_labels(path)
        np.testing.assert_array_equal(loaded.get("x/v_ApplyEyeMakeup_g01_c01.mp4"), [1, 0, 1, 0, 1])
        assert loaded.get("v_Basketball_g01_c02").dtype == np.float32
        assert loaded.get("v_Unknown_g01_c01") is None


class _Exploit:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_restricted_unpickler_refuses_code_execution(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"a/v_x.avi": _Exploit(str(marker))}))
    with pytest.raises(UnsafePickleError, match=r"evil.pkl.*(posix|os)\.system"):
        load_privacy_labels(path)
    assert not marker.exists()


def test_privacy_label_files_are_validated(tmp_path):
    (tmp_path / "bad.json").write_text(json.dumps({"a/v.mp4": [1, 0, 2, 0, 0]}))
    with pytest.raises(LabelFileError, match="bad.json.*0/1"):
        load_privacy_labels(tmp_path / "bad.json")
    (tmp_path / "short.json").write_text(json.dumps({"a/v.mp4": [1, 0]}))
    with pytest.raises(LabelFileError, match="2 values"):
        load_privacy_labels(tmp_path / "short.json")
    with pytest.raises(FileNotFoundError, match="absent.pkl"):
        load_privacy_labels(tmp_path / "absent.pkl")
    reordered = {"attributes": list(reversed(PRIVACY_ATTRIBUTES)), "labels": {"a/v.mp4": [1, 0, 0, 0, 0]}}
    (tmp_path / "reordered.json").write_text(json.dumps(reordered))
    np.testing.assert_array_equal(load_privacy_labels(tmp_path / "reordered.json").get("v"), [0, 0, 0, 0, 1])


def test_shipped_labels_cover_both_collections():
    ucf, hmdb = _shipped_labels("vp_ucf101"), _shipped_labels("vp_hmdb51")
    assert (len(ucf), len(hmdb)) == (13320, 6766)
    prevalence = np.stack(list(ucf.labels.values())).mean(axis=0)
    np.testing.assert_allclose(prevalence, [0.91, 0.60, 0.90, 0.25, 0.25], atol=0.01)


# ---------------------------------------------------------------------------------------------------------------
# Clip transform, collation, bad videos, streaming, cross-dataset pairs
# ---------------------------------------------------------------------------------------------------------------


def _level_manifest(tmp_path, lengths, bad=()):
    rows = []
    for index, length in enumerate(lengths):
        path = level_video(tmp_path / f"v{index}.mp4", num_frames=length)
        rows.append(
            {"path": path.name, "action": f"a{index % 2}", **dict.fromkeys(PRIVACY_ATTRIBUTES, index % 2)}
        )
    for name in bad:
        rows.append({"path": name, "action": "a0", **dict.fromkeys(PRIVACY_ATTRIBUTES, 0)})
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return load_manifest(tmp_path / "m.jsonl", check_files=False)


def test_eval_transform_returns_uniform_clips_of_the_right_frames(tmp_path):
    dataset = _level_manifest(tmp_path, [30, 6])
    transform = ClipTransform("eval", num_frames=4, frame_stride=2, image_size=(32, 40), num_clips=3)
    decoded = dataset.with_transform(transform)
    example = decoded[0]
    assert example["pixel_values"].shape == (3, 4, 3, 32, 40)
    assert example["labels"] == 0 and example["video_id"] == "v0" and example["bad_video"] is None
    recovered = [frame_indices_of(clip.numpy().transpose(0, 2, 3, 1)) for clip in example["pixel_values"]]
    assert recovered == uniform_clip_indices(30, 4, 2, 3).tolist()
    short = decoded[1]["pixel_values"]  # 6 frames < one clip of span 7: looped
    assert [frame_indices_of(c.numpy().transpose(0, 2, 3, 1)) for c in short] == [[0, 2, 4, 0]] * 3
    torch.testing.assert_close(decoded[1]["privacy_labels"], torch.ones(5))
    # the indices it reports are the frames it decoded, from the file it opened once
    clip, indices, info = transform.load_with_indices(dataset[1]["video"])
    assert torch.equal(clip, short) and indices.tolist() == [[0, 2, 4, 0]] * 3 and info.num_frames == 6
    train = ClipTransform("train", num_frames=4, frame_stride=2, image_size=(32, 40), augmentation=None)
    clip, indices, _ = train.load_with_indices(dataset[0]["video"], seed=3)
    assert frame_indices_of(clip.numpy().transpose(0, 2, 3, 1)) == indices.tolist()
    assert torch.equal(clip, train.load(dataset[0]["video"], seed=3))


def test_train_transform_is_reproducible_under_torch_manual_seed(tmp_path):
    dataset = _level_manifest(tmp_path, [30])
    decoded = dataset.with_transform(
        ClipTransform("train", num_frames=4, frame_stride=3, image_size=16)
    )
    torch.manual_seed(7)
    first = decoded[0]["pixel_values"]
    torch.manual_seed(7)
    again = decoded[0]["pixel_values"]
    assert first.shape == (4, 3, 16, 16)
    torch.testing.assert_close(first, again, atol=0, rtol=0)
    plain = dataset.with_transform(
        ClipTransform("train", num_frames=4, frame_stride=3, image_size=(32, 40), augmentation=None)
    )
    starts = set()
    for seed in range(12):
        torch.manual_seed(seed)
        indices = frame_indices_of(plain[0]["pixel_values"].numpy().transpose(0, 2, 3, 1))
        assert np.diff(indices).tolist() == [3, 3, 3]
        starts.add(indices[0])
    assert len(starts) > 3 and max(starts) <= 30 - 10


def test_transform_arguments_are_validated():
    with pytest.raises(ValueError, match="mode"):
        ClipTransform("validate")
    with pytest.raises(ValueError, match="on_bad_video"):
        ClipTransform(on_bad_video="ignore")
    with pytest.raises(ValueError, match="eval"):
        ClipTransform("eval", augmentation=ClipAugmentation(16))
    with pytest.raises(ValueError, match="backend"):
        ClipTransform(backend="cv2")


def test_bad_video_raises_by_default_naming_the_file(tmp_path):
    (tmp_path / "broken.mp4").write_text("not a video")
    dataset = _level_manifest(tmp_path, [10], bad=["broken.mp4"])
    decoded = dataset.with_transform(ClipTransform("train", num_frames=4, image_size=16))
    with pytest.raises(VideoDecodeError, match="broken.mp4"):
        decoded[1]


def test_skipped_videos_are_dropped_counted_and_workers_survive(tmp_path):
    data = level_video(tmp_path / "truncated_source.mp4", num_frames=10).read_bytes()
    (tmp_path / "truncated.mp4").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.mp4").write_text("not a video")
    dataset = _level_manifest(tmp_path, [10, 12, 14], bad=["truncated.mp4", "text.mp4", "missing.mp4"])
    decoded = dataset.with_transform(
        ClipTransform("train", num_frames=4, image_size=16, on_bad_video="skip")
    )
    assert decoded[3]["pixel_values"] is None and decoded[3]["bad_video"].endswith("truncated.mp4")
    loader = DataLoader(decoded, batch_size=3, num_workers=1, collate_fn=collate_clips)
    log = BadVideoLog()
    batches = list(log.watch(loader))
    assert [b["pixel_values"].shape[0] for b in batches] == [3, 0]
    assert batches[0]["pixel_values"].shape == (3, 4, 3, 16, 16)
    assert batches[0]["labels"].tolist() == [0, 1, 0]
    assert batches[1]["video_id"] == [] and batches[1]["privacy_labels"].shape == (0, 5)
    assert log.count == 3
    assert [os.path.basename(p) for p in log.paths] == ["truncated.mp4", "text.mp4", "missing.mp4"]


def test_streaming_dataset_decodes_lazily(tmp_path):
    level_videos = [level_video(tmp_path / f"s{i}.mp4", num_frames=12) for i in range(4)]
    (tmp_path / "m.csv").write_text(
        "path,action\n" + "".join(f"{p.name},a{i % 2}\n" for i, p in enumerate(level_videos))
    )
    streamed = load_manifest(tmp_path / "m.csv", streaming=True, num_shards=2)
    assert isinstance(streamed, IterableDataset)
    assert privacy_attribute_names(streamed) == PRIVACY_ATTRIBUTES
    assert dataset_metadata(streamed)["dataset"] == "manifest"  # the metadata survives streaming
    decoded = apply_clip_transform(
        streamed, ClipTransform("eval", num_frames=2, image_size=16, num_clips=1)
    )
    batches = list(DataLoader(decoded, batch_size=2, collate_fn=collate_clips))
    assert [b["pixel_values"].shape for b in batches] == [(2, 1, 2, 3, 16, 16)] * 2
    assert sorted(v for b in batches for v in b["video_id"]) == ["s0", "s1", "s2", "s3"]


def _smooth_video(path, num_frames=40, height=120, width=160):
    """Smooth moving gradients whose brightness also changes with the frame index (a wrong window shows)."""
    from transformers_vidanon.video import write_video

    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    frames = np.stack(
        [
            np.stack(
                [
                    60 + 3 * t + 50 * np.sin(xx / 19 + t / 6),
                    128 + 60 * np.cos(yy / 15 - t / 8),
                    40 + 120 * (xx + yy) / (height + width) + 2 * t,
                ],
                axis=-1,
            )
            for t in range(num_frames)
        ]
    )
    return str(write_video(path, np.clip(frames, 0, 255).astype(np.uint8), fps=25))


@pytest.mark.parametrize("backend", ["pyav", "decord"])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_decode_at_size_matches_the_full_size_clip(tmp_path, backend, mode):
    from transformers_vidanon.video import decord_available

    if backend == "decord" and not decord_available():
        pytest.skip("decord is not installed")
    path = _smooth_video(tmp_path / "smooth.mp4")
    common = {"num_frames": 8, "frame_stride": 2, "num_clips": 2, "backend": backend}
    for image_size in (32, 48, 64):
        full = ClipTransform(mode, image_size=image_size, **common)
        at_size = ClipTransform(mode, image_size=image_size, decode_at_size=True, **common)
        for seed in range(4):
            expected, got = full.load(path, seed=seed), at_size.load(path, seed=seed)
            assert got.shape == expected.shape
            difference = (got - expected).abs()
            # the same window, crop, flip, jitter and erasing; only the resampling filter differs
            assert difference.mean() < 0.03, (image_size, seed, difference.mean())
            assert difference.max() < 0.25, (image_size, seed, difference.max())


def test_decode_at_size_keeps_training_randomness_and_passes_images_through(tmp_path):
    path = _smooth_video(tmp_path / "smooth.mp4")
    transform = ClipTransform("train", num_frames=8, image_size=32, decode_at_size=True)
    torch.testing.assert_close(transform.load(path, seed=3), transform.load(path, seed=3))
    assert not torch.equal(transform.load(path, seed=3), transform.load(path, seed=4))
    assert pickle.loads(pickle.dumps(transform)).decode_at_size is True
    # a source smaller than the crop is not scaled up: the result is the full-size path's
    small = ClipTransform("train", num_frames=8, image_size=200, augmentation=None)
    small_at_size = ClipTransform("train", num_frames=8, image_size=200, augmentation=None, decode_at_size=True)
    torch.testing.assert_close(small.load(path, seed=1), small_at_size.load(path, seed=1))
    images, _ = make_vispr(tmp_path)
    image = min(images.rglob("*.png"))
    torch.testing.assert_close(
        ClipTransform("eval", num_frames=2, image_size=16, num_clips=1, decode_at_size=True).load(str(image)),
        ClipTransform("eval", num_frames=2, image_size=16, num_clips=1).load(str(image)),
    )


def test_decode_size_is_validated_and_unsupported_decord_widths_are_refused_or_avoided(tmp_path):
    from transformers_vidanon.video import VideoDecodeError, VideoFile, decord_available

    path = _smooth_video(tmp_path / "smooth.mp4", num_frames=12)
    with pytest.raises(TypeError, match="decode_at_size"):
        ClipTransform("train", decode_at_size="yes")
    for size in ((0, 10), (10,), (10.5, 10), "64"):
        with pytest.raises(ValueError, match="decode `size`"):
            VideoFile(path, backend="pyav", size=size)
    with pytest.raises(ValueError, match="max_pixels"):
        VideoFile(path, backend="pyav", size=(100, 100), max_pixels=99 * 99)
    with VideoFile(path, backend="pyav", size=lambda info: (info.height // 2, info.width // 2)) as video:
        assert video.size == (60, 80) and (video.info.height, video.info.width) == (120, 160)
        assert video.get_frames([0, 5]).shape == (2, 60, 80, 3)
    if not decord_available():
        return
    with (
        VideoFile(path, backend="decord", size=(36, 48)) as video,
        pytest.raises(VideoDecodeError, match="cannot produce some frame widths.*backend='auto'"),
    ):
        video.get_frames([1])
    with VideoFile(path, backend="auto", size=(36, 48)) as video:  # read with PyAV instead
        np.testing.assert_array_equal(
            video.get_frames([1, 7]), VideoFile(path, backend="pyav", size=(36, 48)).get_frames([1, 7])
        )
    with VideoFile(path, backend="decord", size=(45, 60)) as decoded:
        with_decord = decoded.get_frames([2, 9]).astype(int)
    with_pyav = VideoFile(path, backend="pyav", size=(45, 60)).get_frames([2, 9]).astype(int)
    assert with_decord.shape == with_pyav.shape == (2, 45, 60, 3)
    assert np.abs(with_decord - with_pyav).mean() < 2.0


# ---------------------------------------------------------------------------------------------------------------
# Every named dataset, evaluated from the command line on its layout
# ---------------------------------------------------------------------------------------------------------------


EVALUATED_DATASETS = ("synth", "manifest", "videofolder", "ucf101", "hmdb51", "vp_ucf101", "vp_hmdb51", "pa_hmdb51",
                      "ucf101_vispr")


def _evaluation_case(dataset, trees, tiny_synth, folder):
    """`(flags, test rows)` of `vidanon evaluate` on a dataset's layout: the flags that describe it (the names of
    its training config's fields) and its test videos as `(action label, privacy labels)`, or `None` for a dataset
    without privacy labels (which the protocol refuses)."""
    (ucf_root, ucf_splits), (hmdb_root, hmdb_splits) = trees["ucf"], trees["hmdb"]
    ucf_test = [(UCF_CLASSES.index(c), _shipped("vp_ucf101", f"{c}/{s}.mp4")) for c, s, split in UCF_VIDEOS
                if split == "test"]
    if dataset == "synth":
        rows = [json.loads(line) for line in (tiny_synth / "manifest.jsonl").read_text().splitlines()]
        test = [(row["label"], [row[name] for name in PRIVACY_ATTRIBUTES]) for row in rows if row["split"] == "test"]
        return ["--dataset", "synth", "--data", str(tiny_synth), "--synth-world", "1"], test
    if dataset == "manifest":
        lines = []
        for i, (cls, stem, split) in enumerate(UCF_VIDEOS):
            suffix = ".mp4" if cls == "Basketball" else ".avi"
            privacy = {name: (i + j) % 2 for j, name in enumerate(PRIVACY_ATTRIBUTES)}
            lines.append({"path": str(ucf_root / cls / f"{stem}{suffix}"), "action": cls, "split": split, **privacy})
        manifest = folder / "manifest.csv"
        manifest.write_text(",".join(lines[0]) + "\n" + "".join(",".join(map(str, r.values())) + "\n" for r in lines))
        test = [(UCF_CLASSES.index(r["action"]), [r[name] for name in PRIVACY_ATTRIBUTES]) for r in lines
                if r["split"] == "test"]
        return ["--dataset", "manifest", "--data", str(folder), "--manifest", str(manifest)], test
    if dataset == "videofolder":
        for index, (split, cls) in enumerate([("train", "wave"), ("train", "jump"), ("test", "wave"), ("test", "jump")]):
            level_video(folder / "videos" / split / cls / f"v{index}.mp4", num_frames=8 + index)
        return ["--dataset", "videofolder", "--data", str(folder / "videos")], None
    ucf = ["--data", str(ucf_root), "--split-dir", str(ucf_splits)]
    hmdb = ["--data", str(hmdb_root), "--split-dir", str(hmdb_splits)]
    hmdb_test = [v for v in HMDB_VIDEOS if v[2] == "2"]  # split 1's test videos
    cases = {
        "ucf101": (ucf, None),
        "hmdb51": (hmdb, None),
        "vp_ucf101": (ucf, ucf_test),
        "vp_hmdb51": (hmdb, [(["brush_hair", "cartwheel"].index(c), _shipped("vp_hmdb51", f"{c}/{s}.mp4"))
                             for c, s, _, _ in hmdb_test]),
        "pa_hmdb51": ([*hmdb, "--pa-annotations", str(trees["pa"])], [(0, [1, 1, 0, 0, 0]), (1, [0, 0, 1, 1, 1])]),
        # VISPR's images train the anonymizer only: it is measured on VP-UCF101
        "ucf101_vispr": ([*ucf, "--vispr-dir", str(trees["vispr"][0]), "--vispr-annotation-dir",
                          str(trees["vispr"][1])], ucf_test),
    }
    flags, test = cases[dataset]
    return ["--dataset", dataset, *flags], test


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    from transformers_vidanon import VidAnonConfig, VidAnonForPrivacyPreservingActionRecognition

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny_checkpoint")
    VidAnonForPrivacyPreservingActionRecognition(VidAnonConfig(
        image_size=16, patch_size=4, num_frames=4, hidden_size=32, num_hidden_layers=1, num_attention_heads=4,
        intermediate_size=37, pruning_layers=[0], keep_rate=0.5)).save_pretrained(folder)
    return folder


def test_every_named_dataset_has_a_case():
    from transformers_vidanon.data import DATASETS
    from transformers_vidanon.data.builders import DATASET_BUILDERS

    assert tuple(DATASET_BUILDERS) == DATASETS == tuple(EVALUATED_DATASETS)


@pytest.mark.parametrize("dataset", EVALUATED_DATASETS)
def test_every_named_dataset_is_evaluated_from_the_command_line(dataset, trees, tiny_synth, tiny_checkpoint,
                                                                tmp_path, caplog):
    from transformers_vidanon.cli import main

    flags, test = _evaluation_case(dataset, trees, tiny_synth, tmp_path)
    output = tmp_path / "eval"
    status = main(["evaluate", "--method", str(tiny_checkpoint), *flags, "--output", str(output), "--seeds", "0",
                   "--attackers", "frame", "--num-frames", "4", "--frame-stride", "1", "--image-size", "16",
                   "--epochs-scale", "0.025", "--no-progress"])
    if test is None:  # no privacy labels: one line naming the dataset and the labelled ones, nothing decoded
        assert status == 2 and not output.exists()
        assert f"dataset {dataset!r}: " in caplog.text and "have no privacy labels" in caplog.text
        assert "vp_ucf101, vp_hmdb51, pa_hmdb51" in caplog.text
        return
    assert status == 0, caplog.text[-3000:]
    saved = json.loads((output / "results.json").read_text())
    assert saved["split"] == "test"
    assert [method["name"] for method in saved["methods"]] == ["Raw", f"VidAnon ({tiny_checkpoint})"]
    # the chance levels are the test videos' of the layout: its classes and its privacy labels
    labels = [label for label, _ in test]
    assert saved["chance"]["action_top1"] == pytest.approx(max(map(labels.count, labels)) / len(labels))
    prevalence = np.asarray([privacy for _, privacy in test], dtype=np.float64).mean(axis=0)
    assert saved["chance"]["per_attribute"] == pytest.approx(
        {name: p for name, p in zip(PRIVACY_ATTRIBUTES, prevalence) if p > 0})
    for method in saved["methods"]:  # one seed: a share of the test videos
        (top1,) = method["action_top1"]
        assert round(top1 * len(labels), 6) in range(len(labels) + 1)


def test_evaluate_refuses_a_synth_folder_of_another_world_than_synth_world(tiny_synth, tmp_path, caplog):
    from transformers_vidanon.cli import main

    output = tmp_path / "eval"
    assert main(["evaluate", "--method", "down4", "--dataset", "synth", "--data", str(tiny_synth), "--synth-world", "2",
                 "--output", str(output), "--seeds", "0", "--no-progress"]) == 2
    assert "holds SynthPrivacy world 1, not the `world` 2" in caplog.text and not output.exists()
