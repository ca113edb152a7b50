"""Adversarial training: both objectives, resume after an interruption, two processes, signals, non-finite losses."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from _trainer_fixtures import ListDataset, examples, tiny_model, training_args
from safetensors.torch import load_file
from transformers import AutoImageProcessor, AutoModelForVideoClassification

from transformers_vidanon import VidAnonConfig, VidAnonForPrivacyPreservingActionRecognition
from transformers_vidanon.optimization import parameter_groups, warmup_cosine
from transformers_vidanon.training.arguments import parse_arguments
from transformers_vidanon.training.budget import anonymizer_budget_term, negative_entropy
from transformers_vidanon.training.checkpoints import list_checkpoints
from transformers_vidanon.training.trainer import NO_DECAY_NAMES, AdversarialTrainer, NonFiniteLossError

REPO = Path(__file__).resolve().parents[1]
TRAIN_SCRIPT = REPO / "training" / "train.py"
CONFIG = REPO / "training" / "configs" / "synthetic_paper.yaml"  # trainer mechanics, on the paper's objective


@pytest.fixture(scope="module")
def synth_dir(tiny_synth) -> Path:
    return tiny_synth


def tiny_args(synth_dir: Path, output_dir: Path, *extra: str) -> list[str]:
    return [
        "--config", str(CONFIG), "--data_dir", str(synth_dir), "--output_dir", str(output_dir),
        "--image_size", "32", "--patch_size", "8", "--num_frames", "8", "--hidden_size", "32",
        "--num_hidden_layers", "2", "--num_attention_heads", "4", "--intermediate_size", "64",
        "--pruning_layers", "0", "--keep_rate", "0.5", "--per_device_train_batch_size", "4",
        "--per_device_eval_batch_size", "8", "--logging_steps", "1", "--disable_tqdm", "true",
        "--num_train_epochs", "2", "--grl_warmup_epochs", "0", "--augment", "true", "--checkpointing_steps", "1000",
        *extra,
    ]


def run_script(args: list[str], *, launcher: list[str] | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    command = (launcher or [sys.executable]) + [str(TRAIN_SCRIPT), *args]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def read_metrics(output_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (output_dir / "metrics.jsonl").read_text().splitlines()]


def step_losses(records: list[dict]) -> dict[int, float]:
    return {r["step"]: r["loss"] for r in records if "loss" in r}


def test_grl_training_trains_and_saves_a_loadable_model(synth_dir, tmp_path):
    out = tmp_path / "run"
    result = run_script(tiny_args(synth_dir, out, "--hidden_dropout_prob", "0.1"))
    assert result.returncode == 0, result.stderr[-3000:]
    records = read_metrics(out)
    losses = step_losses(records)
    # 24 videos, 60% train -> 14 or 15 clips, batch 4, drop_last -> 3 steps per epoch, 2 epochs
    assert sorted(losses) == list(range(1, 7))
    assert all(math.isfinite(v) for v in losses.values())
    coefficients = [r["grl_coefficient"] for r in records if "grl_coefficient" in r]
    assert coefficients == sorted(coefficients) and 0 <= coefficients[0] < coefficients[-1] <= 1
    final = [r for r in records if r.get("final")]
    assert final and 0.0 <= final[-1]["eval_action_top1"] <= 1.0
    model_dir = out / "model"
    assert (model_dir / "model.safetensors").exists() and (model_dir / "preprocessor_config.json").exists()
    model = AutoModelForVideoClassification.from_pretrained(model_dir).eval()
    assert isinstance(model, VidAnonForPrivacyPreservingActionRecognition)
    assert model.config.id2label[0] == "walk_left" and model.config.num_labels == 6
    processor = AutoImageProcessor.from_pretrained(model_dir)
    assert type(processor).__name__ == "VidAnonImageProcessor"
    # self-contained: the code and its auto_map / custom_pipelines (train.py registers before it trains)
    saved = json.loads((model_dir / "config.json").read_text())
    assert saved["auto_map"]["AutoModelForVideoClassification"].startswith("modeling_vidanon.")
    assert "video-anonymization" in saved["custom_pipelines"] and (model_dir / "pipelines.py").is_file()


def test_alternating_training_updates_budget_models(synth_dir, tmp_path):
    out = tmp_path / "alt"
    result = run_script(tiny_args(synth_dir, out, "--objective", "alternating", "--num_budget_models", "2",
                                  "--budget_restart_every", "2", "--budget_loss", "entropy", "--budget_hidden_size", "16",
                                  "--budget_num_layers", "1"))
    assert result.returncode == 0, result.stderr[-3000:]
    records = [r for r in read_metrics(out) if "loss" in r]
    assert len(records) == 6
    for record in records:
        assert math.isfinite(record["budget_model_loss"]) and record["budget_model_loss"] > 0
        # the entropy term is a negative entropy: between -log 2 and 0
        assert -math.log(2) - 1e-6 <= record["anonymizer_budget_term"] <= 0
    assert "budget models restarted at step 2" in result.stderr


def test_sigterm_leaves_a_checkpoint_and_the_resumed_run_equals_the_uninterrupted_one(synth_dir, tmp_path):
    extra = ("--num_train_epochs", "4", "--checkpointing_steps", "2", "--hidden_dropout_prob", "0.1",
             "--drop_path_rate", "0.1", "--video_backend", "decord")
    reference = tmp_path / "reference"
    result = run_script(tiny_args(synth_dir, reference, *extra))
    assert result.returncode == 0, result.stderr[-3000:]

    interrupted = tmp_path / "interrupted"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, str(TRAIN_SCRIPT), *tiny_args(synth_dir, interrupted, *extra)],
                               cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while not list_checkpoints(interrupted) and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=240)
    assert process.returncode == 128 + signal.SIGTERM, stderr[-3000:]  # a scheduler must see an unfinished job
    assert "stopped by signal" in stderr
    assert not (interrupted / "model").exists()
    checkpoint = list_checkpoints(interrupted)[-1]
    stopped_at = int(checkpoint.name.split("_")[1])
    assert 2 <= stopped_at < 12
    # the checkpoint's weights load into the model
    state = load_file(checkpoint / "model.safetensors")
    assert any(key.startswith("vidanon.encoder.") for key in state)

    resumed = run_script(tiny_args(synth_dir, interrupted, *extra, "--resume_from_checkpoint", "latest"))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resumed from {checkpoint}" in resumed.stderr
    expected, got = step_losses(read_metrics(reference)), step_losses(read_metrics(interrupted))
    assert sorted(got) == sorted(expected) == list(range(1, 13))
    for step in expected:
        assert got[step] == pytest.approx(expected[step], rel=1e-5, abs=1e-6), step
    final_a = load_file(reference / "model" / "model.safetensors")
    final_b = load_file(interrupted / "model" / "model.safetensors")
    for key in final_a:
        torch.testing.assert_close(final_a[key], final_b[key], rtol=1e-5, atol=1e-6)


def test_two_process_accelerate_launch_trains_and_saves(synth_dir, tmp_path):
    out = tmp_path / "ddp"
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                "--main_process_port", str(port)]
    result = run_script(tiny_args(synth_dir, out, "--per_device_train_batch_size", "2", "--checkpointing_steps", "3"),
                        launcher=launcher, timeout=400)
    assert result.returncode == 0, result.stderr[-4000:]
    records = read_metrics(out)
    losses = step_losses(records)
    # two processes of batch 2 = 4 clips a step: 3 steps per epoch as in one process with batch 4
    assert sorted(losses) == list(range(1, 7))
    assert all(r["clips_per_s"] > 0 for r in records if "clips_per_s" in r)
    checkpoint = list_checkpoints(out)[-1]
    assert (checkpoint / "random_states_0.pkl").exists() and (checkpoint / "random_states_1.pkl").exists()
    model = VidAnonForPrivacyPreservingActionRecognition.from_pretrained(out / "model")
    assert model.config.num_labels == 6


def test_a_non_finite_loss_is_skipped_counted_and_bounded(tmp_path):
    args = training_args(tmp_path / "nan")
    model = tiny_model()
    before = model.classifier.weight.detach().clone()
    items = examples(8)
    trainer = AdversarialTrainer(model, args, ListDataset(items))
    # the first batch is checked in full (a NaN there is an error, see test_faults.py): poison a later one
    later = sorted(set(range(8)) - _first_batch(trainer))
    items[later[0]]["pixel_values"][0, 0, 0, 0] = float("nan")
    result = trainer.train()
    assert result.nonfinite_steps == 1 and result.global_step == 3
    assert torch.isfinite(model.classifier.weight).all() and not torch.equal(model.classifier.weight, before)

    args.max_consecutive_nonfinite = 2
    args.output_dir = str(tmp_path / "all_nan")
    items = examples(8)
    trainer = AdversarialTrainer(tiny_model(), args, ListDataset(items))
    for index in set(range(8)) - _first_batch(trainer):
        items[index]["pixel_values"][0, 0, 0, 0] = float("nan")
    with pytest.raises(NonFiniteLossError, match="2 consecutive non-finite"):
        trainer.train()


def _first_batch(trainer: AdversarialTrainer) -> set[int]:
    """Indices of the examples of a trainer's first training batch (the order is a function of the seed)."""
    trainer.train_dataset.set_epoch(0)
    trainer.train_loader.set_epoch(0)
    return {int(video_id[1:]) for video_id in next(iter(trainer.train_loader))["video_id"]}


def test_budget_terms():
    labels = torch.tensor([[1.0, 0.0]])
    strong = torch.tensor([[8.0, -8.0]])  # confident and right
    weak = torch.tensor([[0.0, 0.0]])  # blind
    # bce: the anonymizer is scored against the strongest (lowest BCE) member
    term = anonymizer_budget_term([weak, strong], labels, "bce")
    assert term.item() == pytest.approx(-torch.nn.functional.binary_cross_entropy_with_logits(strong, labels).item())
    # entropy: against the most confident member; a blind member has negative entropy -log 2
    assert negative_entropy(weak).item() == pytest.approx(-math.log(2))
    assert anonymizer_budget_term([weak, strong], labels, "entropy").item() == pytest.approx(negative_entropy(strong).item())
    # unknown attributes (NaN) are left out
    partial = torch.tensor([[1.0, float("nan")]])
    assert math.isfinite(anonymizer_budget_term([weak], partial, "bce").item())
    with pytest.raises(ValueError, match="budget_loss"):
        anonymizer_budget_term([weak], labels, "hinge")


def test_schedule_and_parameter_groups():
    assert warmup_cosine(0, 10, 100) == pytest.approx(0.1)
    assert warmup_cosine(9, 10, 100) == pytest.approx(1.0)
    assert warmup_cosine(55, 10, 100) == pytest.approx(0.5)
    assert warmup_cosine(100, 10, 100) == pytest.approx(0.0)
    model = tiny_model()
    decay, no_decay = parameter_groups(model, 0.05, NO_DECAY_NAMES)
    names = {id(p): n for n, p in model.named_parameters()}
    no_decay_names = {names[id(p)] for p in no_decay["params"]}
    assert "vidanon.embeddings.cls_tokens" in no_decay_names
    assert "vidanon.embeddings.cls_position_embeddings" in no_decay_names
    assert all(not n.endswith(".bias") and "layernorm" not in n for n in (names[id(p)] for p in decay["params"]))
    assert decay["weight_decay"] == 0.05 and no_decay["weight_decay"] == 0.0


def test_arguments_from_yaml_and_command_line(tmp_path):
    model_args, data_args, training_args = parse_arguments(["--config", str(CONFIG), "--learning_rate", "0.01"])
    assert training_args.learning_rate == 0.01  # the command line wins
    assert model_args.pruning_layers == [1, 2] and data_args.dataset == "synth"
    bad = tmp_path / "bad.yaml"
    bad.write_text("training:\n  learning_rat: 0.1\n")
    with pytest.raises(ValueError, match="learning_rat.*bad.yaml"):
        parse_arguments(["--config", str(bad)])
    with pytest.raises(ValueError, match="objective"):
        parse_arguments(["--config", str(CONFIG), "--objective", "minimax"])
    with pytest.raises(FileNotFoundError, match="missing.yaml"):
        parse_arguments(["--config", str(tmp_path / "missing.yaml")])


def test_paper_configs_parse():
    for name in ("vp_ucf101", "vp_hmdb51", "pa_hmdb51", "ucf101_vispr"):
        model_args, data_args, training_args = parse_arguments(
            ["--config", str(REPO / "training" / "configs" / f"{name}.yaml")]
        )
        assert training_args.num_train_epochs == 80 and training_args.learning_rate == 1e-4
        assert model_args.pruning_layers == [2, 5, 8] and model_args.keep_rate == [0.9]


def test_streaming_training_set_runs_for_max_steps(synth_dir, tmp_path):
    out = tmp_path / "stream"
    result = run_script(tiny_args(synth_dir, out, "--streaming", "true", "--max_steps", "5", "--shuffle_buffer_size", "8"))
    assert result.returncode == 0, result.stderr[-3000:]
    losses = step_losses(read_metrics(out))
    assert sorted(losses) == [1, 2, 3, 4, 5]  # 3 batches per pass over 14-15 clips: the stream is read twice
    assert (out / "model" / "model.safetensors").exists()
    missing = run_script(tiny_args(synth_dir, tmp_path / "stream2", "--streaming", "true"))
    assert missing.returncode != 0 and "set `max_steps`" in missing.stderr


def test_grl_coefficient_warmup_scale_and_schedules(tmp_path):
    args = training_args(tmp_path, num_train_epochs=4, grl_schedule="epoch", grl_warmup_epochs=1,
                         grl_max_coefficient=0.5)
    trainer = AdversarialTrainer(tiny_model(), args, ListDataset(examples(8)))
    assert trainer.steps_per_epoch == 4 and trainer.total_steps == 16
    trainer.state.global_step, trainer.state.epoch = 3, 0
    assert trainer.grl_coefficient() == 0.0  # still in the warm-up epoch
    trainer.state.global_step, trainer.state.epoch = 4, 1
    assert trainer.grl_coefficient() == pytest.approx(0.0)  # schedule starts at p = 0
    trainer.state.global_step, trainer.state.epoch = 12, 3
    expected = 0.5 * (2 / (1 + math.exp(-10 * 2 / 4)) - 1)  # p = 2 / (3 + 1) over the 3 epochs after warm-up
    assert trainer.grl_coefficient() == pytest.approx(expected)
    args.grl_schedule = "step"
    trainer.state.global_step = 10
    assert trainer.grl_coefficient() == pytest.approx(0.5 * (2 / (1 + math.exp(-10 * 6 / 12)) - 1))
    args.grl_schedule = "constant"
    assert trainer.grl_coefficient() == 0.5


def test_bf16_mixed_precision_on_cpu(synth_dir, tmp_path):
    out = tmp_path / "bf16"
    result = run_script(tiny_args(synth_dir, out, "--mixed_precision", "bf16", "--max_steps", "3"))
    assert result.returncode == 0, result.stderr[-3000:]
    losses = step_losses(read_metrics(out))
    assert sorted(losses) == [1, 2, 3] and all(math.isfinite(v) for v in losses.values())
    # the saved weights stay float32 (autocast computes in bf16, the parameters are not cast)
    state = load_file(out / "model" / "model.safetensors")
    assert all(t.dtype == torch.float32 for t in state.values())


def test_locate_objective_trains_the_privacy_cls_unreversed_and_reaches_the_mask(synth_dir, tmp_path):
    out = tmp_path / "locate"
    result = run_script(tiny_args(synth_dir, out, "--objective", "locate", "--budget_hidden_size", "16",
                                  "--budget_num_layers", "1", "--num_train_epochs", "1"))
    assert result.returncode == 0, result.stderr[-3000:]
    records = [r for r in read_metrics(out) if "loss" in r]
    assert len(records) == 3
    for record in records:
        assert record["grl_coefficient"] == -1.0  # the privacy head's gradient passes unreversed
        assert math.isfinite(record["budget_model_loss"]) and record["anonymizer_budget_term"] <= 0

    # without a budget weight no budget model is built
    plain = tmp_path / "plain"
    result = run_script(tiny_args(synth_dir, plain, "--objective", "locate", "--budget_loss_weight", "0",
                                  "--num_train_epochs", "1"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert all("budget_model_loss" not in r for r in read_metrics(plain))


def test_privacy_gradient_is_unreversed_at_minus_one_and_the_budget_term_reaches_the_scores():
    from transformers_vidanon.training.budget import build_budget_model

    torch.manual_seed(0)
    config = VidAnonConfig(image_size=16, patch_size=4, num_frames=4, tubelet_size=2, hidden_size=32,
                           num_hidden_layers=2, num_attention_heads=4, intermediate_size=37, pruning_layers=[0],
                           keep_rate=0.5, num_labels=3)
    model = VidAnonForPrivacyPreservingActionRecognition(config).train()
    video = torch.rand(2, 4, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    privacy = torch.tensor([[1.0, 0, 1, 0, 1], [0, 1, 0, 1, 0]])

    def cls_gradient(coefficient: float) -> torch.Tensor:
        model.zero_grad()
        model(video, privacy_labels=privacy, grl_coefficient=coefficient).privacy_loss.backward()
        return model.vidanon.embeddings.cls_tokens.grad.clone()

    plain, reversed_ = cls_gradient(-1.0), cls_gradient(1.0)
    assert plain.abs().sum() > 0
    torch.testing.assert_close(plain, -reversed_)
    # a small step along the unreversed gradient lowers the privacy loss: the privacy CLS learns privacy
    with torch.no_grad():
        before = model(video, privacy_labels=privacy).privacy_loss
    cls_gradient(-1.0)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.grad is not None:
                parameter -= 0.05 * parameter.grad
        after = model(video, privacy_labels=privacy).privacy_loss
    assert after < before

    # the budget term alone reaches the anonymizer's weights: only through the straight-through keep mask
    model.zero_grad()
    budget = build_budget_model(16, 4, 4, 2, 5, hidden_size=16, num_layers=1)
    anonymized = model(video).anonymized_pixel_values
    anonymizer_budget_term([budget(anonymized)], privacy).backward()
    assert model.vidanon.embeddings.cls_tokens.grad.abs().sum() > 0
