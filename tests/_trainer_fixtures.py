"""What the trainer tests share: a tiny VidAnon model, a few random examples in a list dataset, and the arguments of a
short CPU run (`AdversarialTrainer(tiny_model(), training_args(tmp_path), ListDataset(examples()))`).

A module beside `conftest.py` rather than fixtures in it: the helpers take arguments, and a test's subprocess imports
them too (`from _trainer_fixtures import ...` with `tests/` on `sys.path`).
"""

from __future__ import annotations

from pathlib import Path

import torch

from transformers_vidanon import VidAnonConfig, VidAnonForPrivacyPreservingActionRecognition
from transformers_vidanon.training.arguments import AdversarialTrainingArguments


class ListDataset(torch.utils.data.Dataset):
    """A map-style dataset over a list of examples (changes to the list show in the dataset)."""

    def __init__(self, items: list[dict]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        return self.items[index]


def tiny_model() -> VidAnonForPrivacyPreservingActionRecognition:
    """A 2-layer VidAnon model on 4 frames of 16 x 16 with 2 actions, seeded (the same weights on every call)."""
    torch.manual_seed(0)
    return VidAnonForPrivacyPreservingActionRecognition(VidAnonConfig(
        image_size=16, patch_size=4, num_frames=4, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=37, pruning_layers=[0], keep_rate=0.5, num_labels=2))


def examples(count: int = 8) -> list[dict]:
    """`count` examples of `tiny_model`'s size, seeded: random clips in [0, 1], actions `i % 2`, privacy labels
    `[1, 0, 1, 0, i % 2]` and video ids `v{i}`."""
    generator = torch.Generator().manual_seed(0)
    return [{"pixel_values": torch.rand(4, 3, 16, 16, generator=generator), "labels": i % 2,
             "privacy_labels": torch.tensor([1.0, 0, 1, 0, float(i % 2)]), "video_id": f"v{i}"} for i in range(count)]


def training_args(output_dir: Path, **overrides) -> AdversarialTrainingArguments:
    """The arguments of one short CPU epoch at batch 2 (no progress bar, no saved model, no evaluation), and
    `overrides`."""
    values = {"output_dir": str(output_dir), "num_train_epochs": 1, "per_device_train_batch_size": 2, "cpu": True,
              "disable_tqdm": True, "logging_steps": 1, "save_final_model": False, "learning_rate": 1e-3,
              "eval_every_epochs": 0}
    return AdversarialTrainingArguments(**{**values, **overrides})
