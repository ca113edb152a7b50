"""Tests of VidAnonConfig / VidAnonModel / VidAnonForPrivacyPreservingActionRecognition (tiny configs)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import torch
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForVideoClassification,
    VideoMAEConfig,
    VideoMAEForPreTraining,
    VideoMAEForVideoClassification,
    VideoMAEModel,
    ViTConfig,
    ViTModel,
)

from transformers_vidanon import (
    VidAnonConfig,
    VidAnonForPrivacyPreservingActionRecognition,
    VidAnonModel,
)
from transformers_vidanon.pruning import cls_attention, prune_tokens


class VidAnonModelTester:
    """Tiny VidAnon configs: 16 x 16 frames, patch 4, 4 frames, tubelet 2 -> 2 x 4 x 4 = 32 tubelets."""

    def __init__(self, batch_size: int = 2, **overrides):
        self.batch_size = batch_size
        self.kwargs = dict(
            image_size=16, patch_size=4, num_channels=3, num_frames=4, tubelet_size=2, hidden_size=32,
            num_hidden_layers=3, num_attention_heads=4, intermediate_size=37, pruning_layers=[0, 1],
            keep_rate=0.5, num_labels=3,
        )
        self.kwargs.update(overrides)

    def get_config(self, **overrides) -> VidAnonConfig:
        return VidAnonConfig(**{**self.kwargs, **overrides})

    def prepare_inputs(self, config: VidAnonConfig, seed: int = 0) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        return torch.rand(self.batch_size, config.num_frames, 3, config.image_size, config.image_size, generator=generator)

    def model(self, seed: int = 0, **overrides) -> VidAnonForPrivacyPreservingActionRecognition:
        torch.manual_seed(seed)
        return VidAnonForPrivacyPreservingActionRecognition(self.get_config(**overrides)).eval()

    def create_and_check_shapes(self) -> None:
        config = self.get_config()
        model = VidAnonModel(config).eval()
        pixel_values = self.prepare_inputs(config)
        out = model(pixel_values, output_hidden_states=True, output_attentions=True)
        # 32 tubelets -> ceil(0.5 * 32) = 16 -> ceil(0.5 * (16 + fused)) = 9
        assert out.kept_tubelet_indices.shape == (2, 9)
        assert [s.shape for s in out.pruning_scores] == [(2, 32), (2, 16)]
        assert out.last_hidden_state.shape == (2, 2 + 9 + 1, 32)
        assert [h.shape[1] for h in out.hidden_states] == [34, 2 + 16 + 1, 2 + 9 + 1, 2 + 9 + 1]
        assert [a.shape for a in out.attentions] == [(2, 4, 34, 34), (2, 4, 19, 19), (2, 4, 12, 12)]
        assert out.keep_mask.shape == (2, 2, 4, 4)
        assert out.keep_mask.sum(dim=(1, 2, 3)).tolist() == [9.0, 9.0]
        torch.testing.assert_close(out.action_cls_output, out.last_hidden_state[:, 0])
        torch.testing.assert_close(out.privacy_cls_output, out.last_hidden_state[:, 1])


def test_shapes_and_pruned_lengths():
    VidAnonModelTester().create_and_check_shapes()


def test_batch_of_one_and_tuple_outputs():
    tester = VidAnonModelTester(batch_size=1)
    model = tester.model()
    pixel_values = tester.prepare_inputs(model.config)
    out = model(pixel_values)
    as_tuple = model(pixel_values, return_dict=False)
    assert out.logits.shape == (1, 3) and out.privacy_logits.shape == (1, 5)
    torch.testing.assert_close(as_tuple[0], out.logits)


def test_paper_schedule_token_counts():
    config = VidAnonConfig(num_hidden_layers=9, hidden_size=24, num_attention_heads=2, intermediate_size=8)
    assert config.num_tubelets == 1568
    model = VidAnonModel(config).eval()
    with torch.no_grad():
        out = model(torch.rand(1, 16, 3, 224, 224))
    assert [s.shape[1] for s in out.pruning_scores] == [1568, 1412, 1272]
    assert out.kept_tubelet_indices.shape[1] == 1146  # about 73% of the tubelets survive


def test_keep_rate_one_keeps_every_token():
    tester = VidAnonModelTester(keep_rate=1.0)
    model = tester.model()
    out = model(tester.prepare_inputs(model.config))
    assert out.kept_tubelet_indices.tolist() == [list(range(32))] * 2
    assert bool((out.keep_mask == 1).all())
    torch.testing.assert_close(out.anonymized_pixel_values, tester.prepare_inputs(model.config), rtol=0, atol=0)


def test_cls_scores_equal_eager_attention_rows():
    tester = VidAnonModelTester()
    model = tester.model(pruning_layers=[1])
    model.config._attn_implementation = "eager"
    captured = {}

    def hook(module, args, kwargs, output):
        captured["hidden"] = args[0]

    layer = model.vidanon.encoder.layer[1]
    handle = layer.attention.attention.register_forward_hook(hook, with_kwargs=True)
    out = model(tester.prepare_inputs(model.config), output_attentions=True)
    handle.remove()
    attention = layer.attention.attention
    hidden = captured["hidden"]
    shape = (*hidden.shape[:2], 4, 8)
    query = attention.query(hidden).view(shape).transpose(1, 2)
    key = attention.key(hidden).view(shape).transpose(1, 2)
    from_qk = cls_attention(query, key, (0, 1), slice(2, 34))
    rows = out.attentions[1][:, :, :2, 2:34].mean(dim=1)
    expected = rows / rows.sum(-1, keepdim=True)
    torch.testing.assert_close(from_qk, expected)
    # the score of layer 1 is a_act - lambda * a_priv of those rows
    torch.testing.assert_close(out.pruning_scores[0], expected[:, 0] - 0.5 * expected[:, 1])


def test_sdpa_and_eager_agree():
    tester = VidAnonModelTester()
    sdpa = tester.model()
    eager = tester.model()
    eager.config._attn_implementation = "eager"
    pixel_values = tester.prepare_inputs(sdpa.config)
    a, b = sdpa(pixel_values), eager(pixel_values)
    torch.testing.assert_close(a.logits, b.logits, rtol=1e-4, atol=1e-5)
    assert torch.equal(a.kept_tubelet_indices, b.kept_tubelet_indices)


def test_kept_indices_are_top_k_of_score():
    tester = VidAnonModelTester(pruning_layers=[1], keep_rate=0.25)
    model = tester.model()
    out = model(tester.prepare_inputs(model.config))
    scores = out.pruning_scores[0]
    top = scores.topk(8, dim=-1).indices.sort(-1).values
    assert torch.equal(out.kept_tubelet_indices, top)
    # every kept score beats every pruned score
    for b in range(2):
        kept = set(out.kept_tubelet_indices[b].tolist())
        kept_scores = torch.stack([scores[b, i] for i in kept]).detach()
        pruned_scores = torch.stack([scores[b, i] for i in range(32) if i not in kept]).detach()
        assert kept_scores.min() >= pruned_scores.max()


def test_lambda_priv_changes_selection_in_the_expected_direction():
    tester = VidAnonModelTester(pruning_layers=[1], keep_rate=0.5)
    pixel_values = tester.prepare_inputs(tester.get_config())
    kept_privacy_mass = []
    for lam in (0.0, 5.0):
        model = tester.model(lambda_priv=lam)
        model.config._attn_implementation = "eager"
        out = model(pixel_values, output_attentions=True)
        rows = out.attentions[1][:, :, 1, 2:34].mean(1)
        a_priv = rows / rows.sum(-1, keepdim=True)
        kept_privacy_mass.append(a_priv.gather(1, out.kept_tubelet_indices).sum().item())
    assert kept_privacy_mass[1] < kept_privacy_mass[0]


def test_fused_token_equals_weighted_sum_of_pruned():
    tester = VidAnonModelTester(pruning_layers=[1], num_hidden_layers=2)
    model = tester.model()
    model.config._attn_implementation = "eager"
    layer = model.vidanon.encoder.layer[1]
    captured = {}
    # capture the sequence right after pruning (input of layernorm_after)
    def capture(name):
        def hook(module, args, output):
            captured.setdefault(name, args[0])  # returns None: the output is left alone

        return hook

    handle = layer.layernorm_after.register_forward_hook(capture("pruned"))
    handle2 = layer.layernorm_before.register_forward_hook(capture("before"))
    out = model(tester.prepare_inputs(model.config), output_attentions=True)
    handle.remove(), handle2.remove()
    # recompute the attention residual output the layer produced before pruning
    before = captured["before"]
    attention = layer.attention(layer.layernorm_before(before), cls_positions=(0, 1), tubelet_slice=slice(2, 34))
    residual = before + attention.context
    a_act = attention.cls_attention[:, 0]
    kept = out.kept_tubelet_indices
    pruned_mask = torch.ones(2, 32).scatter(1, kept, 0.0)
    expected_fused = torch.einsum("bn,bnd->bd", a_act * pruned_mask, residual[:, 2:34])
    torch.testing.assert_close(captured["pruned"][:, -1], expected_fused)
    torch.testing.assert_close(captured["pruned"][:, 2:-1], residual[:, 2:34].gather(1, kept[..., None].expand(-1, -1, 32)))


def test_later_pruning_folds_into_the_same_fused_token():
    tester = VidAnonModelTester(pruning_layers=[0, 1, 2], keep_rate=0.5)
    model = tester.model()
    out = model(tester.prepare_inputs(model.config), output_hidden_states=True)
    # one fused token only: 2 CLS + kept + 1
    assert out.hidden_states[-1].shape[1] == 2 + out.kept_tubelet_indices.shape[1] + 1
    no_fuse = tester.model(pruning_layers=[0, 1, 2], keep_rate=0.5, fuse_pruned_tokens=False)
    out2 = no_fuse(tester.prepare_inputs(no_fuse.config), output_hidden_states=True)
    assert out2.hidden_states[-1].shape[1] == 2 + out2.kept_tubelet_indices.shape[1]


@pytest.mark.parametrize("fill", [0.0, 0.5])
def test_anonymized_pixels_exact(fill):
    tester = VidAnonModelTester()
    model = tester.model(anonymization_fill_value=fill)
    pixel_values = tester.prepare_inputs(model.config)
    out = model(pixel_values)
    anonymized = out.anonymized_pixel_values
    mask = out.keep_mask.bool()
    # (B, T', H', W') -> per-pixel (B, T, 1, H, W)
    pixel_mask = mask.repeat_interleave(2, 1).repeat_interleave(4, 2).repeat_interleave(4, 3)[:, :, None]
    pixel_mask = pixel_mask.expand_as(pixel_values)
    assert bool((anonymized[~pixel_mask] == fill).all())
    assert torch.equal(anonymized[pixel_mask], pixel_values[pixel_mask])
    # the tubelet indices and the mask agree (time-major flattening)
    for b in range(2):
        assert sorted(mask[b].flatten().nonzero().flatten().tolist()) == out.kept_tubelet_indices[b].tolist()
    direct = model.anonymize(pixel_values)
    assert torch.equal(direct.anonymized_pixel_values, anonymized)


def test_tube_mode_keeps_one_spatial_mask_for_all_time():
    tester = VidAnonModelTester(temporal_consistency="tube", num_frames=8)
    model = tester.model()
    out = model(tester.prepare_inputs(model.config))
    mask = out.keep_mask  # (B, 4, 4, 4)
    assert mask.shape == (2, 4, 4, 4)
    for t in range(1, 4):
        assert torch.equal(mask[:, t], mask[:, 0])
    # ceil(0.5 * 16) = 8 spatial positions, then ceil(0.5 * 8) = 4
    assert mask[:, 0].sum(dim=(1, 2)).tolist() == [4.0, 4.0]
    tubelet = tester.model(temporal_consistency="tubelet")(tester.prepare_inputs(model.config)).keep_mask
    assert any(not torch.equal(tubelet[:, t], tubelet[:, 0]) for t in range(1, 4))


def test_gradients_reach_both_cls_tokens_and_grl_flips_the_privacy_gradient():
    tester = VidAnonModelTester()
    pixel_values = tester.prepare_inputs(tester.get_config())
    privacy_labels = torch.tensor([[1.0, 0, 1, 0, 1], [0, 1, 0, 1, 0]])
    labels = torch.tensor([0, 2])
    model = tester.model()
    model.train()
    out = model(pixel_values, labels=labels, privacy_labels=privacy_labels)
    out.loss.backward()
    grad = model.vidanon.embeddings.cls_tokens.grad
    assert grad[0, 0].abs().sum() > 0 and grad[0, 1].abs().sum() > 0

    def privacy_grads(coefficient):
        m = tester.model()
        m.train()
        o = m(pixel_values, privacy_labels=privacy_labels, grl_coefficient=coefficient)
        o.loss.backward()
        return m.vidanon.embeddings.cls_tokens.grad[0, 1].clone(), m.privacy_classifier.weight.grad.clone()

    backbone_rev, head_rev = privacy_grads(1.0)
    m = tester.model()
    m.train()
    head_out = m.privacy_classifier(m.vidanon(pixel_values).privacy_cls_output)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(head_out, privacy_labels)
    loss.backward()
    backbone_plain = m.vidanon.embeddings.cls_tokens.grad[0, 1]
    torch.testing.assert_close(backbone_rev, -backbone_plain)
    torch.testing.assert_close(head_rev, m.privacy_classifier.weight.grad)
    backbone_half, _ = privacy_grads(0.5)
    torch.testing.assert_close(backbone_half, -0.5 * backbone_plain)


def test_straight_through_mask_carries_gradient_to_scores():
    tester = VidAnonModelTester()
    model = tester.model()
    model.train()
    pixel_values = tester.prepare_inputs(model.config)
    out = model(pixel_values)
    assert bool(((out.keep_mask == 0) | (out.keep_mask == 1)).all())
    out.anonymized_pixel_values.sum().backward()
    assert model.vidanon.embeddings.cls_tokens.grad[0, 0].abs().sum() > 0


def test_loss_is_weighted_sum():
    tester = VidAnonModelTester()
    model = tester.model(action_loss_weight=2.0)
    pixel_values = tester.prepare_inputs(model.config)
    labels = torch.tensor([1, 2])
    privacy = torch.tensor([[1.0, 0, 1, 0, 1], [0, 1, 0, 1, 0]])
    out = model(pixel_values, labels=labels, privacy_labels=privacy)
    ce = torch.nn.functional.cross_entropy(out.logits, labels)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(out.privacy_logits, privacy)
    torch.testing.assert_close(out.loss, 2.0 * ce + bce)
    with pytest.raises(ValueError, match="privacy_labels"):
        model(pixel_values, privacy_labels=privacy[:, :3])


def test_wrong_input_shape_names_the_argument():
    tester = VidAnonModelTester()
    model = tester.model()
    with pytest.raises(ValueError, match="pixel_values"):
        model(torch.rand(2, 4, 3, 20, 20))
    with pytest.raises(ValueError, match="pixel_values"):
        model(torch.rand(2, 3, 4, 16, 16))


def test_deterministic_init_and_save_load_round_trip(tmp_path):
    tester = VidAnonModelTester()
    a, b = tester.model(seed=3), tester.model(seed=3)
    for (name, pa), (_, pb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(pa, pb), name
    pixel_values = tester.prepare_inputs(a.config)
    a.save_pretrained(tmp_path / "ckpt")
    assert (tmp_path / "ckpt" / "model.safetensors").exists()
    loaded = VidAnonForPrivacyPreservingActionRecognition.from_pretrained(tmp_path / "ckpt").eval()
    auto = AutoModelForVideoClassification.from_pretrained(tmp_path / "ckpt").eval()
    assert isinstance(auto, VidAnonForPrivacyPreservingActionRecognition)
    assert AutoConfig.from_pretrained(tmp_path / "ckpt").model_type == "vidanon"
    for other in (loaded, auto):
        out_a, out_b = a(pixel_values), other(pixel_values)
        torch.testing.assert_close(out_a.logits, out_b.logits)
        torch.testing.assert_close(out_a.privacy_logits, out_b.privacy_logits)
        assert torch.equal(out_a.anonymized_pixel_values, out_b.anonymized_pixel_values)
    base = AutoModel.from_pretrained(tmp_path / "ckpt").eval()
    assert isinstance(base, VidAnonModel)
    torch.testing.assert_close(base(pixel_values).action_cls_output, a.vidanon(pixel_values).action_cls_output)


def test_learnable_positions_round_trip(tmp_path):
    tester = VidAnonModelTester(position_embedding_type="learnable")
    model = tester.model()
    assert model.vidanon.embeddings.position_embeddings.shape == (1, 34, 32)
    model.save_pretrained(tmp_path)
    loaded = VidAnonForPrivacyPreservingActionRecognition.from_pretrained(tmp_path).eval()
    pixel_values = tester.prepare_inputs(model.config)
    torch.testing.assert_close(model(pixel_values).logits, loaded(pixel_values).logits)


def test_without_positions_the_scores_follow_the_content_alone(tmp_path):
    # the video moved by one tubelet to the right (circularly): without positions the first layer's scores move with it
    def first_scores(model, pixel_values):
        return model.vidanon(pixel_values).pruning_scores[0].view(-1, 2, 4, 4)

    tester = VidAnonModelTester(position_embedding_type="none")
    model = tester.model()
    assert model.vidanon.embeddings.position_embeddings is None
    assert not any("position" in name for name, _ in model.named_parameters())
    pixel_values = tester.prepare_inputs(model.config)
    moved = pixel_values.roll(4, dims=-1)
    torch.testing.assert_close(first_scores(model, moved), first_scores(model, pixel_values).roll(1, dims=-1))
    sinusoidal = VidAnonModelTester().model()
    assert not torch.allclose(first_scores(sinusoidal, moved), first_scores(sinusoidal, pixel_values).roll(1, dims=-1))
    model.save_pretrained(tmp_path)
    loaded = VidAnonForPrivacyPreservingActionRecognition.from_pretrained(tmp_path).eval()
    assert loaded.config.position_embedding_type == "none"
    torch.testing.assert_close(model(pixel_values).logits, loaded(pixel_values).logits)


def test_trust_remote_code_in_a_process_without_the_package(tmp_path):
    tester = VidAnonModelTester()
    model = tester.model()
    pixel_values = tester.prepare_inputs(model.config)
    model.save_pretrained(tmp_path / "ckpt")
    torch.save(pixel_values, tmp_path / "x.pt")
    torch.save(model(pixel_values).logits, tmp_path / "logits.pt")
    script = textwrap.dedent(
        f"""
        import importlib.util, torch
        assert importlib.util.find_spec("transformers_vidanon") is None, "package must not be importable here"
        from transformers import AutoModel, AutoModelForVideoClassification
        model = AutoModelForVideoClassification.from_pretrained({str(tmp_path / 'ckpt')!r}, trust_remote_code=True).eval()
        base = AutoModel.from_pretrained({str(tmp_path / 'ckpt')!r}, trust_remote_code=True)
        assert type(base).__name__ == "VidAnonModel", type(base)
        logits = model(torch.load({str(tmp_path / 'x.pt')!r})).logits
        torch.testing.assert_close(logits, torch.load({str(tmp_path / 'logits.pt')!r}))
        print("REMOTE-OK", type(model).__module__)
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["HF_HOME"] = str(tmp_path / "hf_home")
    env["HF_HUB_OFFLINE"] = "1"
    # -I: isolated mode (no user site, no cwd); the editable install's path hook is dropped with -S
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", "import site; import sys; "
         "sys.path[:] = [p for p in sys.path]; "
         + _site_without_project() + "\n" + script],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "REMOTE-OK transformers_modules" in result.stdout


def _site_without_project() -> str:
    """Code that adds the venv's site-packages but not the editable install of this project."""
    import site

    paths = [p for p in site.getsitepackages() if os.path.isdir(p)]
    return (
        "import sys\n"
        f"sys.path.extend({paths!r})\n"
        "import importlib.machinery\n"
        "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in type(f).__module__.lower() "
        "and 'editable' not in repr(f).lower()]\n"
    )


def _videomae_config(**kw) -> VideoMAEConfig:
    return VideoMAEConfig(
        image_size=16, patch_size=4, num_frames=4, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=37, decoder_hidden_size=16, decoder_num_hidden_layers=1, decoder_num_attention_heads=2,
        decoder_intermediate_size=20, **kw,
    )


@pytest.mark.parametrize("source_class", [VideoMAEModel, VideoMAEForVideoClassification, VideoMAEForPreTraining])
def test_from_videomae_copies_every_backbone_tensor(tmp_path, source_class):
    torch.manual_seed(0)
    source = source_class(_videomae_config(num_labels=4))
    source.save_pretrained(tmp_path)
    model, report = VidAnonForPrivacyPreservingActionRecognition.from_videomae(
        tmp_path, output_loading_info=True, pruning_layers=[0], num_labels=6
    )
    assert model.config.hidden_size == 32 and model.config.num_labels == 6
    videomae = source if source_class is VideoMAEModel else source.videomae
    target = model.vidanon.state_dict()
    for key, tensor in videomae.state_dict().items():
        assert torch.equal(target[key], tensor), key
    new = set(report.newly_initialized)
    assert {"vidanon.embeddings.cls_tokens", "vidanon.embeddings.cls_position_embeddings", "classifier.weight",
            "privacy_classifier.weight"} <= new
    assert not any(k.startswith("vidanon.encoder.") for k in new)
    torch.testing.assert_close(model.vidanon.embeddings.position_embeddings, videomae.embeddings.position_embeddings)


def test_from_videomae_shape_mismatch_is_a_clear_error(tmp_path):
    VideoMAEModel(_videomae_config()).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="Shape mismatch.*patch_embeddings"):
        VidAnonModel.from_videomae(tmp_path, patch_size=8, image_size=16, pruning_layers=[])


def test_from_vit_inflated_matches_the_image_model_on_a_static_video(tmp_path):
    torch.manual_seed(0)
    vit = ViTModel(
        ViTConfig(image_size=16, patch_size=4, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                  intermediate_size=37), add_pooling_layer=False,
    ).eval()
    vit.save_pretrained(tmp_path)
    model, report = VidAnonModel.from_vit_inflated(
        tmp_path, num_frames=4, tubelet_size=2, output_loading_info=True, pruning_layers=[], image_mean=None,
        image_std=None,
    )
    assert report.newly_initialized == []
    image = torch.rand(2, 3, 16, 16)
    video = image[:, None].repeat(1, 4, 1, 1, 1)
    # two time slots duplicate every patch, two CLS tokens duplicate the CLS: the attention is the image's
    expected = vit(pixel_values=image).last_hidden_state[:, 0]
    got = model.eval()(video).action_cls_output
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_gradient_checkpointing_gives_the_same_gradients():
    tester = VidAnonModelTester()
    pixel_values = tester.prepare_inputs(tester.get_config())
    labels = torch.tensor([0, 1])
    grads = []
    for checkpointing in (False, True):
        model = tester.model()
        model.train()
        if checkpointing:
            model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
            assert all(layer.gradient_checkpointing for layer in model.vidanon.encoder.layer)
        model(pixel_values, labels=labels).loss.backward()
        grads.append(model.vidanon.embeddings.patch_embeddings.projection.weight.grad.clone())
    torch.testing.assert_close(grads[0], grads[1])


def test_bf16_forward():
    tester = VidAnonModelTester()
    model = tester.model().to(torch.bfloat16)
    out = model(tester.prepare_inputs(model.config).to(torch.bfloat16))
    assert out.logits.dtype == torch.bfloat16 and torch.isfinite(out.logits.float()).all()
    assert out.kept_tubelet_indices.shape == (2, 9)


def test_dropout_and_drop_path_only_in_training():
    tester = VidAnonModelTester(hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, drop_path_rate=0.2)
    model = tester.model()
    pixel_values = tester.prepare_inputs(model.config)
    torch.testing.assert_close(model(pixel_values).logits, model(pixel_values).logits)
    model.train()
    assert not torch.allclose(model(pixel_values).logits, model(pixel_values).logits)


def test_set_pruning_changes_inference_and_validates():
    tester = VidAnonModelTester(pruning_layers=[1])
    model = tester.model()
    pixel_values = tester.prepare_inputs(model.config)
    assert model(pixel_values).keep_mask.sum(dim=(1, 2, 3)).tolist() == [16.0, 16.0]
    model.set_pruning(keep_rate=0.25, lambda_priv=2.0)
    assert model(pixel_values).keep_mask.sum(dim=(1, 2, 3)).tolist() == [8.0, 8.0]
    model.set_pruning(temporal_consistency="tube")
    mask = model(pixel_values).keep_mask
    assert torch.equal(mask[:, 0], mask[:, 1])
    with pytest.raises(ValueError, match="keep_rate"):
        model.set_pruning(keep_rate=1.5, lambda_priv=0.1)
    assert model.config.keep_rate == 0.25 and model.config.lambda_priv == 2.0


def test_localization_pools_are_the_cls_attention_weighted_tubelets_and_train_the_attention():
    tester = VidAnonModelTester(pruning_layers=[0, 1], localization_loss_weight=0.5)
    model = tester.model()
    pixel_values = tester.prepare_inputs(model.config)
    outputs = model.vidanon(pixel_values, output_hidden_states=True)
    pools = outputs.localization_pools
    assert len(pools) == 2 and pools[0].shape == (2, 2, model.config.hidden_size)
    # the first pool, recomputed by hand from layer 0's attention sub-block and its CLS rows
    layer = model.vidanon.encoder.layer[0]
    embeddings = outputs.hidden_states[0]
    attention = layer.attention(layer.layernorm_before(embeddings), cls_positions=(0, 1),
                                tubelet_slice=slice(2, 2 + model.config.num_tubelets))
    after = embeddings + attention.context
    expected = torch.einsum("bkn,bnd->bkd", attention.cls_attention, after[:, 2:])
    torch.testing.assert_close(pools[0], expected)

    labels, privacy = torch.tensor([0, 2]), torch.tensor([[1.0, 0, 1, 0, 1], [0, 1, 0, 1, 0]])
    out = model(pixel_values, labels=labels, privacy_labels=privacy)
    heads = [(model.localization_action_classifier, 0, labels), (model.localization_privacy_classifier, 1, privacy)]
    by_hand = torch.stack([
        torch.nn.functional.cross_entropy(heads[0][0](pool[:, 0]), labels)
        + torch.nn.functional.binary_cross_entropy_with_logits(heads[1][0](pool[:, 1]), privacy)
        for pool in pools
    ]).mean()
    torch.testing.assert_close(out.localization_loss, by_hand)
    torch.testing.assert_close(out.loss, out.action_loss + out.privacy_loss + 0.5 * by_hand)
    # the localization loss reaches the attention (query/key) weights that the pruning score reads
    model.train().zero_grad()
    model(pixel_values, labels=labels, privacy_labels=privacy).localization_loss.backward()
    assert model.vidanon.encoder.layer[0].attention.attention.query.weight.grad.abs().sum() > 0
    # off by default: no heads, no pools, the paper's loss
    plain = VidAnonModelTester().model()
    assert not hasattr(plain, "localization_privacy_classifier")
    assert plain(pixel_values, labels=labels, privacy_labels=privacy).localization_loss is None


def test_kept_privacy_term_pools_the_kept_tubelets_and_moves_only_the_scores():
    tester = VidAnonModelTester(pruning_layers=[0, 1], keep_rate=0.5, localization_loss_weight=0.5,
                                kept_privacy_loss_weight=2.0)
    model = tester.model().train()
    pixel_values = tester.prepare_inputs(model.config)
    labels, privacy = torch.tensor([0, 2]), torch.tensor([[1.0, 0, 1, float("nan"), 1], [0, 1, 0, 1, 0]])
    outputs = model.vidanon(pixel_values, output_hidden_states=True)
    pools = outputs.localization_pools
    assert [tuple(pool.shape) for pool in pools] == [(2, 3, model.config.hidden_size)] * 2
    # the first kept pool, by hand: layer 0's tubelets weighted by the soft keep of its own step
    layer = model.vidanon.encoder.layer[0]
    embeddings = outputs.hidden_states[0]
    attention = layer.attention(layer.layernorm_before(embeddings), cls_positions=(0, 1),
                                tubelet_slice=slice(2, 2 + model.config.num_tubelets))
    tubelets = (embeddings + attention.context)[:, 2:]
    step = prune_tokens(embeddings + attention.context, attention.cls_attention,
                        torch.arange(model.config.num_tubelets).expand(2, -1), torch.ones(2, model.config.num_tubelets),
                        num_prefix_tokens=2, has_fused_token=False, keep_rate=0.5, lambda_priv=model.config.lambda_priv,
                        fuse=True, compute_soft_keep=True)
    weights = step.soft_keep / step.soft_keep.sum(dim=-1, keepdim=True)
    torch.testing.assert_close(pools[0][:, 2], torch.einsum("bn,bnd->bd", weights, tubelets))

    out = model(pixel_values, labels=labels, privacy_labels=privacy)
    head = model.localization_privacy_classifier
    absent = torch.where(torch.isnan(privacy), float("nan"), 0.0)
    known = torch.isfinite(absent)
    by_hand = torch.stack([
        torch.nn.functional.binary_cross_entropy_with_logits(head(pool[:, 2])[known], absent[known]) for pool in pools
    ]).mean()
    torch.testing.assert_close(out.kept_privacy_loss, by_hand)
    torch.testing.assert_close(
        out.loss, out.action_loss + out.privacy_loss + 0.5 * out.localization_loss + 2.0 * by_hand)
    # the term reaches the scores (the query/key weights of the pruning layers), never the head or the tokens' values
    # at the last pruning layer
    model.zero_grad()
    out.kept_privacy_loss.backward()
    assert model.vidanon.encoder.layer[1].attention.attention.query.weight.grad.abs().sum() > 0
    assert head.weight.grad is None and head.bias.grad is None
    value_grad = model.vidanon.encoder.layer[1].attention.attention.value.weight.grad
    assert value_grad is None or not value_grad.any()
    # a few steps along the term alone lower it
    optimizer = torch.optim.SGD([p for n, p in model.named_parameters() if "localization" not in n], lr=50.0)
    before = out.kept_privacy_loss.item()
    for _ in range(5):
        optimizer.zero_grad()
        model(pixel_values, privacy_labels=privacy).kept_privacy_loss.backward()
        optimizer.step()
    assert model(pixel_values, privacy_labels=privacy).kept_privacy_loss.item() < before
    # inference computes no kept pool and no term
    model.eval()
    with torch.no_grad():
        evaluated = model(pixel_values, labels=labels, privacy_labels=privacy)
    assert evaluated.kept_privacy_loss is None and evaluated.localization_loss is not None
    # it needs the localization heads
    with pytest.raises(ValueError, match="kept_privacy_loss_weight"):
        VidAnonConfig(kept_privacy_loss_weight=1.0)
    with pytest.raises(ValueError, match="kept_privacy_loss_weight"):
        VidAnonConfig(localization_loss_weight=1.0, kept_privacy_loss_weight=float("nan"))


def test_conv_stem_keeps_the_tubelet_grid_and_round_trips(tmp_path):
    tester = VidAnonModelTester(conv_stem_channels=[4, 8])
    model = tester.model()
    pixel_values = tester.prepare_inputs(model.config)
    out = model(pixel_values)
    assert out.keep_mask.shape == (2, 2, 4, 4)  # same grid as without a stem
    stem = model.vidanon.embeddings.patch_embeddings.stem
    assert [m.out_channels for m in stem if isinstance(m, torch.nn.Conv3d)] == [4, 8]
    assert model.vidanon.embeddings.patch_embeddings.projection.kernel_size == (2, 2, 2)
    model.save_pretrained(tmp_path)
    reloaded = VidAnonForPrivacyPreservingActionRecognition.from_pretrained(tmp_path).eval()
    torch.testing.assert_close(reloaded(pixel_values).logits, out.logits)
    with pytest.raises(ValueError, match="patch_size"):
        VidAnonConfig(image_size=15, patch_size=5, conv_stem_channels=[4])


def test_window_mode_smooths_scores_over_neighbouring_time_slots():
    from transformers_vidanon.pruning import smooth_scores_over_time

    # grid: 3 time slots x 2 positions, original indices time-major (t * 2 + s)
    scores = torch.tensor([[1.0, 10.0, 2.0, 20.0, 6.0, 60.0]])
    indices = torch.arange(6)[None]
    smoothed = smooth_scores_over_time(scores, indices, grid_size=6, num_time_slots=3)
    torch.testing.assert_close(smoothed, torch.tensor([[1.5, 15.0, 3.0, 30.0, 4.0, 40.0]]))
    # a tubelet already pruned (index 2: t=1, s=0) is left out of its neighbours' means
    kept = torch.tensor([[0, 1, 3, 4, 5]])
    smoothed = smooth_scores_over_time(scores[:, [0, 1, 3, 4, 5]], kept, grid_size=6, num_time_slots=3)
    torch.testing.assert_close(smoothed, torch.tensor([[1.0, 15.0, 30.0, 6.0, 40.0]]))

    tester = VidAnonModelTester(pruning_layers=[0, 1], temporal_consistency="window")
    model = tester.model()
    pixel_values = tester.prepare_inputs(model.config)
    mask = model(pixel_values).keep_mask
    model.set_pruning(temporal_consistency="tubelet")
    assert mask.sum() == model(pixel_values).keep_mask.sum()  # the same budget, chosen on smoothed scores


def test_empty_batches_and_out_of_range_labels_are_clear_errors():
    tester = VidAnonModelTester()
    model = tester.model()
    with pytest.raises(ValueError, match="batch size 0"):
        model(torch.rand(0, 4, 3, 16, 16))
    with pytest.raises(ValueError, match=r"`labels` must be class indices below num_labels = 3.*\[7\]"):
        model(tester.prepare_inputs(model.config), labels=torch.tensor([0, 7]))
    # unknown labels (-100) stay allowed
    assert model(tester.prepare_inputs(model.config), labels=torch.tensor([-100, 2])).loss is not None


def test_keep_everything_pruning_layer_leaves_the_token_sequence_untouched():
    # keep rate 1 at layers 0 and 1: scores are computed, but no tubelet is gathered and no fused token appears
    tester = VidAnonModelTester(keep_rate=1.0)
    pixel_values = tester.prepare_inputs(tester.get_config())
    scoring = VidAnonModel(tester.get_config()).eval()
    plain = VidAnonModel(tester.get_config(pruning_layers=[])).eval()
    plain.load_state_dict(scoring.state_dict())
    with torch.no_grad():
        out = scoring(pixel_values, output_hidden_states=True)
        reference = plain(pixel_values, output_hidden_states=True)
    assert [h.shape[1] for h in out.hidden_states] == [2 + 32] * 4
    assert [s.shape for s in out.pruning_scores] == [(2, 32), (2, 32)]
    assert out.kept_tubelet_indices.tolist() == [list(range(32))] * 2
    for got, expected in zip(out.hidden_states, reference.hidden_states):
        torch.testing.assert_close(got, expected, rtol=0, atol=0)
    torch.testing.assert_close(out.last_hidden_state, reference.last_hidden_state, rtol=0, atol=0)


def test_keep_everything_step_gives_what_the_general_path_builds():
    from transformers_vidanon.pruning import fuse_pruned_tokens, prune_tokens, soft_keep_probability

    generator = torch.Generator().manual_seed(0)
    batch, num_tubelets, dim = 2, 12, 8
    cls_attn = torch.rand(batch, 2, num_tubelets, generator=generator).softmax(-1)
    tubelet_indices = torch.tensor([[0, 2, 3, 5, 6, 8, 9, 11, 13, 14, 15, 17], [1, 2, 4, 5, 7, 8, 9, 10, 12, 14, 16, 17]])
    soft_keep = torch.rand(batch, 18, generator=generator)
    everything = torch.arange(num_tubelets).expand(batch, -1)
    for has_fused, fuse in ((False, True), (True, True), (False, False)):
        length = 2 + num_tubelets + int(has_fused)
        hidden = torch.randn(batch, length, dim, generator=generator)
        # keep rate 1; and 0.95, which keeps ceil(0.95 * 12) = 12 (or ceil(0.95 * 13) = 13 -> 12 with a fused token)
        for keep_rate in (1.0, 0.95):
            result = prune_tokens(
                hidden, cls_attn, tubelet_indices, soft_keep, num_prefix_tokens=2, has_fused_token=has_fused,
                keep_rate=keep_rate, lambda_priv=0.5, fuse=fuse, compute_soft_keep=True,
            )
            assert result.hidden_states is hidden and result.tubelet_indices is tubelet_indices
            assert result.has_fused_token is has_fused  # no fused token made of nothing
            # the general path: prefix, every tubelet gathered, and (when one exists) old fused + an exact 0
            general = [hidden[:, :2], hidden[:, 2 : 2 + num_tubelets].gather(1, everything[..., None].expand(-1, -1, dim))]
            if has_fused:
                general.append(hidden[:, -1:] + fuse_pruned_tokens(hidden[:, 2:-1], cls_attn[:, 0], everything))
            torch.testing.assert_close(result.hidden_states, torch.cat(general, 1), rtol=0, atol=0)
            torch.testing.assert_close(result.scores, cls_attn[:, 0] - 0.5 * cls_attn[:, 1])
            soft = soft_keep_probability(result.scores, everything)
            expected_soft = soft_keep.scatter(1, tubelet_indices, soft_keep.gather(1, tubelet_indices) * soft)
            torch.testing.assert_close(result.soft_keep, expected_soft)
    # one tubelet fewer: the general path, with a fused token
    result = prune_tokens(
        hidden, cls_attn, tubelet_indices, soft_keep, num_prefix_tokens=2, has_fused_token=False, keep_rate=0.9,
        lambda_priv=0.5, fuse=True,
    )
    assert result.hidden_states.shape[1] == 2 + 11 + 1 and result.has_fused_token


def test_fused_token_budget_starts_at_the_first_step_that_prunes():
    from transformers_vidanon.pruning import surviving_tubelets

    # 32 tubelets; keep 1 adds no fused token, so the 0.5 step keeps ceil(0.5 * 32) = 16, then ceil(0.5 * 17) = 9
    tester = VidAnonModelTester(pruning_layers=[0, 1, 2], keep_rate=[1.0, 0.5, 0.5])
    model = tester.model()
    with torch.no_grad():
        out = model.vidanon(tester.prepare_inputs(model.config), output_hidden_states=True)
    assert [h.shape[1] for h in out.hidden_states] == [34, 34, 2 + 16 + 1, 2 + 9 + 1]
    assert out.kept_tubelet_indices.shape == (2, 9)
    assert surviving_tubelets((2, 4, 4), [1.0, 0.5, 0.5]) == 9
    assert surviving_tubelets((8, 14, 14), [1.0, 0.9, 0.9]) == 1272  # 1568 -> 1568 -> 1412 -> ceil(0.9 * 1413)


def test_input_normalisation_is_the_same_with_and_without_pixel_gradients():
    tester = VidAnonModelTester()
    model = tester.model()
    pixel_values = tester.prepare_inputs(model.config)
    embeddings = model.vidanon.embeddings
    with torch.no_grad():
        fast = embeddings(pixel_values)
    general = embeddings(pixel_values.clone().requires_grad_())
    torch.testing.assert_close(fast, general, rtol=0, atol=0)
    mean, std = embeddings.image_mean, embeddings.image_std
    expected = embeddings.patch_embeddings((pixel_values - mean) / std)
    torch.testing.assert_close(fast[:, 2:] - embeddings.position_embeddings, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "overrides, pruning",
    [
        ({"num_hidden_layers": 4, "pruning_layers": [1], "keep_rate": 0.5}, {}),
        ({"num_hidden_layers": 4, "pruning_layers": [0, 2], "keep_rate": [0.7, 0.5], "fuse_pruned_tokens": False}, {}),
        ({"num_hidden_layers": 4, "pruning_layers": [0, 2], "keep_rate": 0.9}, {"keep_rate": 0.3}),
        ({"num_hidden_layers": 4, "pruning_layers": [1], "keep_rate": 0.5},
         {"keep_rate": 0.25, "lambda_priv": 2.0, "temporal_consistency": "tube"}),
        ({"num_hidden_layers": 3, "pruning_layers": [], "keep_rate": 1.0}, {}),
    ],
)
def test_keep_mask_is_the_forward_mask_from_the_layers_up_to_the_last_pruning_layer(overrides, pruning):
    tester = VidAnonModelTester(batch_size=3, **overrides)
    model = tester.model(seed=1)
    pixel_values = tester.prepare_inputs(model.config, seed=2)
    ran: list[int] = []
    hooks = [layer.register_forward_hook(lambda module, args, output: ran.append(module.layer_index))
             for layer in model.vidanon.encoder.layer]
    try:
        with model.pruning_overridden(**pruning):
            with torch.no_grad():
                expected = model(pixel_values).keep_mask
            ran.clear()  # the full forward ran every layer
            mask = model.keep_mask(pixel_values)
            deciding = list(ran)
            assert model.vidanon.keep_mask(pixel_values).equal(mask)
            assert model.anonymize(pixel_values).keep_mask.equal(mask)
    finally:
        for hook in hooks:
            hook.remove()
    assert mask.dtype == expected.dtype and mask.shape == expected.shape == (3, 2, 4, 4)
    assert mask.equal(expected)
    last = max(model.config.pruning_layers, default=-1)
    assert deciding == list(range(last + 1))  # the layers after the last pruning layer never ran
    assert model.config.num_hidden_layers - 1 not in deciding
    if model.config.pruning_layers:
        assert bool((mask.flatten(1).sum(1) < 32).all())  # it prunes: the comparison is not between all-ones masks
    else:
        assert bool((mask == 1).all())
    assert mask.flatten(1).sum(1).unique().numel() == 1  # the same number kept in every clip


def test_keep_mask_follows_the_model_mode_and_gives_no_gradient():
    tester = VidAnonModelTester(hidden_dropout_prob=0.5)
    model = tester.model(seed=3)
    pixel_values = tester.prepare_inputs(model.config).requires_grad_()
    mask = model.keep_mask(pixel_values)
    assert not mask.requires_grad and not model.training
    model.train()
    torch.manual_seed(0)
    trained = model.keep_mask(pixel_values)
    torch.manual_seed(0)
    assert model.train()(pixel_values).keep_mask.detach().equal(trained)  # the same dropout draws: the same mask


def test_input_output_initializer_range_starts_only_the_two_ends_larger(tmp_path):
    """The tubelet projection, the CLS tokens and their positions and the heads take `input_output_initializer_range`;
    attention and MLP weights keep `initializer_range`; loading a checkpoint does not initialise them again."""
    tester = VidAnonModelTester(hidden_size=64, intermediate_size=128, localization_loss_weight=1.0)
    model = tester.model(input_output_initializer_range=0.1)
    baseline = tester.model()

    def std(tensor: torch.Tensor) -> float:
        return float(tensor.detach().float().std())

    embeddings = model.vidanon.embeddings
    for name, tensor in [("projection", embeddings.patch_embeddings.projection.weight),
                         ("cls_tokens", embeddings.cls_tokens), ("classifier", model.classifier.weight),
                         ("privacy_classifier", model.privacy_classifier.weight),
                         ("localization_action_classifier", model.localization_action_classifier.weight)]:
        assert 0.07 < std(tensor) < 0.12, name  # truncated at 2 std: about 0.088
    query = model.vidanon.encoder.layer[0].attention.attention.query.weight
    assert 0.012 < std(query) < 0.025
    assert 0.012 < std(model.vidanon.encoder.layer[1].intermediate.dense.weight) < 0.025
    assert std(baseline.classifier.weight) < 0.025 and std(baseline.vidanon.embeddings.cls_tokens) < 0.025

    model.save_pretrained(tmp_path)
    loaded = VidAnonForPrivacyPreservingActionRecognition.from_pretrained(tmp_path)
    assert loaded.config.input_output_initializer_range == 0.1
    for (name, saved), (_, read) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(saved, read), name
    with pytest.raises(ValueError, match="input_output_initializer_range"):
        tester.get_config(input_output_initializer_range=0.0)


def test_isolated_tubelets_carry_only_their_own_content_up_to_the_last_pruning_layer(tmp_path):
    """`isolate_tubelets`: up to the last pruning layer a tubelet's token depends on its own tubelet alone (the CLS
    tokens read every tubelet); the layer after it mixes tokens as usual. SDPA and eager agree, and the returned
    attention rows of the tubelets are one-hot on themselves."""
    tester = VidAnonModelTester(pruning_layers=[1], keep_rate=1.0)  # keep everything: token positions stay put
    model = tester.model(isolate_tubelets=True)
    pixel_values = tester.prepare_inputs(model.config)
    changed = pixel_values.clone()
    changed[:, 0:2, :, 0:4, 0:4] += 0.5  # the first tubelet only (2 frames, one 4 x 4 patch)
    with torch.no_grad():
        before = model.vidanon(pixel_values, output_hidden_states=True, output_attentions=True)
        after = model.vidanon(changed, output_hidden_states=True)
    # hidden_states: the embeddings, then the output of layers 0, 1 (the last pruning layer) and 2
    for layer, (a, b) in enumerate(zip(before.hidden_states[1:], after.hidden_states[1:])):
        moved = (a - b).abs().amax(dim=(0, 2)) > 1e-6  # per token: prefix (2 CLS), then the 32 tubelets
        assert moved[:2].all() and moved[2], layer
        if layer <= 1:
            assert not moved[3:].any(), layer
        else:
            assert moved[3:].all(), layer
    for layer, probs in enumerate(before.attentions):
        own = probs[:, :, 2:].argmax(dim=-1) == torch.arange(2, probs.shape[-1])
        assert own.all() == (layer <= 1) and (probs[:, :, 2:].amax(dim=-1) == 1).all() == (layer <= 1), layer

    eager = tester.model(isolate_tubelets=True, attn_implementation="eager")
    eager.load_state_dict(model.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(eager(pixel_values).logits, model(pixel_values).logits)
    plain = tester.model()
    plain.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert not torch.allclose(plain(pixel_values).logits, model(pixel_values).logits)

    model.save_pretrained(tmp_path)
    assert VidAnonForPrivacyPreservingActionRecognition.from_pretrained(tmp_path).config.isolate_tubelets is True
    with pytest.raises(ValueError, match="isolate_tubelets"):
        tester.get_config(isolate_tubelets="yes")
