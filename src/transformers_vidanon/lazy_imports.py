"""Public names a package loads on first use (PEP 562), so that importing the package imports nothing heavy: the
package root and `data/` name their API this way, and `vidanon --help` imports no torch."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(
    package: str, names: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module `__getattr__` and `__dir__` of `package`, whose public `names` map to the submodule defining each.

    Args:
        package (`str`): the package's `__name__`.
        names (`Mapping[str, str]`): public name -> submodule of `package` that defines it.
        namespace (`dict`): the package's `globals()`, where a loaded name is kept (later lookups find it there).

    Example:

    ```python
    >>> __getattr__, __dir__ = lazy_attributes(__name__, {"load_manifest": "manifests"}, globals())
    ```
    """

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted([*namespace, *names])

    return __getattr__, __dir__
