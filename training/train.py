"""Adversarial training of a VidAnon anonymizer.

    accelerate launch training/train.py --config training/configs/synthetic.yaml [--key value ...]

Every argument (see `--help`) can sit in the YAML file or on the command line; the command line wins. The
training logic lives in `transformers_vidanon.training.trainer`; this script only parses arguments and reports.

SIGTERM / SIGINT (to this process, or to the `accelerate launch` process in front of it) stop training with a
resumable checkpoint; the exit status is then 128 + the signal number (143 / 130), so that a scheduler sees that the
job did not finish. A user error (an argument, the YAML file, the data, a refused resume) is one logged line and exit
status 2.
"""

import logging
import sys

from transformers_vidanon.training.arguments import parse_arguments


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "-h" in argv or "--help" in argv:  # answered before torch is imported (the package defers it here)
        parse_arguments(argv)
    import transformers_vidanon
    from transformers_vidanon.training.trainer import stop_when_launcher_stops, train_from_arguments

    transformers_vidanon.register()  # the Auto classes and auto_map of the saved model, as `import` does elsewhere
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    stop_when_launcher_stops()
    log = logging.getLogger("train")
    try:
        model_args, data_args, training_args = parse_arguments(argv)
        result = train_from_arguments(model_args, data_args, training_args)
    except KeyboardInterrupt:  # SIGINT outside the training loop (which stops itself with a checkpoint)
        log.error("interrupted by SIGINT outside the training loop (no checkpoint written now); exit status 130")
        return 130
    except (ValueError, FileNotFoundError) as error:  # user errors (arguments, config, data): one line, status 2
        log.debug("the error's traceback:", exc_info=True)
        log.error("%s: %s", type(error).__name__, error)
        return 2
    if result.stopped_by_signal:
        status = 128 + int(result.stop_signal or 15)
        log.warning(
            "stopped by signal %s after %d steps (%.2f epochs); resume with --resume_from_checkpoint latest "
            "--output_dir %s; exit status %d", result.stop_signal, result.global_step, result.epochs_completed,
            result.output_dir, status,
        )
        return status
    log.info("finished: %d steps, %.2f epochs; model: %s; metrics: %s", result.global_step, result.epochs_completed,
             result.model_dir, result.final_metrics)
    return 0


if __name__ == "__main__":
    sys.exit(main())
