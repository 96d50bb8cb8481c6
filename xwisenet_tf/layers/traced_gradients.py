"""Custom gradients kept as long as the graph they were traced in, not as long as the process.

`tf.custom_gradient`, traced in a graph (a `tf.function`, as Keras' training step), registers
its gradient function in TensorFlow's global gradient registry under a new name
(``CustomGradient-N``) and never removes it, and the function holds the traced graph: every
trace stays in memory (tensorflow#27492, #97697). Keras' TensorFlow optimizer makes one per
traced training step (``ReplicaContext.all_reduce`` of the gradients, also without a
distribution strategy), so a notebook sweep or the experiment runner grew by a training graph
per model (`python -m xwisenet_tf.bench.soak`: about 80 MB a tiny model).

`release_traced_graphs` moves each such function onto its graph and leaves in the registry a
forwarder that holds the graph weakly: the gradient of a graph still in use is found as before
(``tf.gradients``, a nested function's backward pass), a graph nothing else holds is freed at
the next garbage collection, and its name leaves the registry with it. `BatchNorm` calls it
whenever a training step is traced, so each trace releases the ones before it.
"""

from __future__ import annotations

import weakref

PREFIX = "CustomGradient-"
_KEPT = "_xwisenet_custom_gradients"  # the graph's attribute: name -> gradient function
_SEARCH_DEPTH = 5


class _WeakForwarder:
    """The registry's entry: calls the gradient function its graph keeps."""

    __slots__ = ("graph", "name")

    def __init__(self, graph, name: str):
        self.graph = weakref.ref(graph)
        self.name = name

    def __call__(self, op, *grads):
        return getattr(self.graph(), _KEPT)[self.name](op, *grads)


def _graph_of(value, depth: int = 0):
    """The `tf.Graph` of the first graph tensor found in ``value``: a tensor, or a list, tuple,
    dict or function closure holding one (searched ``_SEARCH_DEPTH`` levels deep), or None."""
    import tensorflow as tf

    if isinstance(value, tf.Tensor):
        graph = getattr(value, "graph", None)  # an eager tensor has none
        return graph if isinstance(graph, tf.Graph) else None
    if depth == _SEARCH_DEPTH:
        return None
    if isinstance(value, dict):
        children = list(value.values())
    elif isinstance(value, list | tuple):
        children = list(value)
    else:
        children = [_contents(cell) for cell in getattr(value, "__closure__", None) or ()]
    for child in children:
        graph = _graph_of(child, depth + 1)
        if graph is not None:
            return graph
    return None


def _contents(cell):
    try:
        return cell.cell_contents
    except ValueError:  # a cell not yet assigned
        return None


def release_traced_graphs() -> int:
    """Makes TensorFlow's gradient registry hold each graph's custom gradients weakly.

    Returns:
        How many registry entries were turned into weak forwarders (entries already turned, or
        whose graph cannot be found, are left as they are).
    """
    from tensorflow.python.framework import ops

    registry = ops._gradient_registry._registry  # noqa: SLF001 - the registry has no remove
    released = 0
    for name, entry in list(registry.items()):
        function = entry["type"]
        if not name.startswith(PREFIX) or isinstance(function, _WeakForwarder):
            continue
        graph = _graph_of(function)
        if graph is None:
            continue
        kept = getattr(graph, _KEPT, None)
        if kept is None:
            kept = {}
            setattr(graph, _KEPT, kept)
        kept[name] = function
        entry["type"] = _WeakForwarder(graph, name)
        weakref.finalize(graph, registry.pop, name, None).atexit = False
        released += 1
    return released
