"""Batching decoded examples ([`collate_clips`]) and counting the bad videos left out ([`BadVideoLog`])."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import torch

from .labels import (
    PRIVACY_ATTRIBUTES,
)

logger = logging.getLogger(__name__)

def collate_clips(batch: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack decoded examples into a batch, dropping the ones a `"skip"` transform could not decode.

    Args:
        batch (`list[dict]`): examples from [`ClipTransform`].

    Returns:
        `dict` with `pixel_values` (`(B, T, C, H, W)` or `(B, num_clips, T, C, H, W)`), `labels` (`(B,)` long),
        `privacy_labels` (`(B, 5)` float), `video_id` (`list[str]`) and `skipped_videos` (`list[str]`, the paths
        left out). If every example was bad, `B` is 0 and `pixel_values` is an empty tensor.
    """
    good = [example for example in batch if example.get("pixel_values") is not None]
    skipped = [str(example.get("bad_video")) for example in batch if example.get("pixel_values") is None]
    if not good:
        return {
            "pixel_values": torch.empty(0),
            "labels": torch.empty(0, dtype=torch.long),
            "privacy_labels": torch.empty(0, len(PRIVACY_ATTRIBUTES)),
            "video_id": [],
            "skipped_videos": skipped,
        }
    return {
        "pixel_values": torch.stack([example["pixel_values"] for example in good]),
        "labels": torch.tensor([int(example["labels"]) for example in good], dtype=torch.long),
        "privacy_labels": torch.stack(
            [torch.as_tensor(example["privacy_labels"], dtype=torch.float32) for example in good]
        ),
        "video_id": [example["video_id"] for example in good],
        "skipped_videos": skipped,
    }


class BadVideoLog:
    """Counts the videos left out by `on_bad_video="skip"`, in the process that consumes the batches.

    Transforms run inside DataLoader workers, so the count is taken from the batches (`skipped_videos`, filled by
    [`collate_clips`]) where they arrive:

    ```python
    >>> log = BadVideoLog()
    >>> for batch in log.watch(loader):  # doctest: +SKIP
    ...     train_step(batch)
    >>> log.count, log.paths  # doctest: +SKIP
    ```

    Attributes:
        paths (`list[str]`): the skipped files, in the order seen (a file skipped in several epochs repeats).
    """

    def __init__(self) -> None:
        self.paths: list[str] = []

    @property
    def count(self) -> int:
        """Number of skipped examples."""
        return len(self.paths)

    def record_batch(self, batch: Mapping[str, Any]) -> Mapping[str, Any]:
        """Record the `skipped_videos` of a collated batch; returns the batch unchanged."""
        self.paths.extend(batch.get("skipped_videos", []))
        return batch

    def watch(self, batches: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
        """Yield the batches of a loader, recording what each one skipped."""
        for batch in batches:
            yield self.record_batch(batch)

    def __repr__(self) -> str:
        return f"BadVideoLog(count={self.count}, paths={self.paths[:5]}{'...' if self.count > 5 else ''})"
