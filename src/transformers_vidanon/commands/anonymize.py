"""`vidanon anonymize INPUT --model DIR_OR_HUB_ID --output OUT`: anonymize a video file or a folder of videos.

The output keeps each input's frame count, frame rate and frame size; pruned tubelets become black. The audio
track is always dropped (a voice identifies a person too): there is deliberately no option to keep it.

SIGINT / SIGTERM stop the run with one line: the output being written is removed (finished ones stay), and the exit
status is 130 / 143. One handler, installed for the whole run, records the signal (`inference.stopping.StopRequest`)
and the run stops at its next check point (before each file and batch, in the reader and writer threads, before an
output is committed); while the model loads, the signal interrupts it at once. A signal that comes after the last
output was committed still gives 130 / 143. User errors are one-line messages naming the flag or file, never
tracebacks.
"""

from __future__ import annotations

import argparse
import logging
import signal
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .argtypes import add_model_arguments, number_type

if TYPE_CHECKING:
    from ..inference.options import AnonymizeOptions
    from ..inference.stopping import StopRequest

logger = logging.getLogger(__name__)

_fraction = number_type(float, lambda x: 0.0 < x <= 1.0, "a number in (0, 1]", "in (0, 1]")
_non_negative = number_type(float, lambda x: x >= 0.0, "a number >= 0", "a finite number >= 0")
_positive_int = number_type(int, lambda x: x >= 1, "a whole number >= 1", ">= 1")
_pixel_limit = number_type(int, lambda x: x >= 0, "a whole number of pixels (0: no limit)", ">= 0 (0: no limit)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Anonymize a video file, or every video in a folder, with a trained VidAnon model. Outputs are H.264 mp4 "
        "files with the input's frame count, frame rate and frame size; pruned tubelets are black. The audio "
        "track is always dropped (a voice identifies a person too)."
    )
    parser.add_argument("input", metavar="INPUT", help="a video file, or a folder of videos (searched recursively)")
    add_model_arguments(parser, default_device="cuda if available, else cpu")
    parser.add_argument("--output", required=True, metavar="OUT",
                        help="the output .mp4 for a file (or a folder to write INPUT's name into); a folder for a "
                             "folder input (relative paths are kept, suffix .mp4)")
    parser.add_argument("--preview", metavar="PNG",
                        help="also write raw frames above anonymized ones: a .png for a file input, a folder of "
                             "PNGs for a folder input")
    parser.add_argument("--keep-rate", type=_fraction, metavar="R",
                        help="override the model's keep rate (fraction of tubelets kept at each pruning layer)")
    parser.add_argument("--lambda-priv", type=_non_negative, metavar="L",
                        help="override the model's privacy weight in the score a_act - L * a_priv")
    parser.add_argument("--batch-size", type=_positive_int, default=4, metavar="B", help="clips per forward pass")
    parser.add_argument("--crf", type=int, default=18, help="x264 quality of the output, 0 (lossless) to 51")
    parser.add_argument("--max-pixels", type=_pixel_limit, default=None, metavar="N",
                        help="refuse inputs whose frames have more than N pixels (default: 4096 x 4096 = 16777216; "
                             "0: no limit)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace existing outputs (by default a folder run skips them; a file run refuses)")


def run(args: argparse.Namespace, *, on_event: Callable[[str, Path], None] | None = None) -> int:
    """Run the command; `on_event` is passed to the anonymization (see `inference.stopping.EVENTS`)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # quick: `register` has imported the model classes (torch, transformers) before the command runs
    from ..inference.stopping import RunStopped, StopRequest

    stop, status = StopRequest(), 0
    with stop.handling_signals():  # one handler for the whole run: it records the signal, the run checks it
        try:
            status = _run(args, stop, on_event)
        except RunStopped:
            pass  # recorded in `stop`
        except KeyboardInterrupt:  # raised by a SIGINT handler some other code installed meanwhile
            stop.request(signal.SIGINT)
        if stop.requested:  # also a signal that came after the run's last check point
            return _stopped(stop.signum)  # the recording handler is still installed: a second signal cannot interrupt
    if stop.requested:  # came after the check above, before the previous handlers were back: every output is closed
        return _stopped(stop.signum)
    return status


def _stopped(signum: int) -> int:
    """Remove what is left of the outputs being written, say so in one line, and give the exit status."""
    from ..video import remove_partial_outputs

    removed = remove_partial_outputs()
    logger.error("interrupted by %s: %s; finished outputs are kept.", signal.Signals(signum).name,
                 f"removed the partial output {', '.join(map(str, removed))}" if removed else "nothing partial left")
    return 128 + int(signum)


def _run(args: argparse.Namespace, stop: StopRequest, on_event: Callable[[str, Path], None] | None) -> int:
    from ..inference.loading import check_device, load_anonymizer
    from ..inference.sharding import default_device
    from ..video import DEFAULT_MAX_PIXELS

    source, output = Path(args.input), Path(args.output)
    if not source.exists():
        logger.error("INPUT %s does not exist.", source)
        return 2
    if not 0 <= args.crf <= 51:
        logger.error("--crf must be between 0 and 51, got %s.", args.crf)
        return 2
    if args.preview and not source.is_dir() and Path(args.preview).suffix.lower() != ".png":
        logger.error("--preview %s must be a .png file (for a folder INPUT, a folder).", args.preview)
        return 2
    options = _options(args, stop, on_event, DEFAULT_MAX_PIXELS if args.max_pixels is None else args.max_pixels or None)
    with stop.interruptible():  # may wait on the other processes: nothing is written yet, a signal stops it at once
        device = args.device or default_device()  # under `accelerate launch`: this process's own GPU
    try:
        with stop.interruptible():
            check_device(device)
    except ValueError as error:
        logger.error("--device %s: %s", device, error)
        return 2
    if not source.is_dir():
        if output.is_dir() or args.output.endswith(("/", "\\")):
            output = output / source.with_suffix(".mp4").name
        if output.exists() and not args.overwrite and output.suffix.lower() == ".mp4":
            logger.error("--output %s exists: pass --overwrite to replace it.", output)
            return 1
    try:
        with stop.interruptible():  # a download can take long: a signal stops it at once
            model, processor = load_anonymizer(args.model, device=device, trust_remote_code=args.trust_remote_code)
    except (FileNotFoundError, ValueError) as error:
        logger.error("--model %s: %s", args.model, error)
        return 2
    logger.warning("The audio track of every input is dropped: the outputs are video only.")
    if source.is_dir():
        return _run_folder(args, model, processor, source, output, options)
    return _run_file(args, model, processor, source, output, options)


def _options(args: argparse.Namespace, stop: StopRequest, on_event: Callable[[str, Path], None] | None,
             max_pixels: int | None) -> AnonymizeOptions:
    """The run's settings from the flags."""
    from ..inference.options import AnonymizeOptions

    return AnonymizeOptions(batch_size=args.batch_size, keep_rate=args.keep_rate, lambda_priv=args.lambda_priv,
                            crf=args.crf, max_pixels=max_pixels, stop=stop, on_event=on_event)


def _run_folder(args: argparse.Namespace, model: Any, processor: Any, source: Path, output: Path,
                options: AnonymizeOptions) -> int:
    from ..inference.anonymize import anonymize_folder
    from ..inference.sharding import anonymize_folder_sharded, launched_processes

    if output.exists() and not output.is_dir():
        logger.error("--output %s must be a folder when INPUT is a folder.", output)
        return 2
    # under `accelerate launch` with several processes: each takes its shard, the main one gathers the summary
    run = anonymize_folder_sharded if launched_processes() > 1 else anonymize_folder
    try:
        report = run(model, processor, source, output, options, preview_dir=args.preview, overwrite=args.overwrite)
    except (FileNotFoundError, ValueError) as error:
        logger.error("%s", error)
        return 2
    logger.info("%d anonymized, %d skipped (output exists), %d failed; outputs in %s",
                len(report.reports), len(report.skipped), len(report.failures), output)
    for path, reason in report.failures:
        logger.error("FAILED %s: %s", path, reason)
    return 0 if report.ok else 1


def _run_file(args: argparse.Namespace, model: Any, processor: Any, source: Path, output: Path,
              options: AnonymizeOptions) -> int:
    from ..inference.anonymize import anonymize_video
    from ..video import VideoDecodeError

    try:
        report = anonymize_video(model, processor, source, output, options, preview_path=args.preview,
                                 overwrite=args.overwrite)
    except (VideoDecodeError, FileExistsError) as error:
        logger.error("%s", error)
        return 1
    except ValueError as error:
        logger.error("%s", error)
        return 2
    padded = (report.output_width, report.output_height) != (report.width, report.height)
    logger.info(
        "Wrote %s: %d frames, %.3g fps, %dx%d%s, %.1f%% of pixels kept (keep rate %s, lambda_priv %s)%s.",
        report.output_path, report.num_frames, report.fps, report.width, report.height,
        f" (written as {report.output_width}x{report.output_height}: H.264 needs even sizes)" if padded else "",
        100 * report.kept_fraction, report.keep_rate, report.lambda_priv,
        f"; preview {report.preview_path}" if report.preview_path else "",
    )
    return 0
