"""Masked-autoencoder pretraining: tube masks, a few steps, a checkpoint that from_videomae maps completely."""

from __future__ import annotations

import math

import pytest
import torch
from transformers import VideoMAEConfig

from transformers_vidanon import VidAnonForPrivacyPreservingActionRecognition
from transformers_vidanon.training.mae_pretraining import pretrain_videomae, tube_mask


def test_tube_mask_hides_the_same_positions_in_every_time_slot():
    mask = tube_mask(3, num_time_slots=4, num_spatial=16, ratio=0.75, generator=torch.Generator().manual_seed(0))
    assert mask.shape == (3, 64)
    per_slot = mask.view(3, 4, 16)
    assert torch.equal(per_slot, per_slot[:, :1].expand_as(per_slot))
    assert per_slot[:, 0].sum(dim=1).tolist() == [12, 12, 12]
    with pytest.raises(ValueError, match="mask_ratio"):
        tube_mask(1, 2, 4, 1.0)


def test_a_few_pretraining_steps_give_a_checkpoint_that_from_videomae_maps(tmp_path):
    config = VideoMAEConfig(image_size=16, patch_size=4, num_frames=4, tubelet_size=2, hidden_size=32,
                            num_hidden_layers=2, num_attention_heads=4, intermediate_size=37, decoder_hidden_size=16,
                            decoder_num_hidden_layers=1, decoder_num_attention_heads=2, decoder_intermediate_size=20)
    clips = (torch.rand(8, 4, 3, 16, 16, generator=torch.Generator().manual_seed(1)) * 255).to(torch.uint8)
    model, losses = pretrain_videomae(clips, config, tmp_path, steps=4, batch_size=4, mask_ratio=0.75,
                                      progress=False)
    assert len(losses) == 4 and all(math.isfinite(v) for v in losses)
    vidanon, report = VidAnonForPrivacyPreservingActionRecognition.from_videomae(
        tmp_path, output_loading_info=True, pruning_layers=[0], num_labels=3)
    assert not any(k.startswith("vidanon.encoder.") for k in report.newly_initialized)
    torch.testing.assert_close(vidanon.vidanon.encoder.layer[0].attention.attention.query.weight,
                               model.videomae.encoder.layer[0].attention.attention.query.weight)
    with pytest.raises(ValueError, match="clips"):
        pretrain_videomae(clips[:, :2], config, steps=1)
