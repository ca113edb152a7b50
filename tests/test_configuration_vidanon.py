import pytest

from transformers_vidanon import DEFAULT_PRIVACY_LABEL_NAMES, VidAnonConfig


def test_defaults_follow_videomae_and_the_paper():
    config = VidAnonConfig()
    assert (config.image_size, config.patch_size, config.num_frames, config.tubelet_size) == (224, 16, 16, 2)
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads) == (768, 12, 12)
    assert config.pruning_layers == [2, 5, 8] and config.keep_rates() == [0.9, 0.9, 0.9]
    assert config.lambda_priv == 0.5 and config.fuse_pruned_tokens
    assert config.privacy_label_names == list(DEFAULT_PRIVACY_LABEL_NAMES)
    assert config.tubelet_grid == (8, 14, 14) and config.num_tubelets == 1568


def test_round_trip(tmp_path):
    config = VidAnonConfig(keep_rate=[0.9, 0.8, 0.7], temporal_consistency="tube", num_labels=4, lambda_priv=1.5)
    config.save_pretrained(tmp_path)
    loaded = VidAnonConfig.from_pretrained(tmp_path)
    assert loaded.keep_rate == [0.9, 0.8, 0.7] and loaded.temporal_consistency == "tube"
    assert loaded.num_labels == 4 and loaded.lambda_priv == 1.5


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"keep_rate": 0.0}, "keep_rate"),
        ({"keep_rate": 1.2}, "keep_rate"),
        ({"keep_rate": [0.9, 0.9]}, "keep_rate"),
        ({"pruning_layers": [12]}, "pruning_layers"),
        ({"pruning_layers": [5, 2]}, "pruning_layers"),
        ({"lambda_priv": -1.0}, "lambda_priv"),
        ({"lambda_priv": float("nan")}, "lambda_priv"),
        ({"temporal_consistency": "frame"}, "temporal_consistency"),
        ({"position_embedding_type": "rope"}, "position_embedding_type"),
        ({"image_size": 100}, "image_size"),
        ({"num_frames": 15}, "num_frames"),
        ({"hidden_size": 100}, "hidden_size"),
        ({"hidden_dropout_prob": 1.0}, "hidden_dropout_prob"),
        ({"drop_path_rate": -0.1}, "drop_path_rate"),
        ({"num_privacy_labels": 3, "privacy_label_names": ["a", "b"]}, "privacy_label_names"),
        ({"image_mean": [0.5, 0.5]}, "image_mean"),
        ({"image_std": [0.0, 1.0, 1.0]}, "image_std"),
        ({"patch_size": 0}, "patch_size"),
        ({"straight_through_temperature": 0}, "straight_through_temperature"),
    ],
)
def test_invalid_values_name_the_argument(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        VidAnonConfig(**kwargs)


def test_privacy_names_default_for_other_counts():
    config = VidAnonConfig(num_privacy_labels=7, privacy_label_names=None)
    assert config.privacy_label_names == [f"privacy_{i}" for i in range(7)]


def test_one_keep_rate_reading_for_yaml_scalars_lists_and_tuples(tmp_path):
    import yaml

    from transformers_vidanon.configuration_vidanon import normalize_keep_rate

    # what YAML hands over: `0.5` is a float, `5e-1` a string (YAML 1.1 floats need a dot), a sequence a list
    read = yaml.safe_load("a: 0.5\nb: 5e-1\nc: [0.9, 0.8, 0.7]\nd: [0.6]\n")
    assert isinstance(read["b"], str)
    assert normalize_keep_rate(read["a"]) == 0.5 and normalize_keep_rate(read["b"]) == 0.5
    assert normalize_keep_rate(read["c"], 3) == [0.9, 0.8, 0.7]
    assert normalize_keep_rate(read["d"], 3) == 0.6  # one value in a list (`--keep_rate 0.6`): every layer
    assert normalize_keep_rate((0.9, 0.8), 2) == [0.9, 0.8] and normalize_keep_rate(1) == 1.0
    assert all(isinstance(rate, float) for rate in normalize_keep_rate(("1", 0.5)))

    # the config, the model's overrides and the protocol's control read it the same way
    config = VidAnonConfig(keep_rate=read["b"], pruning_layers=[0, 1], num_hidden_layers=2)
    assert config.keep_rate == 0.5 and config.keep_rates() == [0.5, 0.5]
    assert VidAnonConfig(keep_rate=(0.9, 0.8, 0.7)).keep_rate == [0.9, 0.8, 0.7]
    config.save_pretrained(tmp_path)
    assert VidAnonConfig.from_pretrained(tmp_path).keep_rate == 0.5


@pytest.mark.parametrize(
    "keep_rate, message",
    [
        ([0.9, 0.8], r"`keep_rate` has 2 values but there are 3 `pruning_layers`"),
        ((0.9, 0.8, 0.7, 0.6), r"`keep_rate` has 4 values but there are 3 `pruning_layers`"),
        ([], r"`keep_rate` must hold at least one value"),
        ("half", r"`keep_rate` must be a number in \(0, 1\] or a list of them"),
        (True, r"`keep_rate` must be a number"),
        ({"a": 1}, r"`keep_rate` must be a number"),
        ([0.5, "x", 0.5], r"`keep_rate` must be a number"),
        ("1.5", r"`keep_rate` values must be in \(0, 1\], got '1.5'"),
        ([0.9, 0.0, 0.5], r"`keep_rate` values must be in \(0, 1\]"),
        (float("nan"), r"`keep_rate` values must be in \(0, 1\]"),
    ],
)
def test_a_wrong_keep_rate_is_a_clear_error_naming_it(keep_rate, message):
    from transformers_vidanon.configuration_vidanon import normalize_keep_rate

    with pytest.raises(ValueError, match=message):
        normalize_keep_rate(keep_rate, 3)
    with pytest.raises(ValueError, match=message):
        VidAnonConfig(keep_rate=keep_rate)  # pruning_layers (2, 5, 8)
