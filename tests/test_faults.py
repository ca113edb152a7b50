"""Fault injection: each test builds one fault a careless or hostile user could make, runs the real API or command,
and checks the outcome (an error naming the file, column, flag or tensor; nothing written or lost; the run
resumes). The cases are those of the reliability review (issue 11)."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from _trainer_fixtures import ListDataset, examples, tiny_model, training_args
from _video_fixtures import level_video

from transformers_vidanon.data import SplitOverlapError, load_manifest, load_videofolder
from transformers_vidanon.data.builders import build_training_data
from transformers_vidanon.data.labels import PRIVACY_ATTRIBUTES, LabelFileError
from transformers_vidanon.training.arguments import (
    DataArguments,
    load_yaml_config,
    parse_arguments,
)
from transformers_vidanon.training.checkpoints import checkpoint_problem, list_checkpoints
from transformers_vidanon.training.trainer import AdversarialTrainer

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
TRAIN_SCRIPT = REPO / "training" / "train.py"
CONFIG = REPO / "training" / "configs" / "synthetic.yaml"


# ---------------------------------------------------------------------------------------------------------------
# Data that would silently switch the privacy objective off or drop a split
# ---------------------------------------------------------------------------------------------------------------


def _videos(folder: Path, count: int) -> list[Path]:
    # distinct frame counts: distinct bytes
    return [level_video(folder / f"v{i}.mp4", num_frames=4 + i, height=16, width=16) for i in range(count)]


def _write_manifest(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _rows(videos: list[Path], splits: list[str], privacy: bool = True, upper: bool = False) -> list[dict]:
    rows = []
    for i, (video, split) in enumerate(zip(videos, splits)):
        row = {"path": str(video), "action": "wave" if i % 2 else "jump", "split": split}
        if privacy:
            row.update({(name.upper() if upper else name): i % 2 for name in PRIVACY_ATTRIBUTES})
        rows.append(row)
    return rows


def test_misspelt_privacy_columns_are_refused_naming_the_columns(tmp_path):
    videos = _videos(tmp_path / "videos", 2)
    manifest = _write_manifest(tmp_path / "m.jsonl", _rows(videos, ["train", "train"], upper=True))
    with pytest.raises(LabelFileError) as error:
        load_manifest(manifest)
    message = str(error.value)
    assert "m.jsonl" in message and "'FACE'" in message and "'SKIN_COLOR'" in message
    assert all(repr(name) in message for name in PRIVACY_ATTRIBUTES)  # the expected names are listed


def test_an_objective_that_needs_privacy_labels_refuses_data_without_them(tmp_path):
    videos = _videos(tmp_path / "videos", 2)
    manifest = _write_manifest(tmp_path / "m.jsonl", _rows(videos, ["train", "train"], privacy=False))
    data_args = DataArguments(dataset="manifest", manifest=str(manifest))
    assert len(build_training_data(data_args, 16, 4).train) == 2  # fine where privacy labels are not needed
    with pytest.raises(ValueError, match="no privacy labels.*skin_color"):
        build_training_data(data_args, 16, 4, require_privacy_labels=True)


@pytest.mark.parametrize("alias", ["validation", "valid", "dev", "eval", "VAL"])
def test_validation_split_aliases_are_read_as_val(tmp_path, alias):
    videos = _videos(tmp_path / "videos", 4)
    manifest = _write_manifest(tmp_path / "m.jsonl", _rows(videos, ["train", "train", alias, alias]))
    assert set(load_manifest(manifest)) == {"train", "val"}
    data = build_training_data(DataArguments(dataset="manifest", manifest=str(manifest)), 16, 4)
    assert data.eval is not None and len(data.eval) == 2 and len(data.train) == 2


def test_unknown_split_names_are_refused_naming_them(tmp_path):
    videos = _videos(tmp_path / "videos", 3)
    manifest = _write_manifest(tmp_path / "m.jsonl", _rows(videos, ["train", "train", "holdout"]))
    with pytest.raises(ValueError, match=r"\['holdout', 'train'\].*Rename \['holdout'\]"):
        build_training_data(DataArguments(dataset="manifest", manifest=str(manifest)), 16, 4)
    only_val = _write_manifest(tmp_path / "v.jsonl", _rows(videos[:1], ["dev"]))
    with pytest.raises(ValueError, match="only the split 'val'"):
        build_training_data(DataArguments(dataset="manifest", manifest=str(only_val)), 16, 4)


def test_video_folder_split_aliases(tmp_path):
    level_video(tmp_path / "train" / "wave" / "a.mp4", num_frames=4)
    level_video(tmp_path / "validation" / "wave" / "b.mp4", num_frames=5)
    assert set(load_videofolder(tmp_path)) == {"train", "val"}
    level_video(tmp_path / "dev" / "wave" / "c.mp4", num_frames=6)
    with pytest.raises(ValueError, match="two folders for split 'val'"):
        load_videofolder(tmp_path)


def test_a_byte_identical_copy_in_another_split_is_refused(tmp_path):
    videos = _videos(tmp_path / "videos", 3)
    copy = tmp_path / "videos" / "renamed_copy.mp4"
    shutil.copyfile(videos[0], copy)
    rows = _rows([*videos, copy], ["train", "train", "test", "test"])
    with pytest.raises(SplitOverlapError) as error:
        load_manifest(_write_manifest(tmp_path / "m.jsonl", rows))
    assert f"{copy} == {videos[0]}" in str(error.value)  # splits in name order: 'test' then 'train'
    assert "'test' and 'train' share 1 videos" in str(error.value)
    # same size, other bytes: not a copy
    other = bytearray(videos[0].read_bytes())
    other[-1] ^= 0xFF
    copy.write_bytes(bytes(other))
    assert set(load_manifest(_write_manifest(tmp_path / "m.jsonl", rows))) == {"train", "test"}


# ---------------------------------------------------------------------------------------------------------------
# Batches that would train on garbage
# ---------------------------------------------------------------------------------------------------------------


def _corrupt(items: list[dict], fault: str) -> None:
    if fault == "uint8":
        for item in items:
            item["pixel_values"] = (item["pixel_values"] * 255).to(torch.uint8)
    elif fault == "0-255 floats":
        for item in items:
            item["pixel_values"] = item["pixel_values"] * 255
    elif fault == "nan":
        items[5]["pixel_values"][1, 2, 3, 4] = float("nan")
    elif fault == "privacy 2.0":
        items[6]["privacy_labels"][3] = 2.0
    elif fault == "action label":
        items[2]["labels"] = 7


@pytest.mark.parametrize(
    "fault, message",
    [
        ("uint8", r"`pixel_values` has dtype torch.uint8"),
        ("0-255 floats", r"`pixel_values` ranges over \[.*, 25\d.*expected \[0, 1\]"),
        ("nan", r"`pixel_values` holds NaN or infinite values \(videos \['v5'\]\)"),
        ("privacy 2.0", r"`privacy_labels` holds \[2.0\] \(videos \['v6'\]\)"),
        ("action label", r"`labels` holds \[7\] \(videos \['v2'\]\).*0\.\.1"),
    ],
)
def test_a_garbage_batch_is_refused_naming_the_tensor_and_nothing_is_trained(tmp_path, fault, message):
    items = examples()
    _corrupt(items, fault)
    model = tiny_model()
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    args = training_args(tmp_path / "run", per_device_train_batch_size=8, checkpointing_steps=1)  # one batch
    trainer = AdversarialTrainer(model, args, ListDataset(items))
    with pytest.raises(ValueError, match=message):
        trainer.train()
    assert all(torch.equal(p, before[name]) for name, p in model.named_parameters())
    assert not (tmp_path / "run" / "checkpoints").exists()


# ---------------------------------------------------------------------------------------------------------------
# Resuming: changed arguments, incomplete checkpoints
# ---------------------------------------------------------------------------------------------------------------


def _train(output_dir: Path, **overrides):
    args = training_args(output_dir, checkpointing_steps=1, **overrides)
    trainer = AdversarialTrainer(tiny_model(), args, ListDataset(examples()))
    return trainer, trainer.train()


def test_resuming_with_changed_arguments_is_refused_with_the_differences(tmp_path):
    out = tmp_path / "run"
    _train(out, max_steps=2)
    with pytest.raises(ValueError) as error:
        _train(out, max_steps=4, learning_rate=0.5, weight_decay=0.0, resume_from_checkpoint="latest")
    message = str(error.value)
    assert "learning_rate: 0.001 in the checkpoint, 0.5 now (can change with --allow_changed_arguments learning_rate)" \
        in message
    assert "weight_decay" in message and "max_steps" in message and "step_00000002" in message
    # a change that no flag allows
    args = training_args(out, per_device_train_batch_size=4, checkpointing_steps=1, max_steps=4,
                 resume_from_checkpoint="latest", allow_changed_arguments=["max_steps"])
    with pytest.raises(ValueError, match=r"per_device_train_batch_size: 2 in the checkpoint, 4 now \(cannot change"):
        AdversarialTrainer(tiny_model(), args, ListDataset(examples())).train()
    assert [p.name for p in list_checkpoints(out)] == ["step_00000001", "step_00000002"]  # nothing written or lost


def test_allowed_changes_are_used_and_recorded(tmp_path):
    out = tmp_path / "run"
    _train(out, max_steps=2)
    trainer, result = _train(out, max_steps=4, learning_rate=0.5, resume_from_checkpoint="latest",
                             allow_changed_arguments=["learning_rate", "max_steps"])
    assert result.global_step == 4
    # the optimiser ran on the new rate: base 0.5 under the schedule, not the checkpoint's 0.001
    assert trainer.scheduler.base_lrs == [0.5, 0.5]
    assert all(group["initial_lr"] == 0.5 for group in trainer.optimizer.param_groups)
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    rates = {r["step"]: r["learning_rate"] for r in records if "learning_rate" in r}
    assert rates[2] < 0.01 and rates[3] > 0.1
    saved = json.loads((list_checkpoints(out)[-1] / "run_config.json").read_text())
    assert saved["learning_rate"] == 0.5
    assert {c["argument"]: (c["checkpoint"], c["now"]) for c in saved["changed_on_resume"]} == {
        "learning_rate": (0.001, 0.5), "max_steps": (2, 4)}
    # the recorded values now match: resuming again with them needs no flag
    _, again = _train(out, max_steps=4, learning_rate=0.5, resume_from_checkpoint="latest")
    assert again.global_step == 4


def test_only_changeable_arguments_can_be_allowed():
    with pytest.raises(ValueError, match=r"allow_changed_arguments.*\['keep_rate'\]"):
        parse_arguments(["--allow_changed_arguments", "learning_rate", "keep_rate"])


def test_latest_skips_incomplete_checkpoints_and_names_them(tmp_path, caplog):
    out = tmp_path / "run"
    _train(out, max_steps=2)
    folder = out / "checkpoints"
    complete = folder / "step_00000002"
    assert checkpoint_problem(complete) is None and (complete / "checkpoint.json").is_file()
    # a save killed midway under the old scheme: a truncated copy, and an empty folder, both newer
    truncated = folder / "step_00000008"
    shutil.copytree(complete, truncated)
    weights = truncated / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    (folder / "step_00000009").mkdir()
    (folder / ".step_00000010.tmp").mkdir()  # what a kill during an atomic save leaves
    assert [p.name for p in list_checkpoints(out)] == ["step_00000001", "step_00000002"]
    with caplog.at_level(logging.INFO):
        _, result = _train(out, max_steps=3, resume_from_checkpoint="latest", allow_changed_arguments=["max_steps"])
    assert result.global_step == 3
    text = caplog.text
    assert f"skipping the incomplete checkpoint {folder / 'step_00000009'}: no checkpoint.json" in text
    assert f"skipping the incomplete checkpoint {truncated}: model.safetensors has 100 bytes" in text
    assert f"resumed from {complete} at step 2" in text
    assert not (folder / ".step_00000010.tmp").exists()  # cleaned by the next save
    with pytest.raises(ValueError, match=r"step_00000008.*model.safetensors has 100 bytes"):
        _train(out, max_steps=3, resume_from_checkpoint=str(truncated))


def test_checkpoints_saved_before_the_file_manifest_still_resume(tmp_path):
    out = tmp_path / "run"
    _train(out, max_steps=2)
    first, second = list_checkpoints(out)
    (second / "checkpoint.json").unlink()  # as saved by an earlier version: run_config.json was written last
    (first / "checkpoint.json").unlink()
    (first / "run_config.json").unlink()  # an earlier version's save that was killed
    assert checkpoint_problem(second) is None and "no checkpoint.json" in checkpoint_problem(first)
    _, result = _train(out, max_steps=3, resume_from_checkpoint="latest", allow_changed_arguments=["max_steps"])
    assert result.global_step == 3


# ---------------------------------------------------------------------------------------------------------------
# YAML configs
# ---------------------------------------------------------------------------------------------------------------


def test_yaml_scalars_where_lists_are_allowed_and_errors_name_the_key(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("model:\n  keep_rate: 0.5\n  pruning_layers: 1\ntraining:\n  learning_rate: 3e-4\n"
                      "  report_to: jsonl\n")
    model_args, _, training_args = parse_arguments(["--config", str(config)])
    assert model_args.keep_rate == [0.5] and model_args.pruning_layers == [1]
    assert training_args.learning_rate == 3e-4 and training_args.report_to == ["jsonl"]
    assert model_args.config_overrides()["keep_rate"] == 0.5
    for text, message in [
        ("learning_rate: fast\n", r"`learning_rate` must be a number"),
        ("pruning_layers: [1, two]\n", r"`pruning_layers\[1\]` must be a number \(int\)"),
        ("num_train_epochs: 2.5\n", r"`num_train_epochs` must be an integer"),
        ("augment: maybe\n", r"`augment` must be true or false"),
        ("keep_rate: {a: 1}\n", r"`keep_rate` must be one float"),
        ("keep_rate: [0.5\n", r"is not valid YAML"),
    ]:
        config.write_text(text)
        with pytest.raises(ValueError, match=message) as error:
            load_yaml_config(config)
        assert "c.yaml" in str(error.value)


def test_a_user_error_in_train_py_is_one_line_and_status_2(tmp_path, caplog):
    import importlib.util

    spec = importlib.util.spec_from_file_location("train_script", TRAIN_SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    config = tmp_path / "bad.yaml"
    config.write_text("training:\n  learning_rate: fast\n")
    with caplog.at_level(logging.INFO):
        assert script.main(["--config", str(config)]) == 2  # returned: no traceback
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [f"ValueError: {str(config)!r}: `learning_rate` must be a number (float), got 'fast'."]


# ---------------------------------------------------------------------------------------------------------------
# Signals through `accelerate launch`
# ---------------------------------------------------------------------------------------------------------------


def test_sigterm_to_accelerate_launch_reaches_training_which_saves_and_exits_non_zero(tiny_synth, tmp_path):
    out = tmp_path / "run"
    args = [
        "--config", str(CONFIG), "--data_dir", str(tiny_synth), "--output_dir", str(out), "--image_size", "32",
        "--patch_size", "8", "--num_frames", "8", "--hidden_size", "32", "--num_hidden_layers", "2",
        "--num_attention_heads", "4", "--intermediate_size", "64", "--pruning_layers", "0", "--keep_rate", "0.5",
        "--per_device_train_batch_size", "4", "--logging_steps", "1", "--disable_tqdm", "true",
        "--num_train_epochs", "50", "--checkpointing_steps", "2", "--augment", "false", "--eval_every_epochs", "0",
    ]
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "1", "--num_machines", "1",
                "--mixed_precision", "no", "--dynamo_backend", "no"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([*launcher, str(TRAIN_SCRIPT), *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while not list_checkpoints(out) and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, process.communicate()[1][-3000:]
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    assert len(children) == 1
    process.send_signal(signal.SIGTERM)
    # the training process inherited the launcher's pipes: they close when it has exited
    _, stderr = process.communicate(timeout=240)
    assert process.returncode != 0
    assert "received signal 15" in stderr and "stopped by signal 15" in stderr, stderr[-3000:]
    assert "resume with --resume_from_checkpoint latest" in stderr and "exit status 143" in stderr
    assert not (out / "model").exists()
    checkpoint = list_checkpoints(out)[-1]
    steps = int(checkpoint.name.split("_")[1])
    assert steps < 50 * 3 and checkpoint_problem(checkpoint) is None
    assert not list((out / "checkpoints").glob(".*.tmp"))
    # the run resumes (one more step, allowed explicitly; in this process: what train.py calls) and saves its model,
    # recording the change
    from transformers_vidanon.training.trainer import train_from_arguments

    resumed = train_from_arguments(*parse_arguments([*args, "--resume_from_checkpoint", "latest", "--max_steps",
                                                     str(steps + 1), "--allow_changed_arguments", "max_steps"]))
    assert resumed.global_step == steps + 1 and not resumed.stopped_by_signal
    recorded = json.loads((out / "model" / "training_args.json").read_text())
    assert recorded["max_steps"] == steps + 1
    assert recorded["changed_on_resume"] == [{"step": steps, "argument": "max_steps", "checkpoint": None,
                                              "now": steps + 1}]


# ---------------------------------------------------------------------------------------------------------------
# `vidanon anonymize`: one-line errors naming the flag or file
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory) -> Path:
    from transformers_vidanon.processing_vidanon import VidAnonImageProcessor

    folder = tmp_path_factory.mktemp("model") / "model"
    model = tiny_model()
    model.save_pretrained(folder)
    VidAnonImageProcessor.from_model_config(model.config).save_pretrained(folder)
    return folder


def _anonymize(caplog, *argv: str) -> tuple[int, str]:
    from transformers_vidanon.cli import main

    caplog.clear()
    with caplog.at_level(logging.INFO):
        status = main(["anonymize", *argv])
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    return status, "\n".join(errors) or caplog.text


def _broken_copy(saved_model: Path, folder: Path, fault: str) -> Path:
    shutil.copytree(saved_model, folder)
    if fault == "truncated weights":
        weights = folder / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    elif fault == "corrupt weights":
        (folder / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{garbage")
    elif fault == "config shape":
        config = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps({**config, "hidden_size": 64, "intermediate_size": 70}))
    return folder


@pytest.mark.parametrize(
    "fault, message",
    [
        ("truncated weights", r"--model .*the weights file '.*model.safetensors' is corrupt or truncated"),
        ("corrupt weights", r"--model .*the weights file '.*model.safetensors' is corrupt or truncated"),
        ("config shape", r"--model .*do not fit its config.json"),
    ],
)
def test_a_broken_model_folder_is_a_one_line_error(saved_model, tmp_path, caplog, fault, message):
    video = level_video(tmp_path / "in.mp4", num_frames=8)
    model = _broken_copy(saved_model, tmp_path / "broken", fault)
    status, errors = _anonymize(caplog, str(video), "--model", str(model), "--output", str(tmp_path / "out.mp4"))
    assert status == 2 and len(errors.splitlines()) == 1
    assert re.search(message, errors), errors
    assert not (tmp_path / "out.mp4").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_an_unavailable_device_is_a_one_line_error(saved_model, tmp_path, caplog):
    video = level_video(tmp_path / "in.mp4", num_frames=8)
    status, errors = _anonymize(caplog, str(video), "--model", str(saved_model), "--output", str(tmp_path / "o.mp4"),
                                "--device", "cuda")
    assert status == 2 and errors == "--device cuda: device 'cuda': CUDA is not available on this machine; use 'cpu'."


@pytest.mark.parametrize("name", ["./modle", "outputs/run1/model", "models/", "{tmp}/modle"])
def test_a_mistyped_local_model_path_fails_at_once_without_asking_the_hub(tmp_path, caplog, monkeypatch, name):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    video = level_video(tmp_path / "in.mp4", num_frames=8)
    name = name.format(tmp=tmp_path)
    # refused as a path, before any Hub request (the message says which branch was taken; no timing)
    status, errors = _anonymize(caplog, str(video), "--model", name, "--output", str(tmp_path / "o.mp4"))
    assert status == 2 and f"model folder {name!r} does not exist (it is a path, not a Hub repository id)" in errors


def test_cli_errors_name_the_cli_flags_and_refuse_before_writing(saved_model, tmp_path, caplog):
    video = level_video(tmp_path / "in.mp4", num_frames=8)
    out = tmp_path / "out.mp4"
    common = [str(video), "--model", str(saved_model), "--output", str(out)]
    status, errors = _anonymize(caplog, *common, "--preview", str(tmp_path / "p.gif"))
    assert status == 2 and "--preview" in errors and ".png" in errors
    assert not out.exists() and not list(tmp_path.glob(".*"))  # refused before any video was written
    status, errors = _anonymize(caplog, *common, "--max-pixels", "100")
    assert status == 1 and "exceed max_pixels=100" in errors and "--max-pixels" in errors and not out.exists()
    assert _anonymize(caplog, *common)[0] == 0 and out.exists()
    before = out.read_bytes()
    status, errors = _anonymize(caplog, *common)
    assert status == 1 and errors == f"--output {out} exists: pass --overwrite to replace it."
    assert "overwrite=True" not in errors and out.read_bytes() == before


def test_the_log_names_the_output_size_when_an_odd_size_is_padded(saved_model, tmp_path, caplog):
    from _video_fixtures import encode_frames, level_frames

    video = encode_frames(tmp_path / "odd.mkv", level_frames(8, 31, 41), pix_fmt="yuv444p")
    status, text = _anonymize(caplog, str(video), "--model", str(saved_model), "--output", str(tmp_path / "o.mp4"))
    assert status == 0 and "41x31 (written as 42x32: H.264 needs even sizes)" in text


def test_a_batch_of_no_clips_is_a_clear_error():
    from transformers_vidanon.inference.anonymize import predict_keep_mask

    with pytest.raises(ValueError, match=r"`pixel_values` must hold at least one clip.*\(0, 4, 3, 16, 16\)"):
        predict_keep_mask(tiny_model(), torch.rand(0, 4, 3, 16, 16))


# ---------------------------------------------------------------------------------------------------------------
# Untrusted label files
# ---------------------------------------------------------------------------------------------------------------


class _Allocate:
    """Pickles as a call to `numpy.ndarray(shape, dtype)`: a few bytes that would allocate `shape` elements."""

    def __init__(self, shape, dtype="float64"):
        self.shape, self.dtype = shape, dtype

    def __reduce__(self):
        import numpy

        return (numpy.ndarray, (self.shape, numpy.dtype(self.dtype)))


@pytest.mark.parametrize("shape, dtype", [((8192, 8192), "float64"), ((2**40,), "float64"), ((1,), "V100000000")])
def test_a_tiny_pickle_cannot_allocate_a_huge_array(tmp_path, shape, dtype):
    import tracemalloc

    from transformers_vidanon.data.labels import load_privacy_labels

    path = tmp_path / "labels.pkl"
    path.write_bytes(__import__("pickle").dumps({"Class/v_Class_g01_c01.avi": _Allocate(shape, dtype)}, protocol=2))
    assert path.stat().st_size < 200
    tracemalloc.start()
    try:
        with pytest.raises(LabelFileError, match=r"labels.pkl.*builds an array of shape"):
            load_privacy_labels(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20  # refused before allocating: not 512 MB
