"""No import cycle in the package: between modules, and between its folders.

The imports are read from the source with `ast`, not by importing it. An import at module level
runs when the module loads; an import inside a function (and a name of a ``_LAZY`` table, which
a package's ``__getattr__`` imports on first use) runs when it is called; one under
``if TYPE_CHECKING:`` never runs, but the module's types come from there. All are dependencies:
a cycle of module-level imports breaks at load time, one through the others is a layering
loop. The layers, lowest first: data, layers/models, training, export,
experiments/bench.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "xwisenet_tf"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE


@dataclass(frozen=True)
class Edge:
    """``source`` imports ``target``; ``deferred`` when inside a function, a lazy table or an
    ``if TYPE_CHECKING:`` block."""

    source: str
    target: str
    deferred: bool


def package_modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    modules = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(test)


def module_edges(name: str, path: Path, modules: dict[str, Path]) -> list[Edge]:
    """The imports of one module that name modules of the package."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    edges: list[Edge] = []

    def add(target: str, deferred: bool) -> None:
        if target in modules and target != name:
            edges.append(Edge(name, target, deferred))

    def visit(node: ast.AST, deferred: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = (
                deferred
                or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
                or _is_type_checking(child)
            )
            if isinstance(child, ast.Import):
                for alias in child.names:
                    add(alias.name, inner)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in child.names:
                    submodule = f"{base}.{alias.name}"
                    add(submodule if submodule in modules else base, inner)
            elif isinstance(child, ast.Call) and ast.unparse(child.func).endswith("import_module"):
                if child.args and isinstance(child.args[0], ast.Constant):
                    add(child.args[0].value, True)
            elif isinstance(child, ast.Assign) and not deferred and _names(child) == ["_LAZY"]:
                for value in getattr(child.value, "values", []):
                    if isinstance(value, ast.Constant) and isinstance(value.value, str):
                        where = value.value
                        add(where if "." in where else f"{package}.{where}", True)
            visit(child, inner)

    visit(ast.parse(path.read_text(), str(path)), False)
    return edges


def _names(node: ast.Assign) -> list[str]:
    return [t.id for t in node.targets if isinstance(t, ast.Name)]


def all_edges() -> list[Edge]:
    modules = package_modules()
    return [edge for name, path in modules.items() for edge in module_edges(name, path, modules)]


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(cycles)


def _graph(edges: list[Edge]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.source, set()).add(edge.target)
    return graph


def _describe(cycles: list[list[str]], edges: list[Edge], unit=lambda name: name) -> str:
    """Each cycle, then the imports that close it (module names even for a cycle of folders)."""
    lines = []
    for members in cycles:
        inside = [
            e
            for e in edges
            if unit(e.source) in members
            and unit(e.target) in members
            and unit(e.source) != unit(e.target)
        ]
        lines.append(" <-> ".join(members))
        deferred: dict[tuple[str, str], bool] = {}
        for e in inside:
            deferred[e.source, e.target] = deferred.get((e.source, e.target), True) and e.deferred
        lines += [
            f"    {source} -> {target}{' (deferred)' if later else ''}"
            for (source, target), later in sorted(deferred.items())
        ]
    return "\n".join(lines)


def _is_ancestor(package: str, module: str) -> bool:
    return module.startswith(f"{package}.")


def test_the_graph_sees_the_imports():
    """The walk finds each kind of import it is meant to count."""
    edges = {(e.source, e.target): e.deferred for e in all_edges()}
    assert edges[("xwisenet_tf.models.factory", "xwisenet_tf.models.presets")] is False
    assert edges[("xwisenet_tf.paper_tables", "xwisenet_tf.models")] is True  # in a function
    assert edges[("xwisenet_tf.data", "xwisenet_tf.data.pipeline")] is True  # the _LAZY table
    assert edges[("xwisenet_tf.export", "xwisenet_tf.training.model_metadata")] is True
    assert edges[("xwisenet_tf.export.formats", "xwisenet_tf.export.job")] is True  # types
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_cycle_of_module_level_imports():
    """Such a cycle fails at load time, depending on which module is imported first."""
    edges = [e for e in all_edges() if not e.deferred]
    cycles = find_cycles(_graph(edges))
    assert not cycles, "module-level import cycle:\n" + _describe(cycles, edges)


def test_no_cycle_through_function_level_imports():
    """Counting the imports made inside functions too.

    An import of one's own parent package is left out: Python has loaded the parent before the
    module, so it adds no dependency (the module-level test above still counts it).
    """
    edges = [e for e in all_edges() if not _is_ancestor(e.target, e.source)]
    cycles = find_cycles(_graph(edges))
    assert not cycles, "import cycle (some imports in functions):\n" + _describe(cycles, edges)


def test_no_cycle_between_folders():
    """The subpackages (and top-level modules) form layers: none imports one that imports it.

    The package root is left out: it is the facade above every layer, and what its modules
    import from it is ``__version__``.
    """

    def unit(module: str) -> str:
        return ".".join(module.split(".")[:2])

    edges = [
        e
        for e in all_edges()
        if unit(e.source) != unit(e.target) and PACKAGE not in (unit(e.source), unit(e.target))
    ]
    folders = _graph([Edge(unit(e.source), unit(e.target), e.deferred) for e in edges])
    cycles = find_cycles(folders)
    assert not cycles, "import cycle between folders:\n" + _describe(cycles, edges, unit)
