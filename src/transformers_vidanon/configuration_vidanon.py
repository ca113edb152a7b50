"""VidAnon model configuration."""

from __future__ import annotations

import math
from collections.abc import Sequence

from transformers import PretrainedConfig

DEFAULT_PRIVACY_LABEL_NAMES: tuple[str, ...] = ("skin_color", "face", "gender", "nudity", "relationship")
"""The five PA-HMDB51 / VP-UCF101 / VP-HMDB51 privacy attributes, in the order of the label files."""

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)

TEMPORAL_CONSISTENCY_MODES = ("tubelet", "tube", "window")
POSITION_EMBEDDING_TYPES = ("sinusoidal", "learnable", "none")
PRUNING_SCORES = ("attention", "pixels")
ATTENTION_IMPLEMENTATIONS = ("sdpa", "eager")


def _as_pair(value: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    return int(value[0]), int(value[1])


def normalize_keep_rate(
    keep_rate: float | str | Sequence[float | str], num_pruning_layers: int | None = None
) -> float | list[float]:
    """The one reading of a keep rate: one fraction for every pruning layer, or one fraction per pruning layer.

    A number, or a string holding one (YAML reads `5e-1` as a string), gives a `float`; a list or tuple of them gives
    a `list[float]`, except that a single value in a list (`--keep_rate 0.5` on the command line) is that value for
    every layer. The config, `set_pruning` / `pruning_overridden`, the training arguments and the evaluation protocol
    all read a keep rate through this function.

    Args:
        keep_rate (`float`, `str` or a sequence of them): the keep rate(s), each in (0, 1].
        num_pruning_layers (`int`, *optional*): the number of pruning layers; when given, a list must hold one value
            per layer.

    Returns:
        `float` or `list[float]`.

    Raises:
        ValueError: naming `keep_rate`: not a number or a sequence of numbers, a value outside (0, 1], or a list whose
            length is not `num_pruning_layers`.

    Example:

    ```python
    >>> normalize_keep_rate("0.5"), normalize_keep_rate([0.7]), normalize_keep_rate((0.9, 0.8), 2)
    (0.5, 0.7, [0.9, 0.8])

    ```
    """
    values = list(keep_rate) if isinstance(keep_rate, Sequence) and not isinstance(keep_rate, str) else [keep_rate]
    if not values:
        raise ValueError("`keep_rate` must hold at least one value, got an empty list.")
    rates = []
    for value in values:
        try:
            rate = float(value)
        except (TypeError, ValueError):
            rate = None
        if rate is None or isinstance(value, bool):  # True is a number to Python, never a keep rate
            raise ValueError(
                f"`keep_rate` must be a number in (0, 1] or a list of them (one per pruning layer), got {keep_rate!r}."
            )
        if not 0.0 < rate <= 1.0:  # NaN fails too
            raise ValueError(f"`keep_rate` values must be in (0, 1], got {keep_rate!r}.")
        rates.append(rate)
    if len(rates) == 1:
        return rates[0]
    if num_pruning_layers is not None and len(rates) != num_pruning_layers:
        raise ValueError(
            f"`keep_rate` has {len(rates)} values but there are {num_pruning_layers} `pruning_layers`; give one "
            "value for all layers or one per layer."
        )
    return rates


def _pipelines_not_registered_here(custom_pipelines: dict | None) -> dict | None:
    """The `custom_pipelines` entries of a checkpoint whose task this process does not already serve.

    A saved checkpoint names its `video-anonymization` pipeline (code saved beside it) for installations without
    this package. Where the package is imported, its registered pipeline serves the task: the entry is left aside, or
    transformers would insist on `trust_remote_code` for a pipeline that is installed.
    """
    if not custom_pipelines:
        return custom_pipelines
    from transformers.pipelines import PIPELINE_REGISTRY

    registered = PIPELINE_REGISTRY.supported_tasks
    return {task: info for task, info in custom_pipelines.items() if task not in registered}


class VidAnonConfig(PretrainedConfig):
    r"""
    Configuration of a VidAnon model: a VideoMAE-style ViT over video tubelets with two classification tokens
    (action, then privacy) and attention-guided tubelet pruning at chosen layers.

    The backbone arguments keep VideoMAE's names and defaults, so a VideoMAE checkpoint maps onto a VidAnon model
    one weight at a time (see [`VidAnonModel.from_videomae`]).

    Args:
        image_size (`int`, *optional*, defaults to 224):
            Height and width of every frame.
        patch_size (`int`, *optional*, defaults to 16):
            Height and width of a tubelet, in pixels.
        num_channels (`int`, *optional*, defaults to 3):
            Number of input channels.
        num_frames (`int`, *optional*, defaults to 16):
            Number of frames of a clip (the model's input).
        tubelet_size (`int`, *optional*, defaults to 2):
            Number of frames of a tubelet.
        hidden_size (`int`, *optional*, defaults to 768):
            Width of the encoder.
        num_hidden_layers (`int`, *optional*, defaults to 12):
            Number of transformer layers.
        num_attention_heads (`int`, *optional*, defaults to 12):
            Number of attention heads of every layer.
        intermediate_size (`int`, *optional*, defaults to 3072):
            Width of the MLP of every layer.
        hidden_act (`str`, *optional*, defaults to `"gelu"`):
            Activation of the MLP.
        hidden_dropout_prob (`float`, *optional*, defaults to 0.0):
            Dropout on the outputs of attention and MLP.
        attention_probs_dropout_prob (`float`, *optional*, defaults to 0.0):
            Dropout on the attention probabilities.
        initializer_range (`float`, *optional*, defaults to 0.02):
            Standard deviation of the truncated normal initialiser.
        input_output_initializer_range (`float`, *optional*):
            Standard deviation of the input and output layers alone: the tubelet projection, the two CLS tokens and
            their positions, and the classification heads; `None` uses `initializer_range`. Beyond VideoMAE: a small
            ViT trained from scratch on a few hundred clips learns the action only when both ends start larger
            (0.1), while the attention and MLP weights keep `initializer_range`.
        layer_norm_eps (`float`, *optional*, defaults to 1e-12):
            Epsilon of the layer norms.
        qkv_bias (`bool`, *optional*, defaults to `True`):
            Whether queries and values carry a bias (keys never do, as in VideoMAE).
        drop_path_rate (`float`, *optional*, defaults to 0.0):
            Stochastic depth rate, increasing linearly from 0 at the first layer to this value at the last.
        num_privacy_labels (`int`, *optional*, defaults to 5):
            Number of binary privacy attributes predicted by the privacy head.
        privacy_label_names (`list[str]`, *optional*):
            Names of the privacy attributes; defaults to the five PA-HMDB51 attributes
            (skin colour, face, gender, nudity, relationship).
        pruning_layers (`list[int]`, *optional*, defaults to `(2, 5, 8)`):
            0-based indices of the layers after whose attention sub-block tubelets are pruned. Empty: no pruning.
        keep_rate (`float` or `list[float]`, *optional*, defaults to 0.9):
            Fraction of the current tubelets kept at each pruning layer: one value for all, or one per layer.
            `ceil(keep_rate * N)` tubelets are kept.
        lambda_priv (`float`, *optional*, defaults to 0.5):
            Weight of the privacy attention in the score `s = a_act - lambda_priv * a_priv`. Larger removes more
            privacy, smaller keeps more utility.
        fuse_pruned_tokens (`bool`, *optional*, defaults to `True`):
            Fuse the pruned tubelets into one extra token weighted by the action attention (EViT-style) instead of
            dropping them.
        temporal_consistency (`str`, *optional*, defaults to `"tubelet"`):
            `"tubelet"` scores and selects every tubelet on its own (the paper); `"tube"` sums the scores over time
            and keeps the same spatial positions in every time slot, so a region hidden in one frame is hidden in
            all; `"window"` (beyond the paper) selects every tubelet on its own, on its score averaged with the same
            position's scores in the neighbouring time slots, so the mask follows a moving region without flickering.
        position_embedding_type (`str`, *optional*, defaults to `"sinusoidal"`):
            `"sinusoidal"`: VideoMAE's fixed table for the tubelets plus a learned position for each CLS token;
            `"learnable"`: one learned table for all tokens (the paper's reference implementation); `"none"` (beyond
            the paper): no position at all, so that attention, and the score, read the tokens' content alone (the
            time-window smoothing and the mask use the tubelets' grid indices, not the embeddings).
        anonymization_fill_value (`float`, *optional*, defaults to 0.0):
            Value written into every pruned tubelet of the anonymized video (pixel space, [0, 1]: 0 is black).
        image_mean (`list[float]`, *optional*, defaults to the ImageNet mean):
            The model takes pixels in [0, 1] and normalises them itself with this mean and `image_std`, so that
            its anonymized output is in the same pixel space as its input. `None` disables normalisation.
        image_std (`list[float]`, *optional*, defaults to the ImageNet standard deviation):
            See `image_mean`.
        action_loss_weight (`float`, *optional*, defaults to 1.0):
            `lambda_act` in `L = lambda_act * CE(action) + BCE(privacy)`.
        straight_through_temperature (`float`, *optional*, defaults to 1.0):
            Temperature of the soft keep probability whose gradient the straight-through keep mask carries
            (used when a loss is computed on the anonymized video itself).
        localization_loss_weight (`float`, *optional*, defaults to 0.0):
            Weight of the attention-pooled localization losses (beyond the paper). At every pruning layer the action
            and the privacy CLS attention, the very weights the score `s` reads, pool the tubelet tokens, and two
            linear heads predict the action (cross-entropy) and the privacy attributes (BCE, never reversed) from
            those pools. The only way to predict well from a pool is to weight the tubelets that carry the target, so
            this trains each CLS token's attention to sit on its cues. 0: off (the paper's model).
        kept_privacy_loss_weight (`float`, *optional*, defaults to 0.0):
            Beyond the paper; needs `localization_loss_weight > 0`. At every pruning layer the tubelets this step
            keeps (weighted by their soft keep probability) are pooled as well, and the localization privacy head,
            frozen for this term, must read every attribute as absent from that pool (BCE against 0). The tokens and
            the head are detached, so the term moves the pruning scores alone: it ranks the tubelets the head reads
            as private below the threshold. The localization losses only ask the privacy attention to find *some*
            tubelet of a cue; this one asks the mask to leave none of them. 0: off.
        conv_stem_channels (`Sequence[int]`, *optional*, defaults to `()`):
            Empty: VideoMAE's linear tubelet projection (the paper). Otherwise a convolutional stem before it
            (beyond the paper, for backbones trained from scratch on small data): 3 x 3 x 3 convolutions with batch
            norm and ReLU of these widths, the first with spatial stride 2, then the tubelet projection with a kernel
            of `(tubelet_size, patch_size / 2, patch_size / 2)`; the tubelet grid is unchanged.
        cls_attention_temperature (`float`, *optional*, defaults to 1.0):
            Beyond the paper. The attention rows of the two CLS tokens that the pruning score `s` and the localization
            pools read are `softmax(q k^T / (sqrt(d) * cls_attention_temperature))`; the attention's own output is
            unchanged. Above 1 the rows stay flatter, so the localization losses reach every tubelet of a cue rather
            than the few that already dominate. 1: the layer's own attention (the paper).
        isolate_tubelets (`bool`, *optional*, defaults to `False`):
            Beyond the paper. In every layer up to and including the last pruning layer, each tubelet token (and the
            fused token) attends to itself alone, while the CLS tokens attend to every token; later layers attend as
            usual. A tubelet's token then carries only its own tubelet's content when the CLS attention scores it,
            so the privacy attention can only predict a cue by sitting on the tubelets that show it. False: every
            token attends to every token in every layer (VideoMAE, the paper).
        pixel_scorer_hidden_size (`int`, *optional*, defaults to 0):
            Beyond the paper. Above 0, the model carries a pixel scorer (`transformers_vidanon.pixel_scorer`): an MLP
            of this width from one tubelet's own pixels to the logit that the attention score prunes it. The trainer
            fits it after the anonymizer's training, on the frozen model's own keep masks of the training clips
            (`pixel_scorer_epochs`); nothing else of the model changes. 0: none (the paper's model).
        pruning_score (`str`, *optional*, defaults to `"attention"`):
            What the pruning layers rank the tubelets by. `"attention"`: `s = a_act - lambda_priv * a_priv` (the
            paper). `"pixels"` (beyond the paper; needs `pixel_scorer_hidden_size > 0`): the pixel scorer's log-odds
            of being kept, smoothed over time in `"window"` mode and summed over time in `"tube"` mode as `s` is; the
            same number of tubelets is kept, and `lambda_priv` no longer changes the mask. The fused token is weighted
            by the action attention either way. The scorer learns from the attention's choices, so the trainer
            always ranks by `"attention"`.

    Example:

    ```python
    >>> from transformers_vidanon import VidAnonConfig, VidAnonForPrivacyPreservingActionRecognition

    >>> config = VidAnonConfig(image_size=32, patch_size=8, num_frames=4, hidden_size=64, num_hidden_layers=4,
    ...                        num_attention_heads=4, intermediate_size=128, pruning_layers=[1, 2], num_labels=6)
    >>> model = VidAnonForPrivacyPreservingActionRecognition(config)
    >>> config.num_tubelets
    32
    ```
    """

    model_type = "vidanon"
    # outputs transformers' Trainer leaves out of `evaluate` / `predict` predictions: only the action logits are
    # kept (the anonymized video alone is about 9.6 MB per 224 x 224 x 16 clip)
    keys_to_ignore_at_inference = [  # noqa: RUF012 (a class attribute transformers' Trainer reads)
        "privacy_logits", "action_loss", "privacy_loss", "anonymized_pixel_values", "keep_mask",
        "kept_tubelet_indices", "pruning_scores", "hidden_states", "attentions",
    ]

    def __init__(
        self,
        image_size: int = 224,
        patch_size: int = 16,
        num_channels: int = 3,
        num_frames: int = 16,
        tubelet_size: int = 2,
        hidden_size: int = 768,
        num_hidden_layers: int = 12,
        num_attention_heads: int = 12,
        intermediate_size: int = 3072,
        hidden_act: str = "gelu",
        hidden_dropout_prob: float = 0.0,
        attention_probs_dropout_prob: float = 0.0,
        initializer_range: float = 0.02,
        input_output_initializer_range: float | None = None,
        layer_norm_eps: float = 1e-12,
        qkv_bias: bool = True,
        drop_path_rate: float = 0.0,
        num_privacy_labels: int = 5,
        privacy_label_names: Sequence[str] | None = None,
        pruning_layers: Sequence[int] = (2, 5, 8),
        keep_rate: float | Sequence[float] = 0.9,
        lambda_priv: float = 0.5,
        fuse_pruned_tokens: bool = True,
        temporal_consistency: str = "tubelet",
        position_embedding_type: str = "sinusoidal",
        anonymization_fill_value: float = 0.0,
        image_mean: Sequence[float] | None = IMAGENET_MEAN,
        image_std: Sequence[float] | None = IMAGENET_STD,
        action_loss_weight: float = 1.0,
        straight_through_temperature: float = 1.0,
        localization_loss_weight: float = 0.0,
        kept_privacy_loss_weight: float = 0.0,
        conv_stem_channels: Sequence[int] = (),
        isolate_tubelets: bool = False,
        cls_attention_temperature: float = 1.0,
        pixel_scorer_hidden_size: int = 0,
        pruning_score: str = "attention",
        **kwargs,
    ):
        custom_pipelines = _pipelines_not_registered_here(kwargs.pop("custom_pipelines", None))
        if custom_pipelines:
            kwargs["custom_pipelines"] = custom_pipelines
        super().__init__(**kwargs)
        self.image_size = image_size
        self.patch_size = patch_size
        self.num_channels = num_channels
        self.num_frames = num_frames
        self.tubelet_size = tubelet_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.initializer_range = initializer_range
        self.input_output_initializer_range = input_output_initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.qkv_bias = qkv_bias
        self.drop_path_rate = drop_path_rate
        self.num_privacy_labels = num_privacy_labels
        if privacy_label_names is None:
            privacy_label_names = (
                DEFAULT_PRIVACY_LABEL_NAMES
                if num_privacy_labels == len(DEFAULT_PRIVACY_LABEL_NAMES)
                else tuple(f"privacy_{i}" for i in range(num_privacy_labels))
            )
        self.privacy_label_names = list(privacy_label_names)
        self.pruning_layers = [int(i) for i in pruning_layers]
        self.keep_rate = normalize_keep_rate(keep_rate)
        self.lambda_priv = float(lambda_priv)
        self.fuse_pruned_tokens = bool(fuse_pruned_tokens)
        self.temporal_consistency = temporal_consistency
        self.position_embedding_type = position_embedding_type
        self.anonymization_fill_value = float(anonymization_fill_value)
        self.image_mean = None if image_mean is None else [float(v) for v in image_mean]
        self.image_std = None if image_std is None else [float(v) for v in image_std]
        self.action_loss_weight = float(action_loss_weight)
        self.straight_through_temperature = float(straight_through_temperature)
        self.localization_loss_weight = float(localization_loss_weight)
        self.kept_privacy_loss_weight = float(kept_privacy_loss_weight)
        self.conv_stem_channels = [int(c) for c in conv_stem_channels]
        self.isolate_tubelets = isolate_tubelets
        self.cls_attention_temperature = float(cls_attention_temperature)
        self.pixel_scorer_hidden_size = pixel_scorer_hidden_size
        self.pruning_score = pruning_score
        self._validate_values()

    def _validate_values(self) -> None:
        """Raise `ValueError` naming the argument and its allowed range for every invalid value."""

        def positive_int(name: str) -> None:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be an integer >= 1, got {value!r}.")

        for name in ("patch_size", "num_channels", "num_frames", "tubelet_size", "hidden_size",
                     "num_hidden_layers", "num_attention_heads", "intermediate_size", "num_privacy_labels"):
            positive_int(name)
        height, width = _as_pair(self.image_size)
        if height < 1 or width < 1:
            raise ValueError(f"`image_size` must be >= 1, got {self.image_size!r}.")
        if height % self.patch_size or width % self.patch_size:
            raise ValueError(
                f"`image_size` ({self.image_size}) must be a multiple of `patch_size` ({self.patch_size})."
            )
        if self.num_frames % self.tubelet_size:
            raise ValueError(
                f"`num_frames` ({self.num_frames}) must be a multiple of `tubelet_size` ({self.tubelet_size})."
            )
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"`hidden_size` ({self.hidden_size}) must be a multiple of `num_attention_heads` "
                f"({self.num_attention_heads})."
            )
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob", "drop_path_rate"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"`{name}` must be in [0, 1), got {value!r}.")
        for name in ("initializer_range", "input_output_initializer_range"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"`{name}` must be > 0, got {value!r}.")
        if self.layer_norm_eps <= 0:
            raise ValueError(f"`layer_norm_eps` must be > 0, got {self.layer_norm_eps!r}.")
        if len(self.privacy_label_names) != self.num_privacy_labels:
            raise ValueError(
                f"`privacy_label_names` has {len(self.privacy_label_names)} names but `num_privacy_labels` is "
                f"{self.num_privacy_labels}."
            )
        layers = self.pruning_layers
        if any(not 0 <= i < self.num_hidden_layers for i in layers):
            raise ValueError(
                f"`pruning_layers` must hold layer indices in [0, {self.num_hidden_layers - 1}], got {layers}."
            )
        if len(set(layers)) != len(layers) or list(layers) != sorted(layers):
            raise ValueError(f"`pruning_layers` must be strictly increasing, got {layers}.")
        normalize_keep_rate(self.keep_rate, len(layers))
        if not math.isfinite(self.lambda_priv) or self.lambda_priv < 0:
            raise ValueError(f"`lambda_priv` must be a finite number >= 0, got {self.lambda_priv!r}.")
        if self.temporal_consistency not in TEMPORAL_CONSISTENCY_MODES:
            raise ValueError(
                f"`temporal_consistency` must be one of {TEMPORAL_CONSISTENCY_MODES}, got "
                f"{self.temporal_consistency!r}."
            )
        if self.position_embedding_type not in POSITION_EMBEDDING_TYPES:
            raise ValueError(
                f"`position_embedding_type` must be one of {POSITION_EMBEDDING_TYPES}, got "
                f"{self.position_embedding_type!r}."
            )
        for name in ("image_mean", "image_std"):
            value = getattr(self, name)
            if value is not None and len(value) != self.num_channels:
                raise ValueError(f"`{name}` must have `num_channels` ({self.num_channels}) values, got {value}.")
        if (self.image_mean is None) != (self.image_std is None):
            raise ValueError("`image_mean` and `image_std` must both be set or both be None.")
        if self.image_std is not None and any(s <= 0 for s in self.image_std):
            raise ValueError(f"`image_std` values must be > 0, got {self.image_std}.")
        if self.action_loss_weight < 0:
            raise ValueError(f"`action_loss_weight` must be >= 0, got {self.action_loss_weight!r}.")
        if not math.isfinite(self.cls_attention_temperature) or self.cls_attention_temperature <= 0:
            raise ValueError(
                f"`cls_attention_temperature` must be a finite number > 0, got {self.cls_attention_temperature!r}.")
        if not isinstance(self.isolate_tubelets, bool):
            raise ValueError(f"`isolate_tubelets` must be True or False, got {self.isolate_tubelets!r}.")
        if any(c < 1 for c in self.conv_stem_channels):
            raise ValueError(f"`conv_stem_channels` must be positive, got {self.conv_stem_channels!r}.")
        if self.conv_stem_channels and self.patch_size % 2:
            raise ValueError(
                f"a convolutional stem halves the frame size, so `patch_size` must be even, got {self.patch_size}."
            )
        if self.localization_loss_weight < 0:
            raise ValueError(f"`localization_loss_weight` must be >= 0, got {self.localization_loss_weight!r}.")
        if not math.isfinite(self.kept_privacy_loss_weight) or self.kept_privacy_loss_weight < 0:
            raise ValueError(
                f"`kept_privacy_loss_weight` must be a finite number >= 0, got {self.kept_privacy_loss_weight!r}.")
        if self.kept_privacy_loss_weight > 0 and self.localization_loss_weight <= 0:
            raise ValueError(
                "`kept_privacy_loss_weight` > 0 reads the localization privacy head, so it needs "
                f"`localization_loss_weight` > 0, got {self.localization_loss_weight!r}.")
        if self.straight_through_temperature <= 0:
            raise ValueError(
                f"`straight_through_temperature` must be > 0, got {self.straight_through_temperature!r}."
            )
        scorer = self.pixel_scorer_hidden_size
        if isinstance(scorer, bool) or not isinstance(scorer, int) or scorer < 0:
            raise ValueError(f"`pixel_scorer_hidden_size` must be an integer >= 0 (0: no pixel scorer), got {scorer!r}.")
        if self.pruning_score not in PRUNING_SCORES:
            raise ValueError(f"`pruning_score` must be one of {PRUNING_SCORES}, got {self.pruning_score!r}.")
        if self.pruning_score == "pixels" and scorer == 0:
            raise ValueError("`pruning_score` 'pixels' ranks by the pixel scorer, so it needs "
                             "`pixel_scorer_hidden_size` > 0, got 0.")

    # ----------------------------------------------------------------------------------------------------------
    # Derived quantities (not serialised)
    # ----------------------------------------------------------------------------------------------------------
    @property
    def tubelet_grid(self) -> tuple[int, int, int]:
        """`(frames // tubelet_size, height // patch_size, width // patch_size)`."""
        height, width = _as_pair(self.image_size)
        return self.num_frames // self.tubelet_size, height // self.patch_size, width // self.patch_size

    @property
    def num_tubelets(self) -> int:
        time, height, width = self.tubelet_grid
        return time * height * width

    @property
    def num_prefix_tokens(self) -> int:
        """The two CLS tokens: action first, privacy second."""
        return 2

    def keep_rates(self) -> list[float]:
        """One keep rate per pruning layer."""
        if isinstance(self.keep_rate, list):
            return list(self.keep_rate)
        return [self.keep_rate] * len(self.pruning_layers)
