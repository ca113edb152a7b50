"""Stopping an anonymization run on a signal, and what a run tells its caller as it goes.

A run can be stopped by a signal through a [`StopRequest`]: its handler only records the signal, and the run checks
it between files, between batches and in its reader and writer threads (see [`StopRequest`] for why the handler
does not raise). [`EVENTS`] are what an `on_event` callback is told.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

EVENTS: tuple[str, ...] = ("batch_in_flight", "file_done")
"""What the `on_event(kind, path)` callback of an [`~options.AnonymizeOptions`] is told, always in the calling
thread: `"batch_in_flight"` (`path`: the output) once a batch has been handed to the writer thread, the
output's temporary file open and the next batch handed to the reader thread; `"file_done"` (`path`: the input) once
a file of a folder is written, skipped or failed, before the next one starts."""


class RunStopped(BaseException):
    """Raised at a check point of a run whose [`StopRequest`] was made: the output being written is aborted (its
    temporary file deleted) as it unwinds. A `BaseException`, like `KeyboardInterrupt`, so that no
    `except Exception` on the way (a folder run's per-file error handling, a library's) can take it for an error.

    Attributes:
        signum (`int`): the signal that asked for the stop.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class StopRequest:
    """A request to stop a run, made once by a signal (SIGINT, SIGTERM) and honoured at the run's check points.

    A signal handler that raises can lose the signal: Python runs the handler in the main thread at whatever
    bytecode comes next, and an exception raised while that is a finalizer or a weakref callback (tqdm's and decord's
    `__del__`, the callback each `ThreadPoolExecutor` registers, all of which run in the main thread between and
    during files) is printed as "Exception ignored in ..." and dropped, so the run went on and exited 0; an
    `Exception` subclass raised inside any `except Exception` block is swallowed as well. So the handler installed
    by [`handling_signals`] (once, for the whole run) only records the first signal, and the work checks the record
    with [`check`] before each file, before each batch, in the reader and writer threads before each batch and each
    clip written, and before an output is committed: wherever the signal lands, the run stops at the next check
    point with the output being written aborted. Blocking work that writes nothing and reaches no check point
    (loading a model, a download) can run in [`interruptible`], where the handler raises [`RunStopped`] at once.

    ```python
    >>> stop = StopRequest()  # doctest: +SKIP
    >>> with stop.handling_signals():
    ...     options = AnonymizeOptions(stop=stop)
    ...     anonymize_folder(model, processor, "videos/", "anonymized/", options)  # RunStopped on Ctrl-C
    ```

    Attributes:
        signum (`int` or `None`): the first signal received (`None`: no stop was requested).
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self._raise_at_once = False

    @property
    def requested(self) -> bool:
        """Whether a stop was requested."""
        return self.signum is not None

    def request(self, signum: int) -> None:
        """Record a stop asked for by `signum` (the first request counts; later ones change nothing)."""
        if self.signum is None:
            self.signum = int(signum)

    def check(self) -> None:
        """Raise [`RunStopped`] if a stop was requested (safe from any thread)."""
        if self.signum is not None:
            raise RunStopped(self.signum)

    def _handle(self, signum: int, frame: Any) -> None:
        self.request(signum)
        if self._raise_at_once:
            raise RunStopped(self.signum)

    @contextlib.contextmanager
    def handling_signals(self, signals: Sequence[int] = (signal.SIGINT, signal.SIGTERM)) -> Iterator[StopRequest]:
        """Install the recording handler for `signals` for the block (from the main thread), restoring the previous
        handlers after it."""
        previous = {signum: signal.signal(signum, self._handle) for signum in signals}
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                if handler is not None:  # None: not installed from Python, nothing to restore
                    signal.signal(signum, handler)

    @contextlib.contextmanager
    def interruptible(self) -> Iterator[None]:
        """Inside the block a signal also raises [`RunStopped`] at once (for blocking work that writes nothing); a
        stop recorded in the block whose exception was lost (raised inside a finalizer, where Python would print it
        as "Exception ignored"; here it is not printed) is raised as the block ends."""
        self.check()
        previous, self._raise_at_once = self._raise_at_once, True
        previous_hook = sys.unraisablehook

        def unraisable(report: Any) -> None:
            if not isinstance(report.exc_value, RunStopped):  # a lost RunStopped is recorded: nothing to say
                previous_hook(report)

        sys.unraisablehook = unraisable
        try:
            yield
        finally:
            self._raise_at_once = previous
            sys.unraisablehook = previous_hook
        self.check()


def emit_event(on_event: Callable[[str, Path], None] | None, kind: str, path: Path) -> None:
    """Tell `on_event` (when given) that `kind` (one of [`EVENTS`]) happened to `path`."""
    if on_event is not None:
        on_event(kind, path)


__all__ = ["EVENTS", "RunStopped", "StopRequest", "emit_event"]
