"""The training and evaluation examples run as written (small settings passed on the command line)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_train_then_evaluate_examples(tiny_synth, tmp_path):
    train = subprocess.run(
        [sys.executable, str(REPO / "examples" / "train_synthetic.py"), "--output-dir", str(tmp_path / "run"),
         "--data-dir", str(tiny_synth), "--epochs", "1", "--image_size", "32", "--num_frames", "8",
         "--hidden_size", "32", "--num_hidden_layers", "2", "--intermediate_size", "64", "--pruning_layers", "0",
         "--keep_rate", "0.5", "--per_device_train_batch_size", "4", "--disable_tqdm", "true"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert train.returncode == 0, train.stderr[-3000:]
    assert f"model saved to {tmp_path / 'run' / 'model'}" in train.stdout
    evaluate = subprocess.run(
        [sys.executable, str(REPO / "examples" / "evaluate_leakage.py"), "--model", str(tmp_path / "run" / "model"),
         "--data-dir", str(tiny_synth), "--seeds", "0", "--epochs-scale", "0.04"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert evaluate.returncode == 0, evaluate.stderr[-3000:]
    for row in ("| Raw |", "| Down-4x |", "| VidAnon |", "| Random pruning |", "| Chance |"):
        assert row in evaluate.stdout
