"""The project's import graph, read with `ast`, and the dependency rules of ARCHITECTURE.md checked on it."""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Import:
    """One import statement's edge: ``source`` imports ``target``, at ``path:line``.

    ``lazy`` marks an import inside a function (it runs on the first call, not at import
    time); ``typing_only`` one under ``if TYPE_CHECKING:`` (it never runs, but the module
    still depends on the other).
    """

    source: str
    target: str
    path: Path
    line: int
    lazy: bool = False
    typing_only: bool = False

    def __str__(self) -> str:
        how = " (inside a function)" if self.lazy else " (under TYPE_CHECKING)" if self.typing_only else ""
        return f"{self.path}:{self.line}: {self.source} imports {self.target}{how}"


def find_modules(roots: dict[str, Path]) -> dict[str, Path]:
    """Maps each dotted module name to its file, for packages given as ``{name: folder}``."""
    found = {}
    for package, folder in roots.items():
        for path in sorted(folder.rglob("*.py")):
            parts = [package, *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def read_imports(modules: dict[str, Path], base: Path | None = None) -> list[Import]:
    """Every import in ``modules``, lazy and TYPE_CHECKING ones included, targets resolved to modules.

    ``from pkg import name`` points at ``pkg.name`` where that is a module, else at ``pkg``;
    a target inside the project is cut to its longest prefix that is a module. Paths are
    shown relative to ``base`` when given.
    """
    edges = []
    for name, path in modules.items():
        shown = path.relative_to(base) if base else path
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node, lazy, typing_only in _import_nodes(ast.parse(path.read_text(), str(path))):
            for target in dict.fromkeys(_targets(node, package, modules)):  # once per statement
                edges.append(Import(name, target, shown, node.lineno, lazy, typing_only))
    return edges


def _import_nodes(tree: ast.AST, lazy: bool = False, typing_only: bool = False):
    """Yields ``(import node, lazy, typing_only)`` for every import statement under ``tree``."""
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child, lazy, typing_only
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield from _import_nodes(child, True, typing_only)
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for statement in child.body:
                yield from _import_nodes(ast.Module([statement], []), lazy, True)
            for statement in child.orelse:
                yield from _import_nodes(ast.Module([statement], []), lazy, typing_only)
        else:
            yield from _import_nodes(child, lazy, typing_only)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _targets(node: ast.Import | ast.ImportFrom, package: str, modules: dict[str, Path]) -> list[str]:
    if isinstance(node, ast.Import):
        return [_known_prefix(alias.name, modules) for alias in node.names]
    origin = node.module or ""
    if node.level:  # a relative import counts from the importing module's package
        anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
        origin = ".".join([*anchor, *([origin] if origin else [])])
    submodules = (f"{origin}.{alias.name}" for alias in node.names)
    return [name if name in modules else _known_prefix(origin, modules) for name in submodules]


def _known_prefix(name: str, modules: dict[str, Path]) -> str:
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in modules:
            return ".".join(parts[:end])
    return name


def package_of(module: str) -> str:
    """The package a module belongs to for the package rules: ``grader.api.routes.x`` -> ``grader.api``."""
    return ".".join(module.split(".")[:2])


def find_cycles(edges: list[Import]) -> list[tuple[list[str], list[Import]]]:
    """The groups of nodes that import each other (strongly connected), each with one cycle through it.

    Returns:
        ``(group, chain)`` pairs: the group's sorted names, and the imports of the shortest
        cycle from its first name back to itself.
    """
    graph: dict[str, dict[str, Import]] = {}
    for edge in edges:
        graph.setdefault(edge.source, {}).setdefault(edge.target, edge)
    return [(group, _cycle_through(group, graph)) for group in _strongly_connected(graph)]


def package_edges(edges: list[Import]) -> list[Import]:
    """The module edges that cross from one package to another, renamed to their packages."""
    return [Import(package_of(e.source), package_of(e.target), e.path, e.line, e.lazy, e.typing_only)
            for e in edges if package_of(e.source) != package_of(e.target)]


def _strongly_connected(graph: dict[str, dict[str, Import]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; returns the groups of more than one node, or a node importing itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, {}))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        while work:
            node, successors = work[-1]
            child = next((s for s in successors if s not in index or s in stack), None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = stack[stack.index(node):]
                    del stack[stack.index(node):]
                    if len(group) > 1 or node in graph.get(node, {}):
                        groups.append(sorted(group))
            elif child in index:
                low[node] = min(low[node], index[child])
            else:
                index[child] = low[child] = len(index)
                stack.append(child)
                work.append((child, iter(sorted(graph.get(child, {})))))
    return groups


def _cycle_through(group: list[str], graph: dict[str, dict[str, Import]]) -> list[Import]:
    """The shortest chain of imports from the group's first node back to itself (breadth first)."""
    start, members = group[0], set(group)
    came_from: dict[str, Import] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target, edge in sorted(graph.get(node, {}).items()):
                if target == start:
                    chain = [edge]
                    while chain[0].source != start:
                        chain.insert(0, came_from[chain[0].source])
                    return chain
                if target in members and target not in came_from:
                    came_from[target] = edge
                    following.append(target)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # a strongly connected group always has one


def describe_cycle(group: list[str], chain: list[Import]) -> str:
    """``a -> b -> a``, then each import of the chain on its own line, then the whole group if larger."""
    names = " -> ".join([chain[0].source, *(edge.target for edge in chain)])
    lines = [f"cycle: {names}", *(f"    {edge}" for edge in chain)]
    if len(group) > len(chain):
        lines.append(f"    (these {len(group)} import each other: {', '.join(group)})")
    return "\n".join(lines)


def cross_plane_imports(edges: list[Import], composition_points: tuple[str, ...]) -> list[Import]:
    """Imports of ``worker`` by a ``grader`` module that is not (inside) one of ``composition_points``."""
    return [e for e in edges if _top(e.source) == "grader" and _top(e.target) == "worker"
            and not any(_inside(e.source, point) for point in composition_points)]


def foreign_harness_imports(edges: list[Import], allowed: frozenset[str] = frozenset({"numpy", "pytest"})
                            ) -> list[Import]:
    """Imports by ``grader.harness`` of anything but the standard library, ``allowed`` and the harness."""
    return [e for e in edges if _inside(e.source, "grader.harness")
            and not _inside(e.target, "grader.harness")
            and _top(e.target) not in sys.stdlib_module_names and _top(e.target) not in allowed]


def _top(module: str) -> str:
    return module.partition(".")[0]


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")
