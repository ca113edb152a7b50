"""`training/train.py` speaks TrainingArguments: `--max_steps` overrides the epochs, `--report_to` takes Accelerate's
trackers and refuses unknown ones, `--push_to_hub` pushes the final model with its card, a lone YAML path works."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
import yaml
from _trainer_fixtures import ListDataset, examples, tiny_model, training_args

from transformers_vidanon import VidAnonConfig
from transformers_vidanon.training.arguments import (
    build_arguments,
    parse_arguments,
    supported_trackers,
    trackers_for_accelerate,
)
from transformers_vidanon.training.trainer import AdversarialTrainer

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "training" / "configs" / "synthetic.yaml"


@pytest.mark.parametrize("max_steps, epochs, steps, epochs_run", [(5, 1, 5, 2), (2, 3, 2, 1), (None, 2, 6, 2)])
def test_max_steps_overrides_the_epochs(tmp_path, max_steps, epochs, steps, epochs_run):
    # 6 examples, batch 2: 3 optimiser steps per epoch
    args = training_args(tmp_path / "run", max_steps=max_steps, num_train_epochs=epochs)
    trainer = AdversarialTrainer(tiny_model(), args, ListDataset(examples(6)))
    assert trainer.total_steps == steps and trainer.num_epochs == epochs_run
    result = trainer.train()
    assert result.global_step == steps
    assert result.epochs_completed == pytest.approx(steps / 3)


def test_report_to_takes_accelerate_trackers_and_refuses_unknown_ones(caplog):
    assert {"tensorboard", "wandb", "mlflow", "comet_ml"} <= set(supported_trackers())
    base = ["--output_dir", "out"]
    _, _, parsed = parse_arguments([*base, "--report_to", "jsonl", "wandb", "mlflow"])
    assert parsed.report_to == ["jsonl", "wandb", "mlflow"]
    with pytest.raises(ValueError, match=r"unknown tracker\(s\) \['wandbx'\].*'wandb'"):
        parse_arguments([*base, "--report_to", "wandbx"])
    with pytest.raises(ValueError, match="cannot combine 'none'"):
        parse_arguments([*base, "--report_to", "none", "wandb"])
    # asked for but not installed here: named in a warning, not passed on (Accelerate would drop it silently)
    from accelerate.tracking import get_available_trackers

    installed = {str(tracker) for tracker in get_available_trackers()}
    missing = next(name for name in ("wandb", "mlflow", "comet_ml", "aim") if name not in installed)
    with caplog.at_level(logging.WARNING):
        assert trackers_for_accelerate(["jsonl", missing]) == []
    assert f"asks for {missing!r}, which is not installed" in caplog.text
    assert trackers_for_accelerate(["all"]) == ["all"] and trackers_for_accelerate(["none"]) == []
    with pytest.raises(ValueError, match="unknown tracker"):
        AdversarialTrainer(tiny_model(), training_args(Path("unused"), report_to=["nope"]), ListDataset(examples()))


def test_a_lone_yaml_path_is_the_config(tmp_path):
    lone = parse_arguments([str(CONFIG), "--learning_rate", "3e-4", "--output_dir", str(tmp_path)])
    flagged = parse_arguments(["--config", str(CONFIG), "--learning_rate", "3e-4", "--output_dir", str(tmp_path)])
    assert lone == flagged
    assert lone[2].learning_rate == 3e-4
    assert lone[2].num_train_epochs == yaml.safe_load(CONFIG.read_text())["training"]["num_train_epochs"]
    with pytest.raises(ValueError, match="give the YAML file once"):
        parse_arguments([str(CONFIG), "--config", str(CONFIG)])


def test_a_program_builds_the_same_arguments_as_the_command_line(tmp_path):
    from transformers_vidanon.commands.benchmark import overrides_from_tokens

    tokens = ["--learning_rate", "3e-4", "--pruning_layers", "0", "1", "--output_dir", str(tmp_path), "--cpu"]
    assert build_arguments(CONFIG, overrides_from_tokens(tokens)) == parse_arguments(["--config", str(CONFIG), *tokens])
    built = build_arguments(CONFIG, {"keep_rate": 0.5, "output_dir": str(tmp_path)})
    assert built[0].keep_rate == [0.5]  # one value where a list is taken, as in the YAML files
    with pytest.raises(ValueError, match=r"unknown argument\(s\) \['learning_rat'\] in 'overrides'"):
        build_arguments(CONFIG, {"learning_rat": 1e-3})
    with pytest.raises(ValueError, match="`num_train_epochs` must be a number"):
        build_arguments(CONFIG, {"num_train_epochs": "many"})


def test_hub_arguments_are_checked():
    with pytest.raises(ValueError, match="`hub_model_id` is given but `push_to_hub` is not set"):
        parse_arguments(["--hub_model_id", "user/x"])
    with pytest.raises(ValueError, match="needs `save_final_model`"):
        parse_arguments(["--push_to_hub", "true", "--save_final_model", "false"])
    _, _, parsed = parse_arguments(["--push_to_hub", "true", "--hub_model_id", "user/x", "--hub_private_repo", "true"])
    assert parsed.push_to_hub and parsed.hub_model_id == "user/x" and parsed.hub_private_repo


def test_push_to_hub_pushes_the_final_model_with_its_card(fake_hub, tmp_path):
    out = tmp_path / "run"
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO / "tests")!r})
        import torch
        from _trainer_fixtures import ListDataset, examples, tiny_model, training_args
        from transformers_vidanon.training.trainer import AdversarialTrainer
        from pathlib import Path
        args = training_args(Path({str(out)!r}), max_steps=2, save_final_model=True, push_to_hub=True,
                             hub_model_id="user/trained", hub_private_repo=True)
        AdversarialTrainer(tiny_model(), args, ListDataset(examples()), run_config={{"dataset": "synth",
                           "output_dir": {str(out)!r}, "learning_rate": 1e-3}}).train()
    """)
    env = {**fake_hub.environment(tmp_path / "hf"), "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", script], check=False, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    files = fake_hub.files("user/trained")
    assert {"model.safetensors", "config.json", "README.md", "training_args.json", "preprocessor_config.json",
            "video_preprocessor_config.json", "modeling_vidanon.py", "pipelines.py"} <= set(files)
    local = {p.name: p.read_bytes() for p in (out / "model").iterdir() if p.is_file()}
    assert all(files[name] == content for name, content in local.items() if name in files)
    card = files["README.md"].decode()
    assert "| `learning_rate` | 0.001 |" in card and str(out) not in card  # the trainer's card, no local path
    assert json.loads(files["config.json"])["custom_pipelines"]
    assert len(fake_hub.repo("user/trained").commits) == 2 and fake_hub.unhandled == []


def test_train_flags_have_help_defaults_and_both_spellings():
    import argparse

    from transformers import HfArgumentParser

    from transformers_vidanon.training.arguments import ALL_ARGUMENT_CLASSES

    parser = HfArgumentParser(ALL_ARGUMENT_CLASSES)
    assert issubclass(parser.formatter_class, argparse.ArgumentDefaultsHelpFormatter)  # shows every default
    assert [action.option_strings for action in parser._actions if not action.help] == []
    dashed = parse_arguments(["--max-steps", "3", "--report-to", "jsonl", "--num-train-epochs", "2"])[2]
    underscored = parse_arguments(["--max_steps", "3", "--report_to", "jsonl", "--num_train_epochs", "2"])[2]
    assert dashed == underscored and dashed.max_steps == 3


def test_gradient_checkpointing_kwargs_reach_the_layers(tmp_path):
    with pytest.raises(ValueError, match="must be a JSON object"):
        parse_arguments(["--gradient_checkpointing", "true", "--gradient_checkpointing_kwargs", "use_reentrant"])
    args = training_args(tmp_path / "run", max_steps=2, gradient_checkpointing=True,
                         gradient_checkpointing_kwargs='{"use_reentrant": true}')
    trainer = AdversarialTrainer(tiny_model(), args, ListDataset(examples()))
    layers = trainer.accelerator.unwrap_model(trainer.model).vidanon.encoder.layer
    assert all(layer.gradient_checkpointing for layer in layers)
    assert all(layer._gradient_checkpointing_func.keywords == {"use_reentrant": True} for layer in layers)
    result = trainer.train()
    assert result.global_step == 2 and result.nonfinite_steps == 0


def test_every_dataset_name_has_one_builder_and_the_run_and_evaluate_share_the_source():
    from transformers_vidanon.data import DATASETS, DataSource
    from transformers_vidanon.data.builders import DATASET_BUILDERS
    from transformers_vidanon.training.arguments import DataArguments

    assert tuple(DATASET_BUILDERS) == DATASETS
    source = DataSource.from_arguments(DataArguments(dataset="vp_ucf101", data_dir="/videos", split=2))
    assert (source.dataset, source.data_dir, source.split) == ("vp_ucf101", "/videos", 2)
    with pytest.raises(ValueError, match="unknown dataset 'ucf102'"):
        DataSource(dataset="ucf102")


def test_model_arguments_left_unset_keep_the_config_defaults(tmp_path):
    from transformers_vidanon.training.arguments import ModelArguments
    from transformers_vidanon.training.trainer import build_model, model_input_size

    unset = ModelArguments()
    assert unset.config_overrides() == {}
    assert model_input_size(unset) == (VidAnonConfig().image_size, VidAnonConfig().num_frames)
    small = ModelArguments(image_size=16, patch_size=8, num_frames=4, hidden_size=16, num_hidden_layers=2,
                           num_attention_heads=2, intermediate_size=32, pruning_layers=[0], keep_rate=[0.5])
    model = build_model(small, 3, ["a", "b", "c"])
    assert (model.config.image_size, model.config.hidden_size, model.config.keep_rate) == (16, 16, 0.5)
    assert model.config.lambda_priv == VidAnonConfig().lambda_priv  # not given: the config's default
    kept = build_model(ModelArguments(**{**vars(small), "localization_loss_weight": 1.0,
                                         "kept_privacy_loss_weight": 3.0}), 3, ["a", "b", "c"])
    assert (kept.config.localization_loss_weight, kept.config.kept_privacy_loss_weight) == (1.0, 3.0)
    model.save_pretrained(tmp_path / "ckpt")
    # continuing a checkpoint keeps its own schedule and sizes unless an argument says otherwise
    resumed = ModelArguments(init="vidanon", model_name_or_path=str(tmp_path / "ckpt"), lambda_priv=2.0)
    assert model_input_size(resumed) == (16, 4)
    again = build_model(resumed, 3, ["a", "b", "c"])
    assert (again.config.keep_rate, again.config.pruning_layers, again.config.lambda_priv) == (0.5, [0], 2.0)


def test_decode_at_size_reaches_the_clip_transform(tmp_path):
    from transformers_vidanon.data.builders import build_training_data

    _, data_args, _ = parse_arguments(["--config", str(CONFIG), "--decode_at_size", "--output_dir", str(tmp_path),
                                       "--data_dir", str(tmp_path / "synth"), "--synth_num_videos", "12"])
    data = build_training_data(data_args, 32, 8)
    assert data.train._format_kwargs["transform"].decode_at_size is True
    assert data.eval is None or data.eval._format_kwargs["transform"].decode_at_size is True


def test_inference_lambda_priv_is_the_saved_models_score_and_training_keeps_its_own(tmp_path):
    from transformers_vidanon import VidAnonForPrivacyPreservingActionRecognition
    from transformers_vidanon.training.arguments import (
        AdversarialTrainingArguments,
        DataArguments,
        ModelArguments,
        validate_arguments,
    )

    model = tiny_model()
    model.config.lambda_priv = 2.0
    args = training_args(tmp_path / "run", save_final_model=True, inference_lambda_priv=100.0, max_steps=1)
    trainer = AdversarialTrainer(model, args, ListDataset(examples(4)))
    result = trainer.train()
    assert model.config.lambda_priv == 2.0  # the trained model (and so any resumed run) still scores with 2
    saved = VidAnonForPrivacyPreservingActionRecognition.from_pretrained(result.model_dir)
    assert saved.config.lambda_priv == 100.0
    card = (Path(result.model_dir) / "README.md").read_text()
    assert "`lambda_priv` = 100.0" in card
    plain = AdversarialTrainer(tiny_model(), training_args(tmp_path / "plain", save_final_model=True, max_steps=1),
                               ListDataset(examples(4))).train()
    assert VidAnonForPrivacyPreservingActionRecognition.from_pretrained(plain.model_dir).config.lambda_priv == \
        tiny_model().config.lambda_priv
    for bad in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="inference_lambda_priv"):
            validate_arguments(ModelArguments(), DataArguments(),
                               AdversarialTrainingArguments(output_dir=str(tmp_path), inference_lambda_priv=bad))
