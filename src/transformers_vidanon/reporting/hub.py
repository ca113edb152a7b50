"""Pushing a VidAnon anonymizer to the Hugging Face Hub: the package's one uploader and its card policy.

Every push of the package goes through [`upload_model_folder`]: the model's own `push_to_hub` and
`save_pretrained(..., push_to_hub=True)`, the trainer's `--push_to_hub`, `examples/push_to_hub.py` and
[`push_model_to_hub`] (which saves a model into a temporary folder with a card of its own first). A push is one
commit of the whole saved folder: the weights, `config.json`, both processors, the modeling, processing and pipeline
code named in `auto_map` / `custom_pipelines` (so that `trust_remote_code=True` works without this package) and the
model card `README.md`.

Card policy, "the card travels with the weights": the folder's `README.md` replaces a card already on the Hub. A card
says what was measured on the weights beside it (`reporting.modelcard`), so a card left from the weights of an
earlier push would claim results that the new weights never had. Pass `keep_hub_card=True` to keep the card already
on the Hub instead (a card edited by hand there, or a results card when only the code changed). A folder without a
`README.md` leaves the Hub's card as it is. The log says which card the repository ends with.

The Hub endpoint and token come from the environment as everywhere in huggingface_hub (`HF_ENDPOINT`, `HF_TOKEN` or
`hf auth login`).
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .modelcard import save_model_card

logger = logging.getLogger(__name__)

CARD_FILE = "README.md"
DEFAULT_COMMIT_MESSAGE = "Upload VidAnon anonymizer"


def upload_model_folder(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    keep_hub_card: bool = False,
    private: bool | None = None,
    token: str | bool | None = None,
    revision: str | None = None,
    commit_message: str | None = None,
    commit_description: str | None = None,
    create_pr: bool = False,
) -> Any:
    """Upload a saved model folder to `repo_id` in one commit, following the card policy of this module.

    Args:
        folder (`str` or `os.PathLike`): what `save_pretrained` (or the trainer) wrote; it must hold `config.json`.
        repo_id (`str`): `"owner/name"`, or `"name"` under the token's user; created if missing.
        keep_hub_card (`bool`, *optional*, defaults to `False`): keep a `README.md` already on the Hub rather than
            replacing it with the folder's.
        private (`bool`, *optional*): create the repository private (default: the Hub's default; an existing
            repository keeps its visibility).
        token (`str` or `bool`, *optional*): Hub token (default: the logged-in one or `HF_TOKEN`).
        revision (`str`, *optional*): the branch to commit to (default: `main`).
        commit_message (`str`, *optional*), commit_description (`str`, *optional*), create_pr (`bool`, *optional*):
            as in `huggingface_hub.HfApi.upload_folder`.

    Returns:
        `huggingface_hub.CommitInfo` of the commit.

    Raises:
        FileNotFoundError: `folder` holds no `config.json` (the message names it).
    """
    from huggingface_hub import HfApi

    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{str(folder)!r} is not a saved model folder: it has no config.json.")
    api = HfApi(token=token)
    repo_id = api.create_repo(repo_id, private=private, exist_ok=True).repo_id
    ignore = None
    if (folder / CARD_FILE).is_file() and api.file_exists(repo_id, CARD_FILE, revision=revision):
        if keep_hub_card:
            ignore = [CARD_FILE]
            logger.info("%s keeps the %s already on the Hub (keep_hub_card=True)", repo_id, CARD_FILE)
        else:
            logger.info("%s: the %s on the Hub is replaced by the card of the pushed weights (keep_hub_card=True "
                        "keeps it)", repo_id, CARD_FILE)
    commit = api.upload_folder(
        folder_path=str(folder), repo_id=repo_id, commit_message=commit_message or DEFAULT_COMMIT_MESSAGE,
        commit_description=commit_description, revision=revision, create_pr=create_pr, ignore_patterns=ignore,
    )
    logger.info("pushed %s to %s", folder, commit.commit_url)
    return commit


def push_model_to_hub(
    model: Any,
    repo_id: str,
    *,
    processor: Any | None = None,
    results: Mapping[str, Any] | Any | None = None,
    training_args: Mapping[str, Any] | None = None,
    base_model: str | None = None,
    training_metrics: Mapping[str, Any] | None = None,
    max_shard_size: int | str | None = "50GB",
    **upload_kwargs: Any,
) -> Any:
    """Save `model` with a card rendered for it and push both in one commit ([`upload_model_folder`]).

    The folder is what `model.save_pretrained` writes (weights, config, both processors, the code); the card is
    `reporting.modelcard.render_model_card` of the model's config with `results`, `training_args`, `base_model`
    and `training_metrics` ("not evaluated" without results), naming the repository in its code examples.

    Args:
        model (`VidAnonForPrivacyPreservingActionRecognition`): the model.
        repo_id (`str`): `"owner/name"`, or `"name"` under the token's user; created if missing.
        processor (`VidAnonImageProcessor` or `VidAnonVideoProcessor`, *optional*): saved beside the model (the
            other kind is derived from it); default: the processors for the model's input size.
        results, training_args, base_model, training_metrics: see `reporting.modelcard.render_model_card`.
        max_shard_size (`int` or `str`, *optional*, defaults to `"50GB"`): as in `save_pretrained`.
        upload_kwargs: `keep_hub_card`, `private`, `token`, `revision`, `commit_message`, `commit_description` and
            `create_pr` of [`upload_model_folder`].

    Returns:
        `huggingface_hub.CommitInfo` of the commit.
    """
    from huggingface_hub import HfApi

    if "/" not in repo_id:  # the card names the repository as others load it
        repo_id = f"{HfApi(token=upload_kwargs.get('token')).whoami()['name']}/{repo_id}"
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder, processor=processor, model_card=False, max_shard_size=max_shard_size)
        save_model_card(folder, model.config, results, training_args, base_model, repo_id=repo_id,
                        training_metrics=training_metrics)
        return upload_model_folder(folder, repo_id, **upload_kwargs)


__all__ = ["CARD_FILE", "DEFAULT_COMMIT_MESSAGE", "push_model_to_hub", "upload_model_folder"]
