"""Ablations of VidAnon on SynthPrivacy: which grid, objective, mode, lambda_priv and keep budget make it work.

Every row is one variant: either an oracle (prunes every tubelet touching SynthPrivacy's ground-truth privacy
regions, at a given grid: the ceiling of any tubelet pruner there; or, with errors drawn at its own budget, what a
mask of a given recall gives) or a VidAnon model trained with
`configs/synthetic_paper.yaml` (the paper's objective at synthetic scale) plus the row's overrides and evaluated
at the row's inference settings. Each row goes
through the package's leakage protocol (fresh action model, per-frame and video attackers trained from scratch on
the anonymized training clips, measured on the test split) and is written to the results file as soon as it is
done, so an interrupted sweep resumes where it stopped (rows already in the file are skipped unless `--redo`).

Usage:

    python benchmarks/synth_ablation.py --data outputs/synth900 --rows oracle-8x8 locate-8x8-t4
    python benchmarks/synth_ablation.py --list                 # the rows this script knows
    python benchmarks/synth_ablation.py --markdown-only        # rewrite synth_ablation.md from the JSON

Rows run with one seed of fresh models unless `--seeds` says otherwise; the file marks the seed count of each row.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from transformers_vidanon.evaluation.baselines import oracle_keep_mask
from transformers_vidanon.evaluation.protocol import (
    AnonymizedBatch,
    ProtocolConfig,
    evaluate_method,
    oracle_anonymizer,
    random_pruning_anonymizer,
    synth_protocol_data,
    vidanon_anonymizer,
)
from transformers_vidanon.fileutils import write_text_atomically
from transformers_vidanon.pruning import apply_keep_mask
from transformers_vidanon.reporting.provenance import collect_provenance
from transformers_vidanon.workflows.benchmark import packaged_config

logger = logging.getLogger("synth_ablation")
RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Row:
    """One variant. `train` is None for an oracle; else the `--key value` overrides of the synthetic recipe."""

    description: str
    train: tuple[str, ...] | None = None
    model: str | None = None  # reuse the model trained for another row (inference-time variant)
    inference: dict = field(default_factory=dict)  # inference overrides; for an oracle, its errors (see below)
    oracle: tuple[int, int, bool] | None = None  # (tubelet_size, grid_size, tube)
    random_control: bool = False
    with_oracle: str | None = None  # "union": prune what the model or the oracle prunes; "restore": keep what either keeps
    recipe: str = "synthetic_paper"  # the packaged config the overrides apply to


GRID_4 = ("--image_size", "32", "--patch_size", "8")  # the old recipe: a 4 x 4 grid of 16 x 16-pixel tubelets
GRID_8 = ("--image_size", "32", "--patch_size", "4")  # 8 x 8 grid of 8 x 8-pixel tubelets
GRID_8_64 = ("--image_size", "64", "--patch_size", "8")  # the same grid read from the full-size frames
T4 = ("--tubelet_size", "4")
STEM = ("--conv_stem_channels", "16", "32")
SMALL = ("--hidden_size", "64", "--intermediate_size", "128", "--num_attention_heads", "4")

ROWS: dict[str, Row] = {
    "oracle-4x4": Row("oracle, 4 x 4 grid, 2-frame tubelets", oracle=(2, 4, False)),
    "oracle-4x4-tube": Row("oracle, 4 x 4 grid, tube", oracle=(2, 4, True)),
    "oracle-8x8": Row("oracle, 8 x 8 grid, 2-frame tubelets", oracle=(2, 8, False)),
    "oracle-8x8-t4": Row("oracle, 8 x 8 grid, 4-frame tubelets", oracle=(4, 8, False)),
    "oracle-8x8-tube": Row("oracle, 8 x 8 grid, tube", oracle=(2, 8, True)),
    "oracle-16x16-t4": Row("oracle, 16 x 16 grid, 4-frame tubelets", oracle=(4, 16, False)),
    "oracle-16x16-t8": Row("oracle, 16 x 16 grid, 8-frame tubelets", oracle=(8, 16, False)),
    # the paper's objective on the old and on a finer grid
    "grl-4x4": Row("grl (paper), 4 x 4, keep 0.7 x 0.7 at layers 1, 2", train=GRID_4),
    "grl-8x8-t4": Row("grl (paper), 8 x 8, 4-frame tubelets", train=GRID_8 + T4),
    # the privacy CLS learns privacy; no budget model
    "locate-8x8-t4": Row("locate, no budget model, 8 x 8, 4-frame tubelets",
                         train=GRID_8 + T4 + ("--objective", "locate", "--budget_loss_weight", "0")),
    "locate-8x8-t4-budget": Row("locate + budget model through the mask, 8 x 8, 4-frame tubelets",
                                train=GRID_8 + T4 + ("--objective", "locate")),
    "locate-8x8-t4-small": Row("locate, no budget model, 8 x 8, 4-frame tubelets, hidden 64, 15 epochs",
                               train=GRID_8 + T4 + SMALL + ("--objective", "locate", "--budget_loss_weight", "0",
                                                            "--keep_rate", "0.8", "0.8", "--lambda_priv", "2",
                                                            "--num_train_epochs", "15")),
    "loc1-8x8-t4-small": Row("locate + localization loss 1, no budget model, 8 x 8, 4-frame tubelets, hidden 64, 15 ep",
                             train=GRID_8 + T4 + SMALL + ("--objective", "locate", "--budget_loss_weight", "0",
                                                          "--keep_rate", "0.8", "0.8", "--lambda_priv", "2",
                                                          "--num_train_epochs", "15", "--localization_loss_weight", "1")),
    "stem-loc1-8x8-t4-small": Row("conv stem 16, 32 + locate + localization loss 1, 8 x 8, 4-frame tubelets, 15 ep",
                                  train=GRID_8 + T4 + SMALL + STEM + ("--objective", "locate", "--budget_loss_weight",
                                                                      "0", "--keep_rate", "0.8", "0.8",
                                                                      "--lambda_priv", "2", "--num_train_epochs", "15",
                                                                      "--localization_loss_weight", "1")),
    "loc1-budget-8x8-t4-small": Row("locate + localization loss 1 + budget model through the mask, 8 x 8, t4, 15 ep",
                                    train=GRID_8 + T4 + SMALL + ("--objective", "locate", "--keep_rate", "0.8", "0.8",
                                                                 "--lambda_priv", "2", "--num_train_epochs", "15",
                                                                 "--localization_loss_weight", "1")),
    "loc3-8x8-t4-small": Row("locate + localization loss 3, no budget model, 8 x 8, t4, 15 ep",
                             train=GRID_8 + T4 + SMALL + ("--objective", "locate", "--budget_loss_weight", "0",
                                                          "--keep_rate", "0.8", "0.8", "--lambda_priv", "2",
                                                          "--num_train_epochs", "15", "--localization_loss_weight", "3")),
    "loc10-8x8-t4-small": Row("locate + localization loss 10, no budget model, 8 x 8, t4, 15 ep",
                              train=GRID_8 + T4 + SMALL + ("--objective", "locate", "--budget_loss_weight", "0",
                                                           "--keep_rate", "0.8", "0.8", "--lambda_priv", "2",
                                                           "--num_train_epochs", "15", "--localization_loss_weight",
                                                           "10")),
    "loc3-64px-8x8-t4-small": Row("locate + localization loss 3, 64 x 64 input with 8 x 8 patches, t4, 15 ep",
                                  train=GRID_8_64 + T4 + SMALL + ("--objective", "locate", "--budget_loss_weight", "0",
                                                                  "--keep_rate", "0.8", "0.8", "--lambda_priv", "2",
                                                                  "--num_train_epochs", "15",
                                                                  "--localization_loss_weight", "3")),
    "loc3-budget-8x8-t4-small": Row("locate + localization loss 3 + budget model through the mask, 8 x 8, t4, 15 ep",
                                    train=GRID_8 + T4 + SMALL + ("--objective", "locate", "--keep_rate", "0.8", "0.8",
                                                                 "--lambda_priv", "2", "--num_train_epochs", "15",
                                                                 "--localization_loss_weight", "3")),
    "loc10-25ep-8x8-t4-small": Row("locate + localization loss 10, no budget model, 8 x 8, t4, 25 ep",
                                   train=GRID_8 + T4 + SMALL + ("--objective", "locate", "--budget_loss_weight", "0",
                                                                "--keep_rate", "0.8", "0.8", "--lambda_priv", "2",
                                                                "--num_train_epochs", "25",
                                                                "--localization_loss_weight", "10")),
    "loc10-8x8-t4-small-window": Row("loc10-8x8-t4-small evaluated in window mode (scores smoothed over time)",
                                     model="loc10-8x8-t4-small", inference={"temporal_consistency": "window"}),
    "grl-8x8-t4-small": Row("grl (paper objective), 8 x 8, t4, hidden 64, 15 ep (5 without reversal)",
                            train=GRID_8 + T4 + SMALL + ("--keep_rate", "0.8", "0.8", "--lambda_priv", "2",
                                                         "--num_train_epochs", "15", "--grl_warmup_epochs", "5")),
    "mae-loc10-8x8-t4-small": Row("MAE-pretrained (1,200 steps, 90 % tube masking) + locate + localization loss 10, "
                                  "8 x 8, t4, 15 ep",
                                  train=("--init", "videomae", "--model_name_or_path", "outputs/ablation/mae",
                                         "--objective", "locate", "--budget_loss_weight", "0", "--keep_rate", "0.8",
                                         "0.8", "--lambda_priv", "2", "--num_train_epochs", "15",
                                         "--localization_loss_weight", "10")),
    # the action half: rows on the default recipe (configs/synthetic.yaml) plus one lever each
    "default": Row("the recipe before the action levers (locate + localization 10, window, no f_T)",
                   train=("--utility_loss_weight", "0"), recipe="synthetic"),
    "default-ft1": Row("+ utility branch f_T (a 3D CNN on the anonymized video), weight 1", recipe="synthetic",
                       train=("--utility_loss_weight", "1")),
    "default-act10": Row("+ action loss weight 10 (the action CE against the weighted localization loss)",
                         recipe="synthetic", train=("--action_loss_weight", "10")),
    "default-own1": Row("+ the own action head on the anonymized video (second pass), weight 1", recipe="synthetic",
                        train=("--own_output_loss_weight", "1")),
    "default-ir10": Row("+ initial weights of std 0.1 (VideoMAE's 0.02 drowns the tubelet content in the positions)",
                        recipe="synthetic", train=("--initializer_range", "0.1")),
    "default-ir10-ft1": Row("+ initial weights of std 0.1 + utility branch f_T, weight 1", recipe="synthetic",
                            train=("--initializer_range", "0.1", "--utility_loss_weight", "1")),
    "default-ir10-aug": Row("+ initial weights of std 0.1 + clip augmentation (crop, colour, erasing; no flips)",
                            recipe="synthetic", train=("--initializer_range", "0.1", "--augment", "true")),
    "default-ft5": Row("+ utility branch f_T, weight 5", recipe="synthetic", train=("--utility_loss_weight", "5")),
    "default-ir10-l0": Row("+ initial weights of std 0.1, one pruning layer at layer 0 keeping 64.5 % (the tokens "
                           "still local)", recipe="synthetic",
                           train=("--initializer_range", "0.1", "--pruning_layers", "0", "--keep_rate", "0.645")),
    "default-ft20": Row("+ utility branch f_T, weight 20", recipe="synthetic", train=("--utility_loss_weight", "20")),
    "default-ft5-own1": Row("+ utility branch f_T, weight 5, + own head on the anonymized video, weight 1",
                            recipe="synthetic", train=("--utility_loss_weight", "5", "--own_output_loss_weight", "1")),
    "default-io10": Row("+ input and output layers (tubelet projection, CLS tokens, heads) initialised at std 0.1, "
                        "attention and MLP at 0.02", recipe="synthetic",
                        train=("--input_output_initializer_range", "0.1")),
    "default-io05": Row("+ input and output layers initialised at std 0.05, attention and MLP at 0.02",
                        recipe="synthetic", train=("--input_output_initializer_range", "0.05")),
    "default-ft5-seed43": Row("the default recipe (f_T weight 5) with training seed 43 instead of 42: how much the "
                              "anonymizer's own training varies", recipe="synthetic", train=("--seed", "43")),
    "default-ft5-fb1": Row("+ the budget branch f_B (weight 1) together with f_T (weight 5): both branches on the "
                           "anonymized video", recipe="synthetic", train=("--budget_loss_weight", "1")),
    # inference-time lambda on the default model: with the own action head near chance, a_act is close to noise
    "default-ft5-l5": Row("the default model scored with lambda_priv 5 instead of 2 (inference only)", recipe="synthetic",
                          model="default-ft5", inference={"lambda_priv": 5.0}),
    "default-ft5-l20": Row("the default model scored with lambda_priv 20 instead of 2 (inference only)", recipe="synthetic",
                           model="default-ft5", inference={"lambda_priv": 20.0}),
    # more pruning stages: each stage's privacy pool must predict privacy from what the earlier stages left
    "default-ft5-p123": Row("+ three pruning layers (1, 2, 3) keeping 0.86 each instead of two keeping 0.8 (about the "
                            "same budget)", recipe="synthetic",
                            train=("--pruning_layers", "1", "2", "3", "--keep_rate", "0.86", "0.86", "0.86")),
    "default-ft5-lt20": Row("+ lambda_priv 20 in training and at inference (the score is the privacy attention, "
                            "a_act breaking ties)", recipe="synthetic", train=("--lambda_priv", "20")),
    "default-ft5-p012": Row("+ three pruning layers (0, 1, 2) keeping 0.86 each: the first one scores the tubelets "
                            "before any token mixing", recipe="synthetic",
                            train=("--pruning_layers", "0", "1", "2", "--keep_rate", "0.86", "0.86", "0.86")),
    # the budget branch f_B as the utility branch's kind of model: a 3D CNN privacy classifier on the anonymized video
    "default-ft5-fbc1": Row("+ the budget branch f_B as a 3D CNN (the fresh attackers' kind of model, not a small "
                            "VideoMAE), weight 1, together with f_T (weight 5)", recipe="synthetic",
                            train=("--budget_architecture", "c3d", "--budget_loss_weight", "1")),
    "default-ft5-fbc5": Row("+ the budget branch f_B as a 3D CNN, weight 5, together with f_T (weight 5)",
                            recipe="synthetic", train=("--budget_architecture", "c3d", "--budget_loss_weight", "5")),
    "default-ft5-seed44": Row("the default recipe (f_T weight 5) with training seed 44", recipe="synthetic",
                              train=("--seed", "44")),
    "default-ft5-fbc5-seed43": Row("default-ft5-fbc5 with training seed 43", recipe="synthetic",
                                   train=("--budget_architecture", "c3d", "--budget_loss_weight", "5", "--seed", "43")),
    "default-ft5-fbc5-seed44": Row("default-ft5-fbc5 with training seed 44", recipe="synthetic",
                                   train=("--budget_architecture", "c3d", "--budget_loss_weight", "5", "--seed", "44")),
    # tubelets that do not mix before they are scored: each tubelet token attends to itself alone up to the last
    # pruning layer (the CLS tokens to every token)
    "default-ft5-iso": Row("+ isolated tubelets: each tubelet token attends to itself alone up to the last pruning "
                           "layer, the CLS tokens to all", recipe="synthetic", train=("--isolate_tubelets", "true")),
    "default-ft5-iso-io10": Row("+ isolated tubelets + input and output layers initialised at std 0.1 (the own head "
                                "learns; without isolation its localization falls)", recipe="synthetic",
                                train=("--isolate_tubelets", "true", "--input_output_initializer_range", "0.1")),
    # flatter CLS attention rows for the score and the localization pools
    "default-ft5-tau8": Row("+ CLS attention temperature 8 for the score and the localization pools (the attention's "
                            "output unchanged)", recipe="synthetic", train=("--cls_attention_temperature", "8")),
    "default-ft5-tau8-seed44": Row("default-ft5-tau8 with training seed 44 (the seed at which the default removes "
                                   "44.6 %)", recipe="synthetic",
                                   train=("--cls_attention_temperature", "8", "--seed", "44")),
    "default-ft5-fbc5-lt100": Row("+ the budget branch f_B as a 3D CNN (weight 5) + lambda_priv 100 in training and at "
                                  "inference", recipe="synthetic",
                                  train=("--budget_architecture", "c3d", "--budget_loss_weight", "5",
                                         "--lambda_priv", "100")),
    "default-ft5-fbc5-lt100-seed44": Row("default-ft5-fbc5-lt100 with training seed 44", recipe="synthetic",
                                         train=("--budget_architecture", "c3d", "--budget_loss_weight", "5",
                                                "--lambda_priv", "100", "--seed", "44")),
    "default-noclip": Row("+ no gradient clipping", recipe="synthetic", train=("--max_grad_norm", "0")),
    "locate-8x8-t2": Row("locate, no budget model, 8 x 8, 2-frame tubelets",
                         train=GRID_8 + ("--objective", "locate", "--budget_loss_weight", "0")),
}

# The rows above on `recipe="synthetic"` were defined against the recipe before the inference lambda became its
# default (the recipe of 4c731f8: the saved model scoring with its training lambda_priv 2, no budget model). These
# flags put that recipe back under every one of them, so that a row keeps meaning what it measured; a row's own flags
# come after them and win. The current default is `default-ft5` scored with lambda_priv 100 (`default-ft5-l100`).
BEFORE_F_B = ("--budget_loss_weight", "0", "--budget_architecture", "videomae", "--inference_lambda_priv", "2")
for _name, _row in list(ROWS.items()):
    if _row.recipe == "synthetic" and _row.train is not None:
        ROWS[_name] = replace(_row, train=BEFORE_F_B + _row.train)

# the same trained models scored with lambda_priv 100 (inference only): a paired comparison on each model
for _base in ("default-ft5", "default-ft5-seed43", "default-ft5-seed44", "default-ft5-fbc5", "default-ft5-fbc5-seed43",
              "default-ft5-fbc5-seed44"):
    ROWS[f"{_base}-l100"] = Row(f"{_base} scored with lambda_priv 100 instead of 2 (inference only)",
                                recipe="synthetic", model=_base, inference={"lambda_priv": 100.0})

# rows on the current default recipe (f_T, the saved model scoring with lambda_priv 100)
ROWS["learned-positions"] = Row("the default with a learned position table (VideoMAE's 0.02 scale) instead of the fixed "
                                "sinusoidal one, whose size drowns the tubelet content", recipe="synthetic",
                                train=("--position_embedding_type", "learnable"))
ROWS["learned-positions-world2"] = Row("learned-positions trained and measured on SynthPrivacy world 2 (nothing retuned)",
                                       recipe="synthetic",
                                       train=("--position_embedding_type", "learnable", "--synth_world", "2"))

# the kept-privacy term: the frozen localization privacy head must read the kept tubelets' pool as free of privacy
for _weight in ("1", "5", "10", "30"):
    _flags = ("--kept_privacy_loss_weight", _weight)
    ROWS[f"kept-privacy-{_weight}"] = Row(
        f"the default + the kept-privacy term at weight {_weight} (the frozen localization privacy head must read every "
        "attribute as absent from the pool of the kept tubelets; it moves the scores alone)", recipe="synthetic",
        train=_flags)
    for _seed in ("43", "44"):
        ROWS[f"kept-privacy-{_weight}-seed{_seed}"] = Row(f"kept-privacy-{_weight} with training seed {_seed}",
                                                          recipe="synthetic", train=_flags + ("--seed", _seed))
    ROWS[f"kept-privacy-{_weight}-world2"] = Row(
        f"kept-privacy-{_weight} trained and measured on SynthPrivacy world 2 (nothing retuned)", recipe="synthetic",
        train=_flags + ("--synth_world", "2"))

for _base in ("kept-privacy-10", "kept-privacy-10-seed44"):
    ROWS[f"{_base}-l2"] = Row(f"{_base} scored with lambda_priv 2, its training value, instead of 100 (inference only)",
                              recipe="synthetic", model=_base, inference={"lambda_priv": 2.0})
for _suffix, _std in (("io05", "0.05"), ("io10", "0.1")):
    ROWS[f"kept-privacy-10-{_suffix}"] = Row(
        f"kept-privacy-10 with the input and output layers initialised at std {_std} (the own action head learns "
        "there; without the term the localization falls)", recipe="synthetic",
        train=("--kept_privacy_loss_weight", "10", "--input_output_initializer_range", _std))
# the benchmark's keep-rate sweep (`vidanon benchmark --full`: 0.75 and 0.85 at every pruning layer) on the default
# model, each beside the random control that drops as many tubelets
for _keep in ("0.75", "0.85"):
    ROWS[f"default-ft5-l100-keep{_keep}"] = Row(
        f"the default model (scored with lambda_priv 100) keeping {_keep} at each pruning layer (inference only)",
        recipe="synthetic", model="default-ft5", inference={"lambda_priv": 100.0, "keep_rate": float(_keep)})
    ROWS[f"random-keep{_keep}"] = Row(f"random pruning at the keep schedule of default-ft5-l100-keep{_keep}",
                                      recipe="synthetic", model="default-ft5", inference={"keep_rate": float(_keep)},
                                      random_control=True)
ROWS["default-ft5-l100-tubelet"] = Row("the default model (scored with lambda_priv 100) in tubelet mode: no smoothing of the "
                                       "scores over time (inference only)", recipe="synthetic", model="default-ft5",
                                       inference={"lambda_priv": 100.0, "temporal_consistency": "tubelet"})
ROWS["default-world2"] = Row("the default recipe trained and measured on SynthPrivacy world 2 (nothing retuned)",
                             recipe="synthetic", train=("--synth_world", "2"))
ROWS["kept-privacy-10-ft20"] = Row("kept-privacy-10 with the utility branch f_T at weight 20 instead of 5 (alone, 20 moves "
                                   "the mask off the privacy cues)", recipe="synthetic",
                                   train=("--kept_privacy_loss_weight", "10", "--utility_loss_weight", "20"))
ROWS["kept-privacy-10-ft20-seed44"] = Row("kept-privacy-10-ft20 with training seed 44", recipe="synthetic",
                                          train=("--kept_privacy_loss_weight", "10", "--utility_loss_weight", "20",
                                                 "--seed", "44"))

# a wider backbone (the last lever): twice the width, the same depth, heads of twice the size
WIDE = ("--hidden_size", "128", "--intermediate_size", "256")
ROWS["default-w128"] = Row("the default with a backbone twice as wide (hidden 128, MLP 256, 4 heads of 32)",
                           recipe="synthetic", train=WIDE)
ROWS["default-w128-seed44"] = Row("default-w128 with training seed 44", recipe="synthetic", train=WIDE + ("--seed", "44"))

# isolated tubelets over training seeds (the seed-42 row above ran on the recipe before the inference lambda)
for _seed in ("42", "43", "44"):
    ROWS[f"iso-seed{_seed}"] = Row(f"the default + isolated tubelets (--isolate_tubelets true), training seed {_seed}",
                                   recipe="synthetic", train=("--isolate_tubelets", "true", "--seed", _seed))
ROWS["iso-world2"] = Row("the default + isolated tubelets trained and measured on SynthPrivacy world 2 (nothing retuned)",
                         recipe="synthetic", train=("--isolate_tubelets", "true", "--synth_world", "2"))
# finer masks at about twice the tokens: 2-frame tubelets (8 time slots), or a 16 x 16 grid of 8-frame tubelets
ROWS["default-t2"] = Row("the default with 2-frame tubelets (8 x 8 x 8 = 512 tubelets; the oracle there: 96.7 % action)",
                         recipe="synthetic", train=("--tubelet_size", "2"))
ROWS["default-g16-t8"] = Row("the default on a 16 x 16 grid of 8-frame tubelets (64 x 64 input, 4 x 4 patches: 512 "
                             "tubelets)", recipe="synthetic",
                             train=("--image_size", "64", "--tubelet_size", "8"))
# the oracle with VidAnon's kind of error, at the oracle's own budget: what the action and the leak need of a mask
for _miss in ("5", "10", "20"):
    for _where in ("near", "anywhere"):
        ROWS[f"oracle-8x8-t4-miss{_miss}-{_where}"] = Row(
            f"oracle 8 x 8, t4, keeping {_miss} % of the tubelets it prunes and pruning as many others instead, "
            + ("each next to a pruned one (VidAnon's false removals lie next to the cues)" if _where == "near"
               else "anywhere"), oracle=(4, 8, False), inference={"miss": int(_miss) / 100, "near": _where == "near"})
# no position embedding: the score reads the tokens' content alone (the default's false removals lie next to the cues,
# and in world 2 its mask follows the position more than the content)
for _seed in ("42", "43", "44"):
    ROWS[f"no-positions-seed{_seed}"] = Row(f"the default with no position embedding (--position_embedding_type none), "
                                            f"training seed {_seed}", recipe="synthetic",
                                            train=("--position_embedding_type", "none", "--seed", _seed))
ROWS["no-positions-world2"] = Row("the default with no position embedding, trained and measured on SynthPrivacy world 2 "
                                  "(nothing retuned)", recipe="synthetic",
                                  train=("--position_embedding_type", "none", "--synth_world", "2"))
# the pixel scorer: a per-tubelet MLP on the tubelet's own pixels, fitted after training to the frozen model's own
# pruning choices, ranks the tubelets at inference (the attention's false removals lie next to the cues, its misses are
# the tubelets a cue covers in part: errors of position and context that a classifier of one tubelet's content averages
# out)
PIXELS = ("--pixel_scorer_hidden_size", "128", "--inference_pruning_score", "pixels")
for _seed in ("42", "43", "44"):
    _name = "pixel-scorer" + ("" if _seed == "42" else f"-seed{_seed}")
    ROWS[_name] = Row(f"the default + the pixel scorer (width 128) ranking the tubelets at inference, training seed {_seed}",
                      recipe="synthetic", train=PIXELS + ("--seed", _seed))
    ROWS[_name + "-attention"] = Row(f"{_name} scored by its attention (pruning_score attention, lambda_priv 100): the "
                                     "same model without the scorer's ranking (inference only)", recipe="synthetic",
                                     model=_name, inference={"pruning_score": "attention"})
ROWS["pixel-scorer-world2"] = Row("the default + the pixel scorer, trained and measured on SynthPrivacy world 2 (nothing "
                                  "retuned)", recipe="synthetic", train=PIXELS + ("--synth_world", "2"))
ROWS["pixel-scorer-world2-attention"] = Row("pixel-scorer-world2 scored by its attention (inference only)",
                                            recipe="synthetic", model="pixel-scorer-world2",
                                            inference={"pruning_score": "attention"})
# which of the default's errors cost what: its misses (union: the oracle prunes them too) or its false removals
# (restore: the oracle keeps them)
ROWS["default-ft5-l100-union-oracle"] = Row(
    "the default model (scored with lambda_priv 100), pruning what the oracle prunes as well: no privacy pixel left, "
    "its false removals kept (a diagnostic: it reads the ground truth)", recipe="synthetic", model="default-ft5",
    inference={"lambda_priv": 100.0}, with_oracle="union")
ROWS["default-ft5-l100-restore-oracle"] = Row(
    "the default model (scored with lambda_priv 100), keeping what the oracle keeps as well: its misses left, no "
    "false removal (a diagnostic: it reads the ground truth)", recipe="synthetic", model="default-ft5",
    inference={"lambda_priv": 100.0}, with_oracle="restore")


def flawed_oracle_anonymizer(tubelet_size: int, grid_size: int, miss: float, near: bool, seed: int = 0):
    """The oracle with errors at its own budget: a share `miss` of the tubelets it prunes, drawn at random in each
    clip, is kept, and as many kept tubelets are pruned instead: among those with a pruned spatial neighbour in the
    same time slot (`near`), or among all."""
    generator = torch.Generator().manual_seed(seed)

    def anonymize(video: torch.Tensor, regions: torch.Tensor | None = None) -> AnonymizedBatch:
        keep = oracle_keep_mask(regions, tubelet_size, grid_size)  # (B, T', g, g), 1 = kept
        neighbour = torch.nn.functional.max_pool2d(1 - keep, 3, stride=1, padding=1) > 0
        flat, candidates = keep.flatten(1).clone(), (neighbour.flatten(1) & (keep.flatten(1) > 0))
        for b in range(flat.shape[0]):
            pruned = (flat[b] == 0).nonzero().squeeze(1)
            count = round(miss * len(pruned))
            restore = pruned[torch.randperm(len(pruned), generator=generator)[:count]]
            pool = (candidates[b] if near else flat[b] > 0).nonzero().squeeze(1)
            chosen = pool[torch.randperm(len(pool), generator=generator)[:count]]
            flat[b, restore], flat[b, chosen] = 1.0, 0.0
        keep = flat.view_as(keep)
        return AnonymizedBatch(apply_keep_mask(video, keep), keep)

    anonymize.needs_regions = "privacy"
    return anonymize


def with_oracle(anonymizer, how: str, tubelet_size: int, grid_size: int):
    """A model's mask combined with the oracle's on the same grid: `union` prunes what either prunes, `restore` keeps
    what either keeps."""
    if how not in ("union", "restore"):
        raise ValueError(f"with_oracle must be 'union' or 'restore', got {how!r}")

    def anonymize(video: torch.Tensor, regions: torch.Tensor | None = None) -> AnonymizedBatch:
        model_keep = anonymizer(video).keep_mask
        oracle = oracle_keep_mask(regions, tubelet_size, grid_size).to(model_keep)
        keep = model_keep * oracle if how == "union" else torch.maximum(model_keep, oracle)
        return AnonymizedBatch(apply_keep_mask(video, keep), keep)

    anonymize.needs_regions = "privacy"
    return anonymize


def train_row(name: str, row: Row, data_dir: Path, work: Path) -> tuple[Path, float, dict]:
    """Train (or reuse) the row's model; returns its folder, the training seconds and its last eval metrics."""
    from transformers_vidanon.training.arguments import parse_arguments
    from transformers_vidanon.training.trainer import train_from_arguments

    output = work / name
    timing = output / "train_seconds.json"
    if not (output / "model" / "model.safetensors").is_file():
        argv = ["--config", str(packaged_config(row.recipe)), "--data_dir", str(data_dir), "--output_dir",
                str(output), "--resume_from_checkpoint", "latest", "--disable_tqdm", "true", *row.train]
        tick = time.perf_counter()
        result = train_from_arguments(*parse_arguments(argv))
        if result.model_dir is None:
            raise RuntimeError(f"training of row {name!r} stopped early; rerun to resume")
        write_text_atomically(timing, json.dumps({"seconds": time.perf_counter() - tick}))
    seconds = json.loads(timing.read_text())["seconds"] if timing.is_file() else float("nan")
    metrics = {}
    log = output / "metrics.jsonl"
    if log.is_file():
        for line in log.read_text().splitlines():
            values = json.loads(line)
            metrics.update({k: v for k, v in values.items() if k.startswith("eval_")})
    return output / "model", seconds, metrics


@torch.no_grad()
def mask_diagnostics(anonymizer, data, max_videos: int = 90) -> dict:
    """Where the mask falls, against the ground truth (no fresh model: seconds): the share of privacy pixels
    removed, of other pixels kept, and of the kept pixels that are privacy pixels; on the first test clip of
    `max_videos` videos."""
    clips = data.test_clips[:max_videos, 0].float() / 255.0
    privacy = data.test_privacy_regions[:max_videos, 0]
    kept = anonymizer(clips, privacy).keep_mask
    from transformers_vidanon.pruning import upsample_keep_mask

    pixel_kept = upsample_keep_mask(kept, tuple(privacy.shape[1:]))[:, :, 0] > 0.5
    diagnostics = {
        "privacy_pixels_removed": float((~pixel_kept & privacy).sum() / privacy.sum().clamp(min=1)),
        "other_pixels_kept": float((pixel_kept & ~privacy).sum() / (~privacy).sum().clamp(min=1)),
        "kept_pixels_private": float((pixel_kept & privacy).sum() / pixel_kept.sum().clamp(min=1)),
        "keep_fraction": float(kept.float().mean()),
    }
    action = getattr(data, "test_action_regions", None)
    if action is not None:  # the pixels where the action is shown (SynthPrivacy's `action` region)
        action = action[:max_videos, 0]
        diagnostics["action_pixels_kept"] = float((pixel_kept & action).sum() / action.sum().clamp(min=1))
    return diagnostics


def run_row(name: str, row: Row, data, data_dir: Path, work: Path, protocol: ProtocolConfig | None) -> dict:
    from transformers_vidanon.modeling_vidanon import VidAnonForPrivacyPreservingActionRecognition

    record: dict = {"description": row.description}
    if row.oracle is not None:
        tubelet, grid, tube = row.oracle
        anonymizer = (flawed_oracle_anonymizer(tubelet, grid, **row.inference) if row.inference
                      else oracle_anonymizer(tubelet, grid, tube))
        record.update(row.inference)
        record.update(kind="oracle", grid=f"{grid}x{grid}", tubelet_size=tubelet, mode="tube" if tube else "tubelet")
    else:
        source = row.model or name
        model_dir, seconds, metrics = train_row(source, ROWS[source], data_dir, work)
        model = VidAnonForPrivacyPreservingActionRecognition.from_pretrained(model_dir).eval()
        config = model.config
        grid = config.image_size // config.patch_size
        record.update(kind="random" if row.random_control else "vidanon", train_overrides=list(ROWS[source].train),
                      train_seconds=seconds, anonymizer_eval=metrics, grid=f"{grid}x{grid}",
                      tubelet_size=config.tubelet_size, pruning_layers=list(config.pruning_layers),
                      keep_rate=config.keep_rates(), lambda_priv=config.lambda_priv,
                      mode=config.temporal_consistency, inference=dict(row.inference))
        record.update({k: v for k, v in row.inference.items()})
        anonymizer = (random_pruning_anonymizer(config, keep_rate=row.inference.get("keep_rate")) if row.random_control
                      else vidanon_anonymizer(model, **row.inference))
        if row.with_oracle:
            anonymizer = with_oracle(anonymizer, row.with_oracle, config.tubelet_size, grid)
            record["with_oracle"] = row.with_oracle
    record["diagnostics"] = mask_diagnostics(anonymizer, data)
    logger.info("row %s mask: %s", name, {k: round(v, 3) for k, v in record["diagnostics"].items()})
    if protocol is None:
        return record
    tick = time.perf_counter()
    result = evaluate_method(name, anonymizer, data, protocol)
    record["evaluate_seconds"] = time.perf_counter() - tick
    record["seeds"] = list(protocol.seeds)
    record["summary"] = result.summary()
    record["keep_fraction"] = result.extra.get("keep_fraction")
    return record


def _own_top1(row: dict) -> str:
    """The anonymizer's own action head on the validation split (not a leakage figure), or '-'."""
    own = row.get("anonymizer_eval", {}).get("eval_action_top1")
    return "-" if own is None else f"{100 * own:.0f}"


def _action_kept(row: dict) -> str:
    """The share of the action pixels (SynthPrivacy's `action` region) that the mask keeps, or '-'."""
    kept = row.get("diagnostics", {}).get("action_pixels_kept")
    return "-" if kept is None else f"{100 * kept:.1f}"


def markdown(payload: dict) -> str:
    lines = ["# SynthPrivacy ablations", "",
             ("One row per variant, through the leakage protocol (fresh models trained from scratch on the anonymized "
             "training clips, measured on the test split). `seeds`: fresh-model seeds of the row (1 = exploratory; "
             "the rows that decide the default are the 3-seed rows of `synth_benchmark.md`). `code`: the commit the "
             "row ran on (each row's full provenance, machine and configuration are in `synth_ablation.json`). "
             "`train (s)`: wall time on a shared 2-core machine running up to eight jobs at once, so several times "
             "what the same training takes alone."), "",
             ("| row | variant | grid | kept (%) | action top-1 (%) | frame cMAP (%) | video cMAP (%) | flicker (%) | "
              "own val top-1 (%) | action pixels kept (%) | train (s) | seeds | code |"),
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def cell(summary: dict, key: str) -> str:
        if key not in summary:
            return "-"
        value = summary[key]
        return f"{100 * value['mean']:.1f}" + (f" ± {100 * value['std']:.1f}" if value.get("num_seeds", 1) > 1 else "")

    for name, row in payload["rows"].items():
        s = row["summary"]
        kept = f"{100 * row['keep_fraction']:.0f}" if row.get("keep_fraction") is not None else "-"
        train = f"{row['train_seconds']:.0f}" if row.get("train_seconds") is not None else "-"
        lines.append(f"| {name} | {row['description']} | {row['grid']}, t{row['tubelet_size']} | {kept} | "
                     f"{cell(s, 'action_top1')} | {cell(s, 'frame_cmap')} | {cell(s, 'video_cmap')} | "
                     f"{cell(s, 'flicker_rate')} | {_own_top1(row)} | {_action_kept(row)} | {train} | "
                     f"{len(row['seeds'])} | "
                     f"{row.get('code', row.get('provenance', {}).get('git_commit', '-'))} |")
    diagnosed = {**payload.get("diagnostics", {}), **payload["rows"]}
    lines += ["", "## Where the mask falls (ground truth, no fresh model)", "",
              ("On the first test clip of 90 test videos: the share of privacy pixels (the union of the five attribute "
              "regions) that the mask removes, of the other pixels that it keeps, and the anonymizer's own validation "
              "action top-1 (its action head; not a leakage figure)."), "",
              ("| row | variant | kept (%) | privacy pixels removed (%) | other pixels kept (%) | action pixels kept (%) "
               "| own val top-1 (%) | train (s) |"), "|---|---|---|---|---|---|---|---|"]
    for name, row in diagnosed.items():
        d = row.get("diagnostics")
        if not d:
            continue
        train = row.get("train_seconds")
        lines.append(f"| {name} | {row['description']} | {100 * d['keep_fraction']:.0f} | "
                     f"{100 * d['privacy_pixels_removed']:.1f} | {100 * d['other_pixels_kept']:.1f} | "
                     f"{_action_kept(row)} | {_own_top1(row)} | {'-' if train is None else f'{train:.0f}'} |")
    if payload.get("conclusions"):
        lines += ["", "## What the rows decide", ""] + [f"- {text}" for text in payload["conclusions"]]
    chance = payload.get("chance")
    if chance:
        lines += ["", f"Chance: action top-1 {100 * chance['action_top1']:.1f}, cMAP {100 * chance['cmap']:.1f}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="SynthPrivacy folder (vidanon synth --num-videos 900 --seed 0)")
    parser.add_argument("--rows", nargs="+", default=[], help="row names (see --list)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--attackers", nargs="*", default=["frame", "video"],
                        help="privacy attackers (none: the action model only, a quick look at the action half)")
    parser.add_argument("--work", type=Path, default=Path("outputs/ablation"), help="trained models go here")
    parser.add_argument("--output", type=Path, default=RESULTS / "synth_ablation.json")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--redo", action="store_true", help="rerun rows already in the results file")
    parser.add_argument("--diagnose-only", action="store_true",
                        help="train and measure where the mask falls (seconds), without fresh models")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--markdown-only", action="store_true")
    parser.add_argument("--merge", type=Path, nargs="+", default=[],
                        help="results files of sweeps run apart (e.g. in parallel): their rows join the output")
    args = parser.parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    if args.list:
        for name, row in ROWS.items():
            print(f"{name:28s} {row.description}")
        return 0
    payload = json.loads(args.output.read_text()) if args.output.is_file() else {"rows": {}}
    for other in args.merge:
        extra = json.loads(other.read_text())
        payload["rows"].update(extra.get("rows", {}))
        payload.setdefault("diagnostics", {}).update(extra.get("diagnostics", {}))
        payload.setdefault("chance", extra.get("chance"))
    if args.merge:
        write_text_atomically(args.output, json.dumps(payload, indent=2))
    if args.markdown_only or args.merge:
        write_text_atomically(args.output.with_suffix(".md"), markdown(payload))
        return 0
    unknown = [name for name in args.rows if name not in ROWS]
    if unknown:
        parser.error(f"unknown rows {unknown}; --list shows the known ones")
    if args.data is None:
        parser.error("--data is required")
    if args.threads:
        torch.set_num_threads(args.threads)
    data = synth_protocol_data(args.data / "manifest.jsonl", num_frames=16, progress=False)
    from transformers_vidanon.evaluation.protocol import chance_levels

    chance = chance_levels(data)
    payload["chance"] = {"action_top1": chance.action_top1, "cmap": chance.cmap}
    protocol = ProtocolConfig(seeds=tuple(args.seeds), attackers=tuple(args.attackers), progress=False)
    for name in args.rows:
        if args.diagnose_only:
            record = run_row(name, ROWS[name], data, args.data, args.work, None)
            payload.setdefault("diagnostics", {})[name] = record
            write_text_atomically(args.output, json.dumps(payload, indent=2))
            continue
        if name in payload["rows"] and not args.redo:
            logger.info("row %s already measured: skipped", name)
            continue
        record = run_row(name, ROWS[name], data, args.data, args.work, protocol)
        record["provenance"] = collect_provenance({"row": name, "train_overrides": list(ROWS[name].train or ()),
                                                   "inference": ROWS[name].inference, "seeds": args.seeds,
                                                   "attackers": args.attackers})
        payload["rows"][name] = record
        payload["provenance"] = record["provenance"]
        write_text_atomically(args.output, json.dumps(payload, indent=2))
        write_text_atomically(args.output.with_suffix(".md"), markdown(payload))
        logger.info("row %s: %s", name, {k: round(v["mean"], 4) for k, v in record["summary"].items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
