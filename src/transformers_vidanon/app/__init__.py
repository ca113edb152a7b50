"""The interactive anonymization demo (`vidanon app`, a Gradio app; `pip install "transformers-vidanon[app]"`).

- [`demo`](demo.py): the page and what it computes, around any `video-anonymization` pipeline; it imports nothing
  from the package, so that a Hugging Face Space runs the same file with transformers and a checkpoint's own code
  (`examples/space/`).
- [`package`](package.py): the demo with the package's pieces (its video reader and mp4 writer, the flicker rate of
  `metrics`, SynthPrivacy clips) and a checkpoint loaded as `vidanon anonymize` loads it.

Nothing here is imported by `import transformers_vidanon` or by the command line's `--help`.
"""
