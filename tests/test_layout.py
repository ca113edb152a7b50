"""The package's imports run one way (docs/CONTRACTS.md, "Layout"): a module imports only from its own layer or
below. Read from the source with `ast`, every import counted, inside functions too."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "transformers_vidanon"

LAYERS: dict[str, int] = {
    "fileutils": 1, "lazy_imports": 1, "configuration_vidanon": 1, "pruning": 1, "pixel_scorer": 1, "metrics": 1, "optimization": 1,
    "evaluate_modules": 2,
    "video": 2, "processing_vidanon": 2, "video_processing_vidanon": 2, "modeling_vidanon": 2, "conversion": 2,
    "pipelines": 2, "classifiers": 2,
    "data": 3, "reporting": 3,
    "training": 4, "inference": 4,
    "evaluation": 5,
    "workflows": 6, "commands": 6, "cli": 6, "app": 6,
}
"""Top-level module or subpackage -> layer, bottom (1) to top (6)."""

EXCEPTIONS = {
    # a saved model writes its card where the package is installed (remote-code copies save without one)
    ("modeling_vidanon", "reporting"),
}


def _module_name(path: Path) -> list[str]:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imported(path: Path) -> list[tuple[int, list[str]]]:
    """(line, target module parts below the package) of every package import in a file."""
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = base + (node.module.split(".") if node.module else [])
                if not target:  # `from .. import name`: the names may be modules
                    target = [node.names[0].name] if node.names[0].name in LAYERS else []
            elif (node.module or "").startswith("transformers_vidanon"):
                target = node.module.split(".")[1:]
            else:
                continue
            found.append((node.lineno, target))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("transformers_vidanon."):
                    found.append((node.lineno, alias.name.split(".")[1:]))
    return found


def test_every_module_has_a_layer():
    tops = {path.relative_to(PACKAGE).parts[0].removesuffix(".py") for path in PACKAGE.rglob("*.py")}
    assert tops - {"__init__"} <= set(LAYERS), sorted(tops - {"__init__"} - set(LAYERS))


def test_imports_run_one_way():
    # the scan sees relative, absolute and in-function imports (else this test could pass on nothing)
    seen = {tuple(target) for _, target in _imported(PACKAGE / "training" / "trainer.py")}
    assert {("data", "builders"), ("reporting", "modelcard"), ("training", "arguments")} <= seen
    assert ("inference", "anonymize") in {tuple(t) for _, t in _imported(PACKAGE / "commands" / "anonymize.py")}
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = _module_name(path)
        if not here:  # the package root only names things lazily
            continue
        for line, target in _imported(path):
            if not target or target[0] not in LAYERS or (here[0], target[0]) in EXCEPTIONS:
                continue
            if LAYERS[target[0]] > LAYERS[here[0]]:
                upward.append(f"{path.relative_to(PACKAGE)}:{line} imports {'.'.join(target)}")
    assert not upward, "\n".join(upward)
