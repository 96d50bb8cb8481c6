"""The package's Keras classes register as soon as Keras loads, so that a saved model loads
after ``import xwisenet_tf`` alone.

Keras finds a custom class of a ``.keras`` file by its registered name
(``"xwisenet_tf>XwiseConv3D"``) among the classes registered so far: it imports no module the
file names unless it is Keras' own, in safe mode or not. The layers register when
`xwisenet_tf.layers` is imported, which loads TensorFlow, so the light package root cannot import
them. It calls `register_when_keras_loads` instead: an import hook that, once the ``keras``
package has executed (TensorFlow with it), imports the modules that register classes: the
layers (every piece of a model that training and the weights importer save) and
`FramePreprocessing`. Keras is loaded by ``import keras`` or ``import tensorflow``, whichever
comes first; if it already is, they are imported at once. The hook is a finder at the front
of ``sys.meta_path`` that wraps the loader of ``keras`` for that one import (as ``wrapt``'s
post-import hooks do) and takes itself off the path as it does.

This module imports nothing of the package at load time (nor TensorFlow).
"""

from __future__ import annotations

import importlib
import importlib.abc
import sys
import threading
from importlib.machinery import ModuleSpec
from types import ModuleType

_lock = threading.Lock()


def register_keras_classes() -> None:
    """Imports the modules whose classes `keras.saving.register_keras_serializable` names."""
    importlib.import_module("xwisenet_tf.layers")
    importlib.import_module("xwisenet_tf.export.preprocessing")


class _AfterKeras(importlib.abc.MetaPathFinder):
    """Finds ``keras`` with the finders after it, its loader wrapped in `_ThenRegister`.

    A spec found is not always loaded (``importlib.util.find_spec("keras")``, as TensorFlow
    calls it before importing Keras), so the finder stays on the path until Keras executes.
    """

    def find_spec(self, fullname, path, target=None) -> ModuleSpec | None:
        if fullname != "keras":
            return None
        for finder in sys.meta_path:
            if finder is not self and hasattr(finder, "find_spec"):
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _ThenRegister(spec.loader, self)
        return spec


class _ThenRegister(importlib.abc.Loader):
    """``keras``'s own loader, then `register_keras_classes`; the module keeps its own loader."""

    def __init__(self, loader: importlib.abc.Loader, finder: _AfterKeras):
        self.loader = loader
        self.finder = finder

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        with _lock:
            if self.finder in sys.meta_path:
                sys.meta_path.remove(self.finder)
        register_keras_classes()


def register_when_keras_loads() -> None:
    """Registers the package's Keras classes now if Keras is loaded, else when it loads."""
    if "keras" in sys.modules:
        register_keras_classes()
        return
    with _lock:
        if not any(isinstance(finder, _AfterKeras) for finder in sys.meta_path):
            sys.meta_path.insert(0, _AfterKeras())
