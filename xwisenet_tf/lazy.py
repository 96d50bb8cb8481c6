"""Names of a package imported on first use, so that importing the package stays light.

The package root and `data`, `export`, `prediction`, `streaming` and `training` declare their
public names in a ``_LAZY`` table (name -> defining module) and assign what
`lazy_attributes` returns::

    _LAZY = {"load": "pipeline", "read_class_names": "xwisenet_tf.training.model_metadata"}
    __getattr__, __dir__ = lazy_attributes(__name__, _LAZY)

This module imports nothing of the package (nor TensorFlow).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping


def lazy_attributes(
    package: str, names: Mapping[str, str], submodules: Iterable[str] = ()
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of a package whose names load on first use.

    Args:
        package: the package's ``__name__``.
        names: each lazy name -> the module that defines it: a module of the package
            (``"pipeline"``) or, when it has a dot, a full module name
            (``"xwisenet_tf.training.model_metadata"``).
        submodules: submodules of the package that are themselves lazy names
            (``xwisenet_tf.models``).

    Returns:
        ``(__getattr__, __dir__)``: an unknown name raises `AttributeError`; ``dir()`` lists
        the module's globals and every lazy name.
    """
    submodules = frozenset(submodules)

    def __getattr__(name: str) -> object:  # noqa: N807
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")
        if name in names:
            where = names[name]
            module = importlib.import_module(where if "." in where else f"{package}.{where}")
            return getattr(module, name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:  # noqa: N807
        return sorted(set(vars(sys.modules[package])) | set(names) | submodules)

    return __getattr__, __dir__
