"""The pixel scorer (`transformers_vidanon.pixel_scorer`): tubelet pixels in token order, a loss that reaches the
scorer alone and targets the attention's own choices, a ranking that prunes what the scorer scores high, a saved
model that anonymizes with it, and refusals that name the field."""

from __future__ import annotations

import pytest
import torch
from _trainer_fixtures import ListDataset, examples, training_args

from transformers_vidanon import VidAnonConfig, VidAnonForPrivacyPreservingActionRecognition
from transformers_vidanon.pixel_scorer import pixel_scorer_loss, tubelet_pixels

torch.set_num_threads(1)


def scorer_model(**overrides) -> VidAnonForPrivacyPreservingActionRecognition:
    torch.manual_seed(0)
    values = {"image_size": 16, "patch_size": 4, "num_frames": 4, "tubelet_size": 2, "hidden_size": 32,
              "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 37, "pruning_layers": [0],
              "keep_rate": 0.5, "num_labels": 2, "pixel_scorer_hidden_size": 8}
    return VidAnonForPrivacyPreservingActionRecognition(VidAnonConfig(**{**values, **overrides}))


def test_tubelet_pixels_follow_the_token_order_of_the_embedding():
    # every pixel holds the index of its tubelet in time-major, row, column order
    slots, rows, cols = 2, 4, 4
    index = torch.arange(slots * rows * cols, dtype=torch.float32).view(slots, 1, rows, 1, cols, 1)
    video = index.expand(slots, 2, rows, 4, cols, 4).reshape(1, slots * 2, 1, rows * 4, cols * 4).expand(-1, -1, 3, -1, -1)
    pixels = tubelet_pixels(video, (slots, rows, cols))
    assert pixels.shape == (1, 32, 2 * 3 * 4 * 4)
    assert torch.equal(pixels, torch.arange(32.0).view(1, 32, 1).expand_as(pixels))
    # the same order as the model's tokens: the tubelet projection of a one-hot image lights up one token
    model = scorer_model(image_mean=None, image_std=None)
    hot = torch.zeros(1, 4, 3, 16, 16)
    hot[:, 2:, :, 4:8, 8:12] = 1.0  # time slot 1, row 1, column 2: token 16 + 4 + 2 = 22
    with torch.no_grad():
        tokens = model.vidanon.embeddings.patch_embeddings(hot) - model.vidanon.embeddings.patch_embeddings(hot * 0)
    assert tokens.abs().sum(-1).nonzero()[:, 1].tolist() == [22]
    assert tubelet_pixels(hot, (2, 4, 4)).sum(-1).nonzero()[:, 1].tolist() == [22]
    with pytest.raises(ValueError, match="tubelet grid"):
        tubelet_pixels(torch.zeros(1, 5, 3, 16, 16), (2, 4, 4))


def test_the_fit_learns_the_frozen_models_own_masks_and_moves_the_scorer_alone():
    from transformers_vidanon.training.pixel_scorer import fit_pixel_scorer

    model = scorer_model()
    batches = [{"pixel_values": torch.stack([e["pixel_values"] for e in examples(8)[i:i + 4]])} for i in (0, 4)]
    # the target is the attention's hard mask at the given lambda_priv
    clips = batches[0]["pixel_values"]
    with model.pruning_overridden(lambda_priv=100.0):
        keep = model.keep_mask(clips)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(
        model.vidanon.pixel_scorer(clips, model.config.tubelet_grid), 1.0 - keep.flatten(1))
    assert torch.allclose(pixel_scorer_loss(model.vidanon.pixel_scorer(clips, model.config.tubelet_grid), keep),
                          expected)
    before = {name: value.clone() for name, value in model.state_dict().items()}
    steps = []
    losses = fit_pixel_scorer(model.train(), lambda epoch: batches, epochs=30, learning_rate=1e-2, lambda_priv=100.0,
                              on_step=steps.append)
    assert len(losses) == 30 and len(steps) == 60
    assert losses[-1] < 0.5 * losses[0]
    assert model.training and model.config.lambda_priv == VidAnonConfig().lambda_priv  # mode, settings restored
    changed = {name for name, value in model.state_dict().items() if not torch.equal(value, before[name])}
    assert changed and all(name.startswith("vidanon.pixel_scorer.") for name in changed)
    with pytest.raises(ValueError, match="pixel_scorer_hidden_size"):
        fit_pixel_scorer(scorer_model(pixel_scorer_hidden_size=0), lambda epoch: batches, 1, 1e-3)


def test_pixels_ranking_prunes_what_the_scorer_scores_high_at_the_attentions_budget():
    model = scorer_model().eval()
    scorer = model.vidanon.pixel_scorer
    with torch.no_grad():  # prune logit = GELU(mean of 2x - 1): the brighter a tubelet, the likelier it is pruned
        scorer.dense.weight.zero_()
        scorer.dense.weight[0] = 1.0 / scorer.dense.in_features
        scorer.dense.bias.zero_()
        scorer.classifier.weight.zero_()
        scorer.classifier.weight[0, 0] = 1.0
        scorer.classifier.bias.zero_()
    brightness = 0.5 + 0.5 * torch.rand(2, 2, 4, 4, generator=torch.Generator().manual_seed(2))
    clips = brightness.repeat_interleave(2, 1)[:, :, None].repeat_interleave(4, 3).repeat_interleave(4, 4)
    clips = clips.expand(-1, -1, 3, -1, -1).contiguous()
    attention_mask = model.keep_mask(clips)
    with model.pruning_overridden(pruning_score="pixels"):
        mask = model.keep_mask(clips)
        assert torch.equal(model(clips).keep_mask, mask)
    assert model.config.pruning_score == "attention"  # restored after the block
    assert torch.equal(mask.sum((1, 2, 3)), attention_mask.sum((1, 2, 3)))  # the same budget
    for b in range(2):
        kept = brightness[b].flatten()[mask[b].flatten() > 0]
        pruned = brightness[b].flatten()[mask[b].flatten() == 0]
        assert kept.max() < pruned.min()
    assert not torch.equal(mask, attention_mask)


def test_a_saved_model_keeps_its_scorer_and_pruning_score(tmp_path):
    model = scorer_model(pruning_score="pixels").eval()
    model.save_pretrained(tmp_path / "m")
    loaded = VidAnonForPrivacyPreservingActionRecognition.from_pretrained(tmp_path / "m").eval()
    assert loaded.config.pruning_score == "pixels" and loaded.config.pixel_scorer_hidden_size == 8
    clips = torch.rand(2, 4, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    assert torch.equal(loaded.keep_mask(clips), model.keep_mask(clips))
    assert torch.equal(loaded.vidanon.pixel_scorer.dense.weight, model.vidanon.pixel_scorer.dense.weight)


def test_bad_settings_are_refused_by_name(tmp_path):
    from transformers_vidanon.training.arguments import (
        AdversarialTrainingArguments,
        DataArguments,
        ModelArguments,
        validate_arguments,
    )

    with pytest.raises(ValueError, match="pixel_scorer_hidden_size"):
        VidAnonConfig(pruning_score="pixels")
    with pytest.raises(ValueError, match="pruning_score"):
        VidAnonConfig(pixel_scorer_hidden_size=8, pruning_score="pixel")
    with pytest.raises(ValueError, match="pixel_scorer_hidden_size"):
        VidAnonConfig(pixel_scorer_hidden_size=-1)
    plain = VidAnonForPrivacyPreservingActionRecognition(VidAnonConfig(
        image_size=16, patch_size=4, num_frames=4, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=37, pruning_layers=[0], keep_rate=0.5, num_labels=2))
    with pytest.raises(ValueError, match="pixel_scorer_hidden_size"), plain.pruning_overridden(pruning_score="pixels"):
        pass
    assert plain.config.pruning_score == "attention"
    training = AdversarialTrainingArguments(output_dir=str(tmp_path), inference_pruning_score="pixels")
    with pytest.raises(ValueError, match="pixel_scorer_hidden_size"):
        validate_arguments(ModelArguments(), DataArguments(), training)
    with pytest.raises(ValueError, match="inference_pruning_score"):
        validate_arguments(ModelArguments(), DataArguments(),
                           AdversarialTrainingArguments(output_dir=str(tmp_path), inference_pruning_score="pixel"))
    validate_arguments(ModelArguments(pixel_scorer_hidden_size=8), DataArguments(), training)


def test_training_fits_the_scorer_and_saves_a_model_that_ranks_by_it(tmp_path):
    from transformers_vidanon.training.trainer import AdversarialTrainer

    model = scorer_model(tubelet_size=4)
    before = model.vidanon.pixel_scorer.dense.weight.detach().clone()
    args = training_args(tmp_path / "run", save_final_model=True, inference_pruning_score="pixels", max_steps=2,
                         pixel_scorer_epochs=3)
    result = AdversarialTrainer(model, args, ListDataset(examples(4))).train()
    assert model.config.pruning_score == "attention"  # the training model ranks by the attention
    assert not torch.equal(model.vidanon.pixel_scorer.dense.weight, before)
    import json

    logged = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["pixel_scorer_epoch"] for r in logged if "pixel_scorer_loss" in r] == [1, 2, 3]
    saved = VidAnonForPrivacyPreservingActionRecognition.from_pretrained(result.model_dir)
    assert saved.config.pruning_score == "pixels"


def test_the_model_card_names_the_score_the_model_ranks_by(tmp_path):
    from transformers_vidanon.reporting.modelcard import save_model_card

    for score, expected, absent in (("pixels", "ranked by the pixel scorer", "`lambda_priv` ="),
                                    ("attention", "`lambda_priv` = 0.5", "ranked by the pixel scorer")):
        model = scorer_model(pruning_score=score)
        folder = tmp_path / score
        folder.mkdir()
        save_model_card(folder, config=model.config, results=None)
        card = (folder / "README.md").read_text()
        assert expected in card and absent not in card
