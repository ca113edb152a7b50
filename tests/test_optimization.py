"""The schedules of `optimization`: the gradient reversal coefficient's (the trainer's only schedule of its own)."""

from __future__ import annotations

import math

import pytest

import transformers_vidanon
from transformers_vidanon.optimization import grl_coefficient_schedule


def test_grl_coefficient_schedule_values():
    assert grl_coefficient_schedule(0.0) == 0.0
    assert math.isclose(grl_coefficient_schedule(1.0), 2 / (1 + math.exp(-10)) - 1)
    assert grl_coefficient_schedule(0.5) == pytest.approx(2 / (1 + math.exp(-5)) - 1)
    assert 0.98 < grl_coefficient_schedule(0.5) < 0.99
    values = [grl_coefficient_schedule(step / 10) for step in range(11)]
    assert values == sorted(values) and all(0.0 <= value < 1.0 for value in values)


def test_grl_coefficient_schedule_is_exported_from_its_one_home():
    assert transformers_vidanon.grl_coefficient_schedule is grl_coefficient_schedule
    import transformers_vidanon.modeling_vidanon as modeling

    assert not hasattr(modeling, "grl_coefficient_schedule")
