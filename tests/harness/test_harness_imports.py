"""The harness's modules import each other without a cycle, lazy imports included: a cycle
hidden inside a function still ties two modules into one and breaks when someone hoists it."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

import zablab

ROOT = Path(zablab.__file__).parent


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, known: set[str]) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        out |= {n for n in names if n in known}
    return out


def test_no_import_cycle_in_the_harness():
    files = {_module(p): p for p in (ROOT / "harness").rglob("*.py")}
    g = nx.DiGraph()
    for mod, path in files.items():
        g.add_node(mod)
        for dep in _imports(path, set(files)):
            # a package's __init__ importing its own submodule is not a cycle through it
            if dep != mod and not dep.startswith(mod + "."):
                g.add_edge(mod, dep)
    cycles = list(nx.simple_cycles(g))
    assert not cycles, f"import cycles: {cycles}"
