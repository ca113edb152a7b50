"""The settings of an anonymization run, declared once: [`AnonymizeOptions`].

[`~anonymize.anonymize_video`], [`~anonymize.anonymize_folder`], [`~sharding.anonymize_folder_sharded`] and
`vidanon anonymize` all take one [`AnonymizeOptions`]; what differs between a file and a folder (the preview's path
or folder, whether an existing output is replaced, sub-folders) stays an argument of the function it applies to.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..configuration_vidanon import normalize_keep_rate
from ..video import DEFAULT_CRF, DEFAULT_MAX_PIXELS
from .stopping import StopRequest

DEFAULT_BATCH_SIZE = 4


@dataclass
class AnonymizeOptions:
    """How a file or folder is anonymized.

    Attributes:
        batch_size (`int`, *optional*, defaults to 4): clips per forward pass.
        keep_rate (`float` or `list[float]`, *optional*): override of the model's keep rate for the run (one value,
            or one per pruning layer; read by `configuration_vidanon.normalize_keep_rate`). `None`: the model's own.
        lambda_priv (`float`, *optional*): override of the model's privacy weight for the run. `None`: the model's.
        crf (`int`, *optional*, defaults to 18): x264 quality of the outputs (0 lossless luma ... 51 worst).
        max_pixels (`int`, *optional*, defaults to `video.DEFAULT_MAX_PIXELS`): refuse inputs whose frames have more
            pixels (`None`: no limit).
        progress (`bool`, *optional*, defaults to `True`): show tqdm bars (over the clips of each file, and over the
            files of a folder).
        stop ([`~stopping.StopRequest`], *optional*): the run's stop request, checked before each file, before each
            batch (also in the reader and writer threads) and before each output is committed. Defaults to a new one
            that no signal reaches (install its handler with `stop.handling_signals()`).
        on_event (`Callable[[str, Path], None]`, *optional*): told what the run did as it goes (see
            [`~stopping.EVENTS`]), in the calling thread.

    Raises:
        ValueError: naming the setting, when `batch_size`, `keep_rate`, `crf` or `max_pixels` is out of range.

    Example:

    ```python
    >>> options = AnonymizeOptions(batch_size=8, keep_rate=0.5, progress=False)
    >>> options.keep_rate, options.crf
    (0.5, 18)

    ```
    """

    batch_size: int = DEFAULT_BATCH_SIZE
    keep_rate: float | Sequence[float] | None = None
    lambda_priv: float | None = None
    crf: int = DEFAULT_CRF
    max_pixels: int | None = DEFAULT_MAX_PIXELS
    progress: bool = True
    stop: StopRequest = field(default_factory=StopRequest)
    on_event: Callable[[str, Path], None] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"`batch_size` must be a whole number >= 1, got {self.batch_size!r}.")
        if self.keep_rate is not None:
            self.keep_rate = normalize_keep_rate(self.keep_rate)
        if not 0 <= int(self.crf) <= 51:
            raise ValueError(f"`crf` must be between 0 and 51, got {self.crf!r}.")
        if self.max_pixels is not None and self.max_pixels < 1:
            raise ValueError(f"`max_pixels` must be >= 1 (or None: no limit), got {self.max_pixels!r}.")


__all__ = ["DEFAULT_BATCH_SIZE", "AnonymizeOptions"]
