"""VidAnon with transformers' own machinery: `GradientCheckpointingLayer` with either checkpoint variant, building on
the meta device, `output_attentions` leaving the computation alone, and `Trainer.predict` keeping only logits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset
from transformers import Trainer, TrainingArguments

from transformers_vidanon import VidAnonConfig, VidAnonForPrivacyPreservingActionRecognition
from transformers_vidanon.modeling_vidanon import VidAnonLayer

torch.set_num_threads(1)


def tiny_config(**overrides) -> VidAnonConfig:
    values = dict(image_size=16, patch_size=4, num_frames=4, tubelet_size=2, hidden_size=32, num_hidden_layers=3,
                  num_attention_heads=4, intermediate_size=37, pruning_layers=[0, 1], keep_rate=0.5, num_labels=3)
    values.update(overrides)
    return VidAnonConfig(**values)


def pixels(batch: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.rand(batch, 4, 3, 16, 16, generator=torch.Generator().manual_seed(seed))


def gradients(model: VidAnonForPrivacyPreservingActionRecognition) -> dict[str, torch.Tensor]:
    model.train()
    out = model(pixels(), labels=torch.tensor([0, 2]), privacy_labels=torch.ones(2, model.config.num_privacy_labels))
    # the anonymized video carries the straight-through gradient of the keep mask towards the pruning scores
    (out.loss + out.anonymized_pixel_values.mean()).backward()
    return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("use_reentrant", [True, False])
def test_checkpointed_step_gives_the_plain_gradients(use_reentrant):
    torch.manual_seed(0)
    reference = VidAnonForPrivacyPreservingActionRecognition(tiny_config())
    expected = gradients(reference)
    # the pruning layers' query/key get a gradient only through the straight-through keep mask (soft keep)
    assert expected["vidanon.encoder.layer.1.attention.attention.key.weight"].abs().sum() > 0

    torch.manual_seed(0)
    model = VidAnonForPrivacyPreservingActionRecognition(tiny_config())
    model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": use_reentrant})
    layers = model.vidanon.encoder.layer
    assert all(isinstance(layer, VidAnonLayer) and layer.gradient_checkpointing for layer in layers)
    assert all(layer._gradient_checkpointing_func.keywords == {"use_reentrant": use_reentrant} for layer in layers)
    calls = []
    original = layers[0]._gradient_checkpointing_func
    layers[0]._gradient_checkpointing_func = lambda *a, **k: calls.append(1) or original(*a, **k)
    got = gradients(model)
    assert calls == [1]  # the layer did run through the checkpoint function
    assert got.keys() == expected.keys()
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], rtol=1e-5, atol=1e-7, msg=name)


def test_building_on_the_meta_device():
    from accelerate import init_empty_weights

    config = tiny_config(drop_path_rate=0.1)
    with torch.device("meta"):
        model = VidAnonForPrivacyPreservingActionRecognition(config)
    assert {p.device.type for p in model.parameters()} == {"meta"}
    assert [layer.drop_path.drop_prob for layer in model.vidanon.encoder.layer] == pytest.approx([0.0, 0.05, 0.1])
    with init_empty_weights():
        empty = VidAnonForPrivacyPreservingActionRecognition(config)
    assert {p.device.type for p in empty.parameters()} == {"meta"}

    # materialised and filled with a real model's weights, it computes what the real model computes
    torch.manual_seed(0)
    real = VidAnonForPrivacyPreservingActionRecognition(config).eval()
    model.to_empty(device="cpu")
    model.apply(model._init_weights)  # the non-persistent buffers (position table, mean / std)
    model.load_state_dict(real.state_dict())
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(pixels()).logits, real(pixels()).logits, rtol=0, atol=0)


@pytest.mark.parametrize("implementation", ["sdpa", "eager"])
def test_output_attentions_changes_nothing_else(implementation):
    torch.manual_seed(0)
    model = VidAnonForPrivacyPreservingActionRecognition(tiny_config(num_hidden_layers=4, pruning_layers=[0, 1, 2]))
    model.config._attn_implementation = implementation
    model.eval()
    x = pixels(batch=8, seed=1)
    with torch.no_grad():
        plain = model(x)
        with_maps = model(x, output_attentions=True, output_hidden_states=True)
    assert torch.equal(plain.kept_tubelet_indices, with_maps.kept_tubelet_indices)
    assert torch.equal(plain.logits, with_maps.logits) and torch.equal(plain.privacy_logits, with_maps.privacy_logits)
    assert torch.equal(plain.anonymized_pixel_values, with_maps.anonymized_pixel_values)
    assert len(with_maps.attentions) == 4 and with_maps.attentions[0].shape == (8, 4, 34, 34)
    torch.testing.assert_close(with_maps.attentions[0].sum(-1), torch.ones(8, 4, 34))


class _Clips(Dataset):
    def __init__(self, num: int, num_privacy_labels: int) -> None:
        self.num, self.num_privacy_labels = num, num_privacy_labels

    def __len__(self) -> int:
        return self.num

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"pixel_values": pixels(batch=1, seed=index)[0], "labels": torch.tensor(index % 3),
                "privacy_labels": torch.full((self.num_privacy_labels,), float(index % 2))}


def test_trainer_predictions_hold_only_the_logits(tmp_path):
    torch.manual_seed(0)
    model = VidAnonForPrivacyPreservingActionRecognition(tiny_config())
    dataset = _Clips(6, model.config.num_privacy_labels)
    args = TrainingArguments(output_dir=str(tmp_path), per_device_eval_batch_size=4, report_to=[], use_cpu=True,
                             disable_tqdm=True)
    trainer = Trainer(model=model, args=args, eval_dataset=dataset)
    output = trainer.predict(dataset)
    assert isinstance(output.predictions, np.ndarray) and output.predictions.shape == (6, 3)
    model.eval()
    with torch.no_grad():
        expected = model(torch.stack([dataset[i]["pixel_values"] for i in range(6)])).logits
    np.testing.assert_allclose(output.predictions, expected.numpy(), rtol=1e-5, atol=1e-6)
    labels, privacy_labels = output.label_ids
    assert labels.tolist() == [0, 1, 2, 0, 1, 2] and privacy_labels.shape == (6, model.config.num_privacy_labels)
    assert np.isfinite(output.metrics["test_loss"])
    kept = trainer.predict(dataset, ignore_keys=[]).predictions  # asking for everything still works
    assert isinstance(kept, tuple) and len(kept) > 1


def test_a_training_step_traces_as_one_graph():
    """torch.compile sees the whole training step (forward, both losses, pruning) as one graph: no Python `if` on a
    tensor and no boolean indexing on the way."""
    import torch._dynamo as dynamo

    torch.manual_seed(0)
    model = VidAnonForPrivacyPreservingActionRecognition(tiny_config()).train()
    privacy = torch.tensor([[1.0, 0.0, float("nan"), 1.0, 0.0], [0.0, 1.0, 1.0, float("nan"), 1.0]])

    def step(x, labels, privacy_labels):
        out = model(x, labels=labels, privacy_labels=privacy_labels, grl_coefficient=0.5)
        return out.loss + out.anonymized_pixel_values.mean()

    explanation = dynamo.explain(step)(pixels(), torch.tensor([0, -100]), privacy)
    assert explanation.graph_break_count == 0, [reason.reason[:200] for reason in explanation.break_reasons]
    assert explanation.graph_count == 1
    model.eval()
    with torch.no_grad():
        assert dynamo.explain(lambda x: model(x).logits)(pixels()).graph_break_count == 0


def test_masked_losses_average_the_known_entries_only():
    from transformers_vidanon.modeling_vidanon import masked_binary_cross_entropy, masked_cross_entropy

    logits = torch.randn(4, 3, generator=torch.Generator().manual_seed(0), requires_grad=True)
    labels = torch.tensor([2, -100, 0, -1])
    expected = torch.nn.functional.cross_entropy(logits[[0, 2]], labels[[0, 2]])
    torch.testing.assert_close(masked_cross_entropy(logits, labels), expected)
    unknown = masked_cross_entropy(logits, torch.full((4,), -100))
    unknown.backward()
    assert unknown.item() == 0.0 and logits.grad.abs().sum() == 0  # nothing known: 0, and no gradient

    targets = torch.tensor([[1.0, float("nan"), 0.0], [float("nan"), 1.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    known = torch.isfinite(targets)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits.detach()[known], targets[known])
    torch.testing.assert_close(masked_binary_cross_entropy(logits.detach(), targets), expected)
    assert masked_binary_cross_entropy(logits.detach(), torch.full((4, 3), float("nan"))).item() == 0.0


def test_pruning_overridden_restores_the_settings_even_after_an_error():
    model = VidAnonForPrivacyPreservingActionRecognition(VidAnonConfig(image_size=16, patch_size=8, num_frames=4, tubelet_size=2, hidden_size=16,
                                       num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                                       pruning_layers=[0], keep_rate=0.5, lambda_priv=1.0)).eval()
    pixels = torch.rand(1, 4, 3, 16, 16)
    with model.pruning_overridden(keep_rate=0.25, lambda_priv=0.0) as same:
        assert same is model and model.config.keep_rate == 0.25 and model.config.lambda_priv == 0.0
        assert int(model.anonymize(pixels).keep_mask.sum()) == 2  # 8 tubelets, a quarter kept
    assert (model.config.keep_rate, model.config.lambda_priv) == (0.5, 1.0)
    with pytest.raises(RuntimeError, match="inside"), model.pruning_overridden(keep_rate=0.75):
        raise RuntimeError("inside")
    assert model.config.keep_rate == 0.5
    with pytest.raises(ValueError, match="keep_rate"), model.pruning_overridden(keep_rate=2.0):
        pass
    assert model.config.keep_rate == 0.5
