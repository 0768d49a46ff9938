"""The package's import graph as the structure tests read it: every import statement, also the
ones inside functions and under TYPE_CHECKING, resolved to the project's own modules."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "zablab"


def module_name(path: Path) -> str:
    parts = list(path.resolve().relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PKG.rglob("*.py")}


def _statements(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) per import statement: `import a.b` gives ("a.b", []), `from .c import d`
    gives (the resolved "pkg.c", ["d"])."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            out.append((base, [a.name for a in node.names]))
    return out


def imports_of(path: Path) -> set[str]:
    """Every module name an import statement of `path` names, third-party ones included."""
    return {mod for mod, _ in _statements(path)}


def imported(path: Path, known: set[str]) -> set[str]:
    """The project modules `path` imports: `from a import b` is an edge to a.b when that is a
    module, else to a; names resolve to the longest known module."""
    me = module_name(path)
    out: set[str] = set()

    def add(target: str) -> None:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != me:
            out.add(target)

    for mod, names in _statements(path):
        if not mod.startswith("zablab"):
            continue
        if not names:
            add(mod)
        for n in names:
            add(f"{mod}.{n}" if f"{mod}.{n}" in known else mod)
    return out


def import_graph() -> nx.DiGraph:
    mods = modules()
    known = set(mods)
    g = nx.DiGraph()
    g.add_nodes_from(known)
    for name, path in mods.items():
        for target in imported(path, known):
            g.add_edge(name, target)
    return g
