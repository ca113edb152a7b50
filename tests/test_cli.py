"""The command line: every `--help` is fast (imports no torch), every flag has help and shows its default, the
underscore spelling is an alias, and output files keep the user's umask; the LICENSE the package declares."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from transformers_vidanon.cli import COMMANDS, build_command_parser

REPO = Path(__file__).resolve().parents[1]
CONSOLE_SCRIPT = Path(sys.executable).with_name("vidanon")


def imported_modules(command: list[str]) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run a command with Python's import log (`PYTHONPROFILEIMPORTTIME`); the top-level modules it imported."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    result = subprocess.run(command, check=False, env=env, capture_output=True, text=True, timeout=120)
    names = set(re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*([\w.]+)", result.stderr, flags=re.MULTILINE))
    return result, {name.split(".")[0] for name in names}


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_imports_neither_torch_nor_transformers(command):
    words = [command] if command else []
    launches = [[sys.executable, "-m", "transformers_vidanon.cli", *words, "--help"]]
    if CONSOLE_SCRIPT.is_file():
        launches.append([str(CONSOLE_SCRIPT), *words, "--help"])
    for launch in launches:
        result, modules = imported_modules(launch)
        assert result.returncode == 0, result.stderr[-2000:]
        assert "usage: vidanon" in result.stdout
        assert "transformers_vidanon" in modules  # the log was read
        assert not modules & {"torch", "transformers", "numpy", "av", "decord"}, (launch, sorted(modules))


def test_train_script_help_imports_no_torch():
    result, modules = imported_modules([sys.executable, str(REPO / "training" / "train.py"), "--help"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert "--max_steps" in result.stdout and "--push_to_hub" in result.stdout
    assert "transformers_vidanon" in modules and "torch" not in modules, sorted(modules)


def test_a_command_run_registers_with_transformers(tmp_path):
    """Outside `--help` the command line registers VidAnon with transformers before the command runs: `anonymize`
    loads a checkpoint through `AutoConfig`, which knows `vidanon` only once registered."""
    import torch

    from transformers_vidanon import VidAnonConfig, VidAnonForPrivacyPreservingActionRecognition
    from transformers_vidanon.video import read_clip, write_video

    torch.manual_seed(0)
    VidAnonForPrivacyPreservingActionRecognition(VidAnonConfig(
        image_size=16, patch_size=4, num_frames=4, hidden_size=32, num_hidden_layers=1, num_attention_heads=4,
        intermediate_size=37, pruning_layers=[0], keep_rate=0.5)).save_pretrained(tmp_path / "model")
    frames = np.random.default_rng(0).integers(0, 256, size=(6, 16, 16, 3), dtype=np.uint8)
    video = write_video(tmp_path / "clip.mp4", frames, fps=4)
    result = subprocess.run(
        [sys.executable, "-m", "transformers_vidanon.cli", "anonymize", str(video), "--model", str(tmp_path / "model"),
         "--output", str(tmp_path / "out.mp4"), "--device", "cpu"],
        check=False, capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert read_clip(tmp_path / "out.mp4", np.arange(6)).shape == (6, 16, 16, 3)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_flag_has_help_and_shows_its_default(name):
    parser = build_command_parser(name)
    text = parser.format_help()
    for action in parser._actions:
        if action.dest == "help":
            continue
        assert action.help, f"vidanon {name}: {action.option_strings or action.dest} has no help"
        shown = action.default not in (None, False, [], ()) and not action.required
        if shown and action.option_strings:
            flag = action.option_strings[-1]
            block = text.split("options:", 1)[1].split(flag, 1)[1].split("\n  -", 1)[0]
            assert "default" in block, f"vidanon {name}: {flag} does not show its default {action.default!r}"
    # the underscore aliases answer but are not listed: the help shows one spelling
    aliases = [option for option in parser._option_string_actions if "_" in option]
    assert all(alias.startswith("--") and not alias.startswith("---") and alias[2] != "_" for alias in aliases)
    listed = {option for action in parser._actions for option in action.option_strings}
    assert aliases and not set(aliases) & listed


def test_underscore_spelling_is_an_alias():
    parser = build_command_parser("synth")
    dashed = parser.parse_args(["--output", "x", "--num-videos", "5", "--split-fractions", "0.5", "0.25", "0.25"])
    underscored = parser.parse_args(["--output", "x", "--num_videos", "5", "--split_fractions", "0.5", "0.25", "0.25"])
    assert vars(dashed) == vars(underscored) and underscored.num_videos == 5
    assert "--num_videos" not in parser.format_help()
    anonymize = build_command_parser("anonymize")
    args = anonymize.parse_args(["in.mp4", "--model", "m", "--output", "o", "--keep_rate", "0.5", "--trust_remote_code"])
    assert args.keep_rate == 0.5 and args.trust_remote_code


def test_synth_help_defaults_are_the_generators():
    from transformers_vidanon.commands import synth as command
    from transformers_vidanon.data import synth

    for name in ("DEFAULT_NUM_FRAMES", "DEFAULT_IMAGE_SIZE", "LARGE_IMAGE_SIZE", "DEFAULT_FPS"):
        assert getattr(command, name) == getattr(synth, name), name


def test_output_files_keep_the_umask(tmp_path):
    from transformers_vidanon import VidAnonConfig
    from transformers_vidanon.reporting.modelcard import save_model_card
    from transformers_vidanon.reporting.plots import save_preview
    from transformers_vidanon.video import write_video

    frames = np.random.default_rng(0).integers(0, 256, size=(4, 16, 16, 3), dtype=np.uint8)
    previous = os.umask(0o027)
    try:
        video = write_video(tmp_path / "clip.mp4", frames, fps=4)
        preview = save_preview(frames, frames, tmp_path / "preview.png", title="clip", max_frames=2)
        VidAnonConfig(image_size=16, patch_size=4, num_frames=4, hidden_size=32, num_hidden_layers=1,
                      num_attention_heads=4, intermediate_size=37, pruning_layers=[0]).save_pretrained(tmp_path)
        card = save_model_card(tmp_path)
        plain = tmp_path / "plain.txt"
        plain.write_text("x")
    finally:
        os.umask(previous)
    expected = plain.stat().st_mode & 0o777
    assert expected == 0o640
    for path in (video, preview, card):
        assert Path(path).stat().st_mode & 0o777 == expected, path


def test_license_is_the_declared_one():
    license_text = (REPO / "LICENSE").read_text()
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text
    pyproject = (REPO / "pyproject.toml").read_text()
    assert 'license = { text = "Apache-2.0" }' in pyproject or 'license = "Apache-2.0"' in pyproject
