"""Anonymization past one process: `vidanon anonymize` under a real two-process `accelerate launch` (every file
written once, none twice, the summary on the main process), reruns that skip finished files, and the `datasets`
route (`Dataset.map`, batched, two worker processes)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from transformers_vidanon import VidAnonConfig, VidAnonForPrivacyPreservingActionRecognition
from transformers_vidanon.inference.anonymize import anonymize_video
from transformers_vidanon.inference.sharding import (
    SUMMARY_NAME,
    anonymize_dataset,
    anonymize_folder_sharded,
    shard,
)
from transformers_vidanon.video import read_clip, write_video

torch.set_num_threads(1)
NUM_VIDEOS = 5


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("archive")
    torch.manual_seed(0)
    VidAnonForPrivacyPreservingActionRecognition(VidAnonConfig(
        image_size=16, patch_size=4, num_frames=4, hidden_size=32, num_hidden_layers=1, num_attention_heads=4,
        intermediate_size=37, pruning_layers=[0], keep_rate=0.5)).save_pretrained(root / "model")
    rng = np.random.default_rng(0)
    for i in range(NUM_VIDEOS):
        write_video(root / "in" / ("sub" if i % 2 else "") / f"v{i}.mp4",
                    rng.integers(0, 256, (6, 16, 16, 3), dtype=np.uint8), fps=4)
    return {"root": root, "model": root / "model", "input": root / "in"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_shards_are_disjoint_and_cover_the_list():
    items = list(range(11))
    parts = [shard(items, index, 3) for index in range(3)]
    assert sorted(item for part in parts for item in part) == items and [len(p) for p in parts] == [4, 4, 3]
    with pytest.raises(ValueError, match="outside"):
        shard(items, 3, 3)


def test_two_process_launch_writes_every_file_once(archive):
    output = archive["root"] / "out"
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(free_port()),
        "-m", "transformers_vidanon.cli", "anonymize", str(archive["input"]), "--model", str(archive["model"]),
        "--output", str(output),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-4000:]
    log = result.stdout + result.stderr
    assert "Process 0 of 2: 3 of the 5 videos" in log and "Process 1 of 2: 2 of the 5 videos" in log

    written = re.findall(r"Anonymized (\S+) -> (\S+):", log)  # one line per file written, from both processes
    inputs = sorted(str(p) for p in archive["input"].rglob("*.mp4"))
    assert sorted(source for source, _ in written) == inputs  # every file once, none twice
    summary = json.loads((output / SUMMARY_NAME).read_text())
    assert summary["num_processes"] == 2 and (summary["written"], summary["skipped"], summary["failed"]) == (5, 0, 0)
    assert [row["input"] for row in summary["videos"]] == inputs
    assert {row["process"] for row in summary["videos"]} == {0, 1}
    for row in summary["videos"]:
        frames = read_clip(row["output"], np.arange(6))
        assert frames.shape == (6, 16, 16, 3)
        assert Path(row["output"]).relative_to(output).with_suffix("") == \
            Path(row["input"]).relative_to(archive["input"]).with_suffix("")

    # a rerun of one process's shard skips its finished files; with overwrite it writes them again
    from transformers_vidanon.inference.anonymize import load_anonymizer

    model, processor = load_anonymizer(archive["model"])
    again = anonymize_folder_sharded(model, processor, archive["input"], output, process_index=1, num_processes=2)
    assert not again.reports and len(again.skipped) == 2 and set(again.owners.values()) == {1}
    redo = anonymize_folder_sharded(model, processor, archive["input"], output, process_index=1, num_processes=2,
                                    overwrite=True)
    assert [r.input_path for r in redo.reports] == sorted(archive["input"].rglob("*.mp4"))[1::2]


def test_datasets_route_maps_a_video_column(archive, tmp_path):
    from datasets import Dataset

    paths = sorted(str(p) for p in archive["input"].rglob("*.mp4"))
    dataset = Dataset.from_dict({"video": paths, "label": list(range(NUM_VIDEOS))})
    out = anonymize_dataset(dataset, archive["model"], tmp_path / "anonymized", batch_size=2, num_proc=2)
    assert out.column_names == ["video", "label", "anonymized_video", "anonymized_video_kept_fraction"]
    assert out["label"] == list(range(NUM_VIDEOS))
    names = [Path(p).name for p in out["anonymized_video"]]
    assert names == [f"{i:08d}-{Path(p).stem}.mp4" for i, p in enumerate(paths)]
    assert all(0.0 < fraction <= 1.0 for fraction in out["anonymized_video_kept_fraction"])

    # the same anonymization as the file done directly (the same mask; x264 may round two encodes differently)
    from transformers_vidanon.inference.anonymize import load_anonymizer

    model, processor = load_anonymizer(archive["model"])
    direct = anonymize_video(model, processor, paths[3], tmp_path / "direct.mp4")
    assert direct.kept_fraction == out["anonymized_video_kept_fraction"][3]
    mapped = read_clip(out["anonymized_video"][3], np.arange(6)).astype(int)
    assert np.abs(mapped - read_clip(tmp_path / "direct.mp4", np.arange(6)).astype(int)).mean() < 2.0

    # a rerun skips the outputs that exist; Video(decode=False)-style dicts are read too
    rows = Dataset.from_dict({"video": [{"path": p, "bytes": None} for p in paths]})
    rerun = anonymize_dataset(rows, archive["model"], tmp_path / "anonymized", batch_size=5)
    assert rerun["anonymized_video_kept_fraction"] == [None] * NUM_VIDEOS
    assert rerun["anonymized_video"] == out["anonymized_video"]
