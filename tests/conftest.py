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
