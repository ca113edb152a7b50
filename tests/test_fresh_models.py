"""Tests of the fresh models of the leakage protocol (action model, frame and video attackers)."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForVideoClassification, VideoMAEConfig

from transformers_vidanon.classifiers import FreshC3DConfig, FreshC3DForVideoClassification, FreshModel
from transformers_vidanon.evaluation.fresh_training import (
    FreshModelConfig,
    predict_action,
    predict_frame_attacker,
    predict_video_attacker,
    train_action_model,
    train_frame_attacker,
    train_video_attacker,
)

# Tiny models and data: 4 frames of 16x16.
TINY = FreshModelConfig(
    c3d_hidden_sizes=(8, 16, 32),
    video_hidden_size=32,
    video_num_layers=1,
    video_num_heads=2,
    video_intermediate_size=64,
    video_patch_size=8,
    frame_embedding_size=8,
    frame_hidden_sizes=(8, 16),
    frame_depths=(1, 1),
    action_epochs=6,
    frame_epochs=6,
    video_epochs=6,
    batch_size=8,
    early_stopping=False,
    progress=False,
)


def _bright_dark(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 clips (n, 4, 3, 16, 16): label 1 = bright, label 0 = dark, with pixel noise."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 2
    base = torch.where(labels.bool(), 190.0, 60.0).view(n, 1, 1, 1, 1)
    noise = torch.randn(n, 4, 3, 16, 16, generator=generator) * 25.0
    return (base + noise).clamp(0, 255).to(torch.uint8), labels


def _privacy_set(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 clips whose attribute 0 = a red patch, attribute 1 = a bright frame (independent of each other)."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.stack([torch.arange(n) % 2, (torch.arange(n) // 2) % 2], dim=1).float()
    clips = torch.full((n, 4, 3, 16, 16), 70.0) + torch.randn(n, 4, 3, 16, 16, generator=generator) * 10.0
    clips[labels[:, 1].bool()] += 100.0
    red = labels[:, 0].bool()
    clips[red, :, 0, 2:14, 2:14] = 255.0
    clips[red, :, 1:, 2:14, 2:14] = 0.0
    return clips.clamp(0, 255).to(torch.uint8), labels


@pytest.mark.parametrize("architecture", ["c3d", "videomae"])
def test_action_model_learns_a_separable_set(architecture):
    clips, labels = _bright_dark(16, seed=0)
    config = FreshModelConfig(**{**TINY.__dict__, "action_architecture": architecture})
    model = train_action_model(clips, labels, 2, seed=0, config=config)
    test_clips, test_labels = _bright_dark(12, seed=1)
    probs = predict_action(model, test_clips)
    assert probs.shape == (12, 2)
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(12))
    assert (probs.argmax(dim=1) == test_labels).float().mean().item() == 1.0
    expected = "FreshC3DForVideoClassification" if architecture == "c3d" else "VideoMAEForVideoClassification"
    assert type(model.model).__name__ == expected and not model.training


def test_predict_action_averages_softmax_over_clips():
    clips, labels = _bright_dark(8, seed=0)
    model = train_action_model(clips, labels, 2, seed=0, config=TINY)
    with torch.no_grad():  # sharpen the head so that the clips' softmaxes are far from linear
        model.model.classifier.weight.mul_(40.0)
        model.model.classifier.bias.mul_(40.0)
    bright, dark = _bright_dark(2, seed=3)[0][[1, 0]]
    # 4 videos of 3 clips each that disagree: bright, dark, bright / dark, dark, bright / ...
    multi = torch.stack(
        [torch.stack([bright, dark, bright]), torch.stack([dark, dark, bright]),
         torch.stack([bright, bright, bright]), torch.stack([dark, bright, dark])]
    )  # (4, 3 clips, T, C, H, W)
    probs = predict_action(model, multi)
    with torch.no_grad():
        per_clip = torch.stack([model(multi[:, k]).softmax(dim=-1) for k in range(3)], dim=1)
    torch.testing.assert_close(probs, per_clip.mean(dim=1))
    # not the softmax of the mean logits (the clips disagree, so the two differ)
    with torch.no_grad():
        mean_logits = torch.stack([model(multi[:, k]) for k in range(3)], dim=1).mean(dim=1).softmax(dim=-1)
    assert (probs - mean_logits).abs().max() > 0.01


def test_training_is_deterministic_for_a_seed():
    clips, labels = _bright_dark(12, seed=0)
    first = train_action_model(clips, labels, 2, epochs=2, seed=7, config=TINY)
    second = train_action_model(clips, labels, 2, epochs=2, seed=7, config=TINY)
    other = train_action_model(clips, labels, 2, epochs=2, seed=8, config=TINY)
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)
    assert any(not torch.equal(a, b) for a, b in zip(first.state_dict().values(), other.state_dict().values()))
    privacy_clips, privacy = _privacy_set(8, seed=0)
    a = train_frame_attacker(privacy_clips, privacy, epochs=1, seed=3, config=TINY)
    b = train_frame_attacker(privacy_clips, privacy, epochs=1, seed=3, config=TINY)
    torch.testing.assert_close(
        predict_frame_attacker(a, privacy_clips).logits, predict_frame_attacker(b, privacy_clips).logits, rtol=0, atol=0
    )


def test_frame_attacker_learns_and_returns_frame_logits():
    clips, privacy = _privacy_set(16, seed=0)
    model = train_frame_attacker(clips, privacy, seed=0, config=TINY)
    assert model.model.config.problem_type == "multi_label_classification"
    test_clips, test_privacy = _privacy_set(8, seed=1)
    multi = torch.stack([test_clips, test_clips.flip(-1)], dim=1)  # (8, 2 clips, 4, 3, 16, 16)
    out = predict_frame_attacker(model, multi)
    assert out.frame_logits.shape == (8, 2, 4, 2) and out.logits.shape == (8, 2)
    torch.testing.assert_close(out.logits, out.frame_logits.mean(dim=(1, 2)))
    assert out.flat_frame_logits().shape == (8, 8, 2)
    assert ((out.logits > 0).float() == test_privacy).all()
    # one frame on its own is scored like the same frame inside a clip
    single = model(test_clips[:, 2])
    torch.testing.assert_close(single, out.frame_logits[:, 0, 2], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("architecture", ["c3d", "videomae"])
def test_video_attacker_learns(architecture):
    clips, privacy = _privacy_set(16, seed=0)
    config = FreshModelConfig(**{**TINY.__dict__, "video_attacker_architecture": architecture, "video_epochs": 15,
                                "batch_size": 4})
    model = train_video_attacker(clips, privacy, seed=0, config=config)
    test_clips, test_privacy = _privacy_set(8, seed=1)
    logits = predict_video_attacker(model, test_clips)
    assert logits.shape == (8, 2)
    assert ((logits > 0).float() == test_privacy).all()
    multi = torch.stack([test_clips, test_clips], dim=1)
    torch.testing.assert_close(predict_video_attacker(model, multi), logits)


def test_models_normalise_their_own_input():
    clips, labels = _bright_dark(8, seed=0)
    model = train_action_model(clips, labels, 2, epochs=1, seed=0, config=TINY)
    floats = clips.float() / 255.0
    expected_mean = floats.transpose(0, 2).reshape(3, -1).mean(dim=1)
    torch.testing.assert_close(model.pixel_mean.flatten(), expected_mean, rtol=1e-4, atol=1e-5)
    normalized = model.normalize(clips)
    torch.testing.assert_close(normalized.mean(dim=(0, 1, 3, 4)), torch.zeros(3), atol=1e-4, rtol=0)
    torch.testing.assert_close(normalized.std(dim=(0, 1, 3, 4)), torch.ones(3), atol=1e-3, rtol=0)
    # uint8 [0, 255] and float [0, 1] inputs give the same logits
    with torch.no_grad():
        torch.testing.assert_close(model(clips), model(floats))
    imagenet = train_action_model(
        clips, labels, 2, epochs=1, seed=0, config=FreshModelConfig(**{**TINY.__dict__, "normalization": "imagenet"})
    )
    torch.testing.assert_close(imagenet.pixel_mean.flatten(), torch.tensor([0.485, 0.456, 0.406]))


def test_any_video_classification_config_is_accepted():
    clips, labels = _bright_dark(8, seed=0)
    # a VideoMAE config for 32x32 inputs: the clips are resized to it inside the model
    config = VideoMAEConfig(image_size=32, patch_size=16, num_frames=4, tubelet_size=2, hidden_size=32,
                            num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)
    model = train_action_model(clips, labels, 2, model_name_or_config=config, epochs=1, config=TINY)
    assert model.model.config.hidden_size == 32 and model.input_size == (4, 32, 32)
    assert predict_action(model, clips).shape == (8, 2)
    # the 3D CNN is registered with the Auto classes and saves / loads like any Transformers model
    c3d = AutoModelForVideoClassification.from_config(FreshC3DConfig(num_labels=3, hidden_sizes=(4, 8)))
    assert isinstance(c3d, FreshC3DForVideoClassification)


def test_save_and_reload_the_c3d(tmp_path):
    model = FreshC3DForVideoClassification(FreshC3DConfig(num_labels=3, hidden_sizes=(4, 8))).eval()
    model.save_pretrained(tmp_path)
    reloaded = AutoModelForVideoClassification.from_pretrained(tmp_path).eval()
    x = torch.rand(2, 4, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(model(x).logits, reloaded(x).logits)


def test_bad_inputs_are_named():
    clips, labels = _bright_dark(4, seed=0)
    with pytest.raises(ValueError, match="train_clips"):
        train_action_model(clips[0], labels, 2, config=TINY)
    with pytest.raises(ValueError, match="train_labels"):
        train_action_model(clips, labels[:3], 2, config=TINY)
    with pytest.raises(ValueError, match="train_labels"):
        train_action_model(clips, labels + 5, 2, config=TINY)
    with pytest.raises(ValueError, match="train_privacy_labels"):
        train_frame_attacker(clips, torch.full((4, 2), 0.5), config=TINY)
    with pytest.raises(TypeError, match="model_name_or_config"):
        train_action_model(clips, labels, 2, model_name_or_config=3, config=TINY)
    with pytest.raises(ValueError, match="video_num_heads"):
        FreshModelConfig(video_hidden_size=30, video_num_heads=4)
    with pytest.raises(ValueError, match="action_architecture"):
        FreshModelConfig(action_architecture="i3d")
    with pytest.raises(ValueError, match="stem_kernel_size"):
        FreshC3DConfig(stem_kernel_size=(2, 3, 3))
    model = FreshModel(FreshC3DForVideoClassification(FreshC3DConfig(num_labels=2)), [0.5] * 3, [0.2] * 3, "video")
    with pytest.raises(ValueError, match="5-d"):
        model(torch.rand(2, 3, 16, 16))


def test_num_threads_is_restored():
    clips, labels = _bright_dark(4, seed=0)
    before = torch.get_num_threads()
    train_action_model(clips, labels, 2, epochs=1, config=FreshModelConfig(**{**TINY.__dict__, "num_threads": 1}))
    assert torch.get_num_threads() == before


def test_multi_clip_training_input():
    """(N, num_clips, T, C, H, W) training clips: each draw takes one of the video's clips."""
    clips, labels = _bright_dark(16, seed=0)
    multi = torch.stack([clips, clips.flip(-1)], dim=1)
    model = train_action_model(multi, labels, 2, seed=0, config=TINY)
    test_clips, test_labels = _bright_dark(8, seed=1)
    assert (predict_action(model, test_clips).argmax(dim=1) == test_labels).all()
    privacy_clips, privacy = _privacy_set(16, seed=0)
    attacker = train_frame_attacker(torch.stack([privacy_clips] * 2, dim=1), privacy, seed=0, config=TINY)
    test_privacy_clips, test_privacy = _privacy_set(8, seed=1)
    assert ((predict_frame_attacker(attacker, test_privacy_clips).logits > 0).float() == test_privacy).all()


def test_epochs_scaled_copy():
    from transformers_vidanon.evaluation.fresh_training import FreshModelConfig

    base = FreshModelConfig(action_epochs=12, frame_epochs=12, video_epochs=15)
    short = base.with_epochs_scaled(0.05)
    assert (short.action_epochs, short.frame_epochs, short.video_epochs) == (1, 1, 1)
    assert base.with_epochs_scaled(0.5).video_epochs == 8 and base.action_epochs == 12
    assert base.with_epochs_scaled(1.0) == base
    with pytest.raises(ValueError, match="scale"):
        base.with_epochs_scaled(0)


def _moving_square(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 clips (n, 4, 3, 16, 16) of a bright square moving right (attribute 1) or left (0): every single frame
    has the same distribution in both classes, only the motion tells them apart."""
    generator = torch.Generator().manual_seed(seed)
    right = (torch.arange(n) % 2).float()
    clips = torch.full((n, 4, 3, 16, 16), 40.0)
    for i in range(n):
        step = 3 if right[i] else -3
        start = int(torch.randint(0, 4, (1,), generator=generator)) + (0 if right[i] else 9)
        row = int(torch.randint(0, 12, (1,), generator=generator))
        for t in range(4):
            x = start + step * t
            clips[i, t, :, row : row + 4, x : x + 4] = 230.0
    return clips.to(torch.uint8), right[:, None]


def test_frame_temporal_video_attacker_sees_motion():
    clips, direction = _moving_square(32, seed=0)
    config = FreshModelConfig(**{**TINY.__dict__, "temporal_frame_stride": 1, "video_epochs": 12, "batch_size": 8,
                                "max_shift": 0, "flip_privacy": False})
    model = train_video_attacker(clips, direction, seed=0, config=config)
    assert type(model.model).__name__ == "FreshFrameTemporalForVideoClassification"
    test_clips, test_direction = _moving_square(16, seed=1)
    logits = predict_video_attacker(model, test_clips)
    assert ((logits > 0).float() == test_direction).float().mean().item() >= 0.9
    # the per-frame attacker cannot tell the directions apart: each frame looks alike in both classes
    frames = train_frame_attacker(clips, direction, seed=0, config=config)
    frame_logits = predict_frame_attacker(frames, test_clips).logits
    assert ((frame_logits > 0).float() == test_direction).float().mean().item() <= 0.75


def test_early_stopping_keeps_the_best_epoch_and_stops_on_a_plateau():
    from transformers_vidanon.evaluation.fresh_training.loop import validation_split

    clips, _ = _bright_dark(40, seed=0)
    labels = torch.randperm(40, generator=torch.Generator().manual_seed(0)) % 2  # nothing to learn: a plateau
    config = FreshModelConfig(**{**TINY.__dict__, "early_stopping": True, "patience": 2, "action_epochs": 15,
                                "cap_factor": 2.0, "action_watch_loss": True})
    model = train_action_model(clips, labels, 2, seed=0, config=config)
    log = model.training_log
    assert log.max_epochs == 30 and log.epochs < 30  # the cap: cap_factor (2) times the 15 epochs
    assert log.best_epoch <= log.epochs and len(log.validation) == len(log.train_loss) == log.epochs
    # the last `patience` epochs raised the score by no more than min_delta and cut the loss by no more than
    # min_delta_loss of what came before
    assert max(log.validation[-2:]) <= max(log.validation[:-2]) + config.min_delta
    assert min(log.validation_loss[-2:]) >= min(log.validation_loss[:-2]) * (1 - config.min_delta_loss)
    assert log.num_validation == 6 and log.num_train == 34
    # the weights kept are the best epoch's: they score its validation figure on the held-out videos
    _, held_out = validation_split(40, config, seed=0)
    top1 = (predict_action(model, clips[held_out]).argmax(dim=1) == labels[held_out]).float().mean().item()
    assert top1 == pytest.approx(log.validation[log.best_epoch - 1])
    assert log.seconds > 0 and log.cpu_seconds > 0
    # a learnable set keeps improving (top-1, then the validation loss) for longer than the plateau lasted
    learnable = train_action_model(clips, _bright_dark(40, seed=0)[1], 2, seed=0, config=config).training_log
    assert learnable.epochs > log.epochs and max(learnable.validation) == 1.0
    # without early stopping every epoch runs and nothing is held out
    plain = train_action_model(clips, labels, 2, epochs=3, seed=0, config=TINY).training_log
    assert (plain.epochs, plain.best_epoch, plain.num_validation, plain.validation) == (3, 3, 0, [])


def test_finetuned_attacker_starts_from_the_raw_trained_weights():
    clips, privacy = _privacy_set(32, seed=0)
    raw = train_frame_attacker(clips, privacy, seed=0, config=TINY)
    anonymized = (clips.float() * 0.8 + 20).to(torch.uint8)  # a mild change of the same content
    before = {key: value.clone() for key, value in raw.state_dict().items()}
    tuned = train_frame_attacker(anonymized, privacy, seed=1, epochs=2, config=TINY, init_model=raw)
    fresh = train_frame_attacker(anonymized, privacy, seed=1, epochs=2, config=TINY)
    assert tuned.training_log.train_loss[0] < fresh.training_log.train_loss[0]
    # the raw-trained attacker is copied, not changed; its input normalisation is kept
    for key, value in raw.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)
    torch.testing.assert_close(tuned.pixel_mean, raw.pixel_mean)
    assert tuned is not raw and tuned.model is not raw.model
    video_raw = train_video_attacker(clips, privacy, seed=0, epochs=2, config=TINY)
    video_tuned = train_video_attacker(anonymized, privacy, seed=1, epochs=1, config=TINY, init_model=video_raw)
    video_fresh = train_video_attacker(anonymized, privacy, seed=1, epochs=1, config=TINY)
    assert video_tuned.training_log.train_loss[0] < video_fresh.training_log.train_loss[0]
    with pytest.raises(ValueError, match="init_model"):
        train_video_attacker(clips, privacy, config=TINY, init_model=raw)  # a frame model for a video attacker


def test_bf16_autocast_training_learns_and_keeps_float32_weights():
    from transformers_vidanon.evaluation.fresh_training import bf16_is_fast

    assert isinstance(bf16_is_fast(), bool)
    clips, labels = _bright_dark(16, seed=0)
    model = train_action_model(clips, labels, 2, seed=0, config=FreshModelConfig(**{**TINY.__dict__, "bf16": True}))
    assert all(parameter.dtype == torch.float32 for parameter in model.parameters())
    test_clips, test_labels = _bright_dark(12, seed=1)
    assert (predict_action(model, test_clips).argmax(dim=1) == test_labels).all()


def _pad_crop_reference(x: torch.Tensor, generator: torch.Generator, max_shift: int, flip: bool) -> torch.Tensor:
    """The augmentation as it was written before the one-gather version: flip, replicate-pad, crop per sample."""
    import torch.nn.functional as F

    batch = x.shape[0]
    if flip:
        flips = torch.rand(batch, generator=generator) < 0.5
        if flips.any():
            x = x.clone()
            x[flips] = x[flips].flip(-1)
    height, width = x.shape[-2:]
    lead = x.shape[1:-2]
    padded = F.pad(x.reshape(batch, -1, height, width), (max_shift,) * 4, mode="replicate")
    offsets = torch.randint(0, 2 * max_shift + 1, (batch, 2), generator=generator)
    return torch.stack([padded[i, :, dy : dy + height, dx : dx + width]
                        for i, (dy, dx) in enumerate(offsets.tolist())]).reshape(batch, *lead, height, width)


@pytest.mark.parametrize("flip", [False, True])
def test_one_gather_augmentation_is_flip_pad_and_crop_in_any_layout(flip):
    from transformers_vidanon.evaluation.fresh_training.clips import augment

    clips = torch.randint(0, 256, (6, 4, 3, 10, 12), dtype=torch.uint8)
    expected = _pad_crop_reference(clips.float(), torch.Generator().manual_seed(5), 3, flip)
    out = augment(clips, torch.Generator().manual_seed(5), 3, flip=flip)
    assert out.dtype == torch.uint8 and torch.equal(out.float(), expected)  # the same draws, the same pixels
    last = augment(clips.movedim(-3, -1).contiguous(), torch.Generator().manual_seed(5), 3, flip=flip,
                    channels_last=True)
    assert torch.equal(last.movedim(-1, -3).float(), expected)
    # no shift and no flip: the input itself
    assert augment(clips, torch.Generator().manual_seed(5), 0, flip=False) is clips


def test_channels_last_models_give_the_default_layouts_logits():
    from transformers_vidanon.classifiers import is_channels_last
    from transformers_vidanon.evaluation.fresh_training import CHANNELS_LAST_MODELS

    clips, privacy = _privacy_set(12, seed=0)
    for train in (train_frame_attacker, train_video_attacker):
        fast = train(clips, privacy, seed=0, epochs=1, config=TINY)
        plain = train(clips, privacy, seed=0, epochs=1, config=FreshModelConfig(**{**TINY.__dict__,
                                                                                   "channels_last": False}))
        assert fast.channels_last and not plain.channels_last
        assert type(fast.model).__name__ in CHANNELS_LAST_MODELS
        convs = [m for m in fast.model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Conv3d))]
        assert convs and all(is_channels_last(conv.weight) if conv.weight.dim() == 4 else
                             conv.weight.is_contiguous(memory_format=torch.channels_last_3d) for conv in convs)
        # the same training in the other layout: the same model up to float rounding
        predict = predict_frame_attacker if train is train_frame_attacker else predict_video_attacker
        a, b = predict(fast, clips), predict(plain, clips)
        a, b = (a.logits, b.logits) if train is train_frame_attacker else (a, b)
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-3)
    videomae = train_action_model(*_bright_dark(8, seed=0), 2, epochs=1, config=FreshModelConfig(
        **{**TINY.__dict__, "action_architecture": "videomae"}))
    assert not videomae.channels_last  # other architectures keep the default layout


def test_patience_stops_a_training_and_a_binding_cap_is_recorded():
    clips, _ = _bright_dark(40, seed=0)
    plateau = torch.randperm(40, generator=torch.Generator().manual_seed(0)) % 2  # nothing to learn
    config = FreshModelConfig(**{**TINY.__dict__, "early_stopping": True, "patience": 2, "action_epochs": 15,
                                "schedule": "cosine", "cap_factor": 2.0, "min_lr_ratio": 0.05})
    stopped = train_action_model(clips, plateau, 2, seed=0, config=config).training_log
    assert stopped.schedule == "cosine" and stopped.stopped_by == "patience" and stopped.epochs < 30
    assert stopped.cap_bound is False and stopped.best_epoch <= 30 - 2
    # a model trained past the schedule's 15 epochs learns at min_lr_ratio of the peak rate until patience stops it
    long = train_action_model(clips, _bright_dark(40, seed=0)[1], 2, seed=0, lr=1e-3, config=FreshModelConfig(
        **{**config.__dict__, "action_epochs": 2, "patience": 3})).training_log
    assert (long.max_epochs, long.epochs) == (4, 4)
    assert long.learning_rates[1:] == pytest.approx([1e-3 * config.min_lr_ratio] * 3)
    # the plateau schedule (the default): every `lr_patience` stalled epochs lower the rate by lr_decay
    assert FreshModelConfig().schedule == "plateau"
    on_plateau = train_action_model(clips, plateau, 2, seed=0, config=FreshModelConfig(
        **{**config.__dict__, "schedule": "plateau", "lr_patience": 1})).training_log
    assert on_plateau.schedule == "plateau" and on_plateau.stopped_by == "patience"
    assert on_plateau.learning_rates[-1] <= on_plateau.learning_rates[0] * config.lr_decay * (1 + 1e-6)
    # a learnable set with a cap of 2 epochs: still improving when the cap stops it
    capped = train_action_model(clips, _bright_dark(40, seed=0)[1], 2, seed=0, config=FreshModelConfig(
        **{**config.__dict__, "action_epochs": 2, "cap_factor": 1.0})).training_log
    assert (capped.epochs, capped.max_epochs, capped.stopped_by, capped.cap_bound) == (2, 2, "cap", True)
    # without early stopping a fixed number of epochs runs, on the cosine schedule, and no cap is judged
    plain = train_action_model(clips, plateau, 2, epochs=3, seed=0, config=TINY).training_log
    assert (plain.stopped_by, plain.cap_bound, plain.schedule, plain.patience) == ("epochs", None, "cosine", 0)
    with pytest.raises(ValueError, match="schedule"):
        FreshModelConfig(schedule="step")


def test_the_action_model_stops_when_its_top1_stops_rising_the_attackers_watch_their_loss_too():
    clips, labels = _bright_dark(40, seed=0)  # learnt within an epoch or two: top-1 1.0, the loss falls on
    config = FreshModelConfig(**{**TINY.__dict__, "early_stopping": True, "patience": 2, "action_epochs": 12})
    by_score = train_action_model(clips, labels, 2, seed=0, config=config).training_log
    by_loss = train_action_model(clips, labels, 2, seed=0, config=FreshModelConfig(
        **{**config.__dict__, "action_watch_loss": True})).training_log
    top = max(by_score.validation)
    first_top = by_score.validation.index(top) + 1
    assert by_score.stopped_by == "patience" and by_score.epochs == first_top + 2
    assert by_loss.epochs > by_score.epochs  # the falling validation loss kept it training
