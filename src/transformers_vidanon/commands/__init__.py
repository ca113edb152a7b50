"""Sub-commands of the ``vidanon`` command line (see ``transformers_vidanon.cli``)."""
