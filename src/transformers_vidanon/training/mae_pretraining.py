"""Masked-autoencoder pretraining of a VidAnon-sized VideoMAE on unlabelled clips (VideoMAE's answer to small data).

`pretrain_videomae` trains transformers' `VideoMAEForPreTraining` with tube masking (the same spatial positions hidden
in every time slot, 90 % by default, so the encoder sees a tenth of the tokens) and saves it; a VidAnon model then
starts from it with `VidAnonForPrivacyPreservingActionRecognition.from_videomae(path)` (or `--init videomae
--model_name_or_path path` in `training/train.py`), which maps every encoder tensor. Beyond the paper, which starts
from an ImageNet ViT.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from tqdm.auto import tqdm
from transformers import VideoMAEConfig, VideoMAEForPreTraining

from ..configuration_vidanon import IMAGENET_MEAN, IMAGENET_STD
from ..optimization import warmup_cosine_scheduler

logger = logging.getLogger(__name__)


def tube_mask(batch: int, num_time_slots: int, num_spatial: int, ratio: float,
              generator: torch.Generator | None = None) -> torch.Tensor:
    """`(batch, num_time_slots * num_spatial)` bool, True = hidden: the same `round(ratio * num_spatial)` spatial
    positions in every time slot (time-major, as VideoMAE orders its tubelets)."""
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"`mask_ratio` must be in (0, 1), got {ratio}.")
    hidden = int(round(ratio * num_spatial))
    ranks = torch.rand(batch, num_spatial, generator=generator).argsort(dim=1).argsort(dim=1)
    spatial = ranks < hidden  # (B, S)
    return spatial[:, None, :].expand(batch, num_time_slots, num_spatial).reshape(batch, -1)


def pretrain_videomae(
    clips: torch.Tensor,
    config: VideoMAEConfig,
    output_dir: str | Path | None = None,
    *,
    steps: int = 200,
    batch_size: int = 16,
    learning_rate: float = 1.5e-4,
    mask_ratio: float = 0.9,
    seed: int = 0,
    progress: bool = True,
) -> tuple[VideoMAEForPreTraining, list[float]]:
    """Pretrain a VideoMAE encoder on unlabelled clips with tube masking.

    Args:
        clips (`torch.Tensor` of shape `(N, T, C, H, W)`): uint8, or float in [0, 1]; `T`, `H`, `W` must match
            `config` (`num_frames`, `image_size`).
        config (`VideoMAEConfig`): the encoder (set it to the VidAnon backbone you will fine-tune) and decoder sizes.
        output_dir: where to `save_pretrained` the model (None: not saved).
        steps, batch_size, learning_rate, mask_ratio, seed: the recipe (AdamW, cosine decay, no weight decay).
        progress: a tqdm bar.

    Returns:
        The model and the loss of every step.
    """
    if clips.ndim != 5:
        raise ValueError(f"`clips` must have shape (N, T, C, H, W), got {tuple(clips.shape)}.")
    expected = (config.num_frames, config.num_channels, config.image_size, config.image_size)
    if tuple(clips.shape[1:]) != expected:
        raise ValueError(f"`clips` must be (N, {', '.join(map(str, expected))}) for this config, got "
                         f"{tuple(clips.shape)}.")
    if steps < 1 or batch_size < 1:
        raise ValueError(f"`steps` and `batch_size` must be >= 1, got {steps}, {batch_size}.")
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = VideoMAEForPreTraining(config).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.0)
    scheduler = warmup_cosine_scheduler(optimizer, 0, steps)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 1, -1, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 1, -1, 1, 1)
    slots = config.num_frames // config.tubelet_size
    spatial = (config.image_size // config.patch_size) ** 2
    losses = []
    for _ in tqdm(range(steps), desc="MAE pretraining", disable=not progress):
        index = torch.randint(0, clips.shape[0], (batch_size,), generator=generator)
        batch = clips[index].float()
        if not clips.is_floating_point():
            batch = batch / 255.0
        pixel_values = (batch - mean) / std  # VideoMAE's convention; VidAnon normalises the same way inside
        mask = tube_mask(batch_size, slots, spatial, mask_ratio, generator)
        loss = model(pixel_values, bool_masked_pos=mask).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(float(loss.detach()))
    if output_dir is not None:
        model.save_pretrained(output_dir)
        logger.info("MAE-pretrained VideoMAE saved to %s (final loss %.4f)", output_dir, losses[-1])
    return model, losses
