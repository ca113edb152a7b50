"""Shared pytest fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture
def fake_hub():
    """A fake Hugging Face Hub on 127.0.0.1 (see `tests/fakehub.py`); use `fake_hub.environment(hf_home)` to point
    a subprocess at it."""
    from fakehub import FakeHub

    with FakeHub() as hub:
        yield hub


@pytest.fixture(scope="session")
def tiny_synth(tmp_path_factory):
    """A tiny SynthPrivacy set (24 videos of 16 frames at 32 x 32), generated once per test session."""
    from transformers_vidanon.data.synth import generate_synth_privacy

    folder = tmp_path_factory.mktemp("tiny_synth")
    generate_synth_privacy(folder, num_videos=24, seed=1, num_frames=16, image_size=32, progress=False)
    return folder
