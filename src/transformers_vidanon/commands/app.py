"""`vidanon app --model DIR_OR_HUB_ID`: the interactive anonymization demo in the browser (a Gradio app).

Needs the `app` extra: `pip install "transformers-vidanon[app]"`. The page and what it computes live in
`transformers_vidanon.app`; this module parses the flags, loads the model and starts the server.
"""

from __future__ import annotations

import argparse
import logging
import os

from .argtypes import add_model_arguments, number_type

logger = logging.getLogger(__name__)

DEFAULT_PORT = 7860
DEFAULT_MAX_PIXELS = 1280 * 720  # = transformers_vidanon.app.demo.DEFAULT_MAX_PIXELS (not imported: --help stays light)
DEFAULT_MAX_SECONDS = 20.0

_non_negative_int = number_type(int, lambda x: x >= 0, "a whole number >= 0 (0: no limit)", ">= 0 (0: no limit)")
_non_negative_float = number_type(float, lambda x: x >= 0.0, "a number of seconds >= 0 (0: no limit)",
                                  "a finite number >= 0 (0: no limit)")
_port = number_type(int, lambda x: 1 <= x <= 65535, "a port number", "between 1 and 65535")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Serve an interactive anonymization demo in the browser: upload a video (or generate a SynthPrivacy clip) "
        "and see the raw and the anonymized clip side by side, the tubelet keep mask over time and the attention "
        "heat maps of the last pruning layer, with the keep rate and lambda_priv as sliders. Needs the app extra: "
        'pip install "transformers-vidanon[app]".'
    )
    add_model_arguments(parser, default_device="cpu")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (0.0.0.0 to serve other machines)")
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT, help="port to listen on")
    parser.add_argument("--max-pixels", type=_non_negative_int, default=DEFAULT_MAX_PIXELS, metavar="N",
                        help="refuse uploads whose frames have more than N pixels (0: no limit)")
    parser.add_argument("--max-seconds", type=_non_negative_float, default=DEFAULT_MAX_SECONDS, metavar="S",
                        help="refuse uploads longer than S seconds (0: no limit)")


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    try:
        import gradio  # noqa: F401
    except ImportError:
        logger.error('vidanon app needs gradio: pip install "transformers-vidanon[app]"')
        return 2
    from ..app.demo import DemoLimits
    from ..app.package import build_package_demo
    from ..inference.loading import check_device

    if args.device is not None:
        try:
            check_device(args.device)
        except ValueError as error:
            logger.error("--device %s: %s", args.device, error)
            return 2
    limits = DemoLimits(max_pixels=args.max_pixels or None, max_seconds=args.max_seconds or None)
    try:
        demo = build_package_demo(args.model, limits, device=args.device, trust_remote_code=args.trust_remote_code)
    except (FileNotFoundError, ValueError) as error:
        logger.error("--model %s: %s", args.model, error)
        return 2
    demo.queue().launch(server_name=args.host, server_port=args.port)
    return 0
