"""The package's import graph: no cycles, and the layers point down.

Every import counts, also the ones inside functions and under TYPE_CHECKING: a lazy import only
hides a cycle from the interpreter, not from a reader, and it breaks the day someone hoists it.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import networkx as nx
import pytest
from import_graph import import_graph

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "zablab"


def test_no_import_cycle():
    g = import_graph()
    cycles = [c for c in nx.strongly_connected_components(g) if len(c) > 1]
    described = []
    for comp in cycles:
        cycle = nx.find_cycle(g.subgraph(comp))
        described.append(" -> ".join([a for a, _ in cycle] + [cycle[0][0]]))
    assert not described, "import cycles:\n" + "\n".join(described)


@pytest.mark.parametrize("layer", ["zablab.checkers", "zablab.node", "zablab.history", "zablab.sim"])
def test_lower_layers_do_not_import_the_harness(layer):
    g = import_graph()
    bad = sorted(
        f"{a} imports {b}"
        for a, b in g.edges
        if (a == layer or a.startswith(layer + ".")) and b.startswith("zablab.harness")
    )
    assert not bad, "\n".join(bad)


def test_history_depends_on_nothing_above_it():
    g = import_graph()
    bad = sorted(
        f"{a} imports {b}"
        for a, b in g.edges
        if a.startswith("zablab.history")
        and not (b.startswith("zablab.history") or b in {"zablab.errors", "zablab"})
    )
    assert not bad, "\n".join(bad)


def test_every_declared_dependency_is_imported():
    """A dependency nobody imports is weight on every install and a promise nobody keeps."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    import_names = {"edn_format": "edn_format", "pyyaml": "yaml", "pillow": "PIL"}
    used: set[str] = set()
    for path in PKG.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                used.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                used.add(node.module.split(".")[0])
    missing = []
    for req in project["dependencies"]:
        dist = req.split(";")[0].split("[")[0]
        for sep in "<>=!~ ":
            dist = dist.split(sep)[0]
        mod = import_names.get(dist.lower(), dist.lower().replace("-", "_"))
        if mod not in used:
            missing.append(dist)
    assert not missing, f"declared in pyproject.toml but imported nowhere in zablab/: {missing}"


#: which top-level parts of zablab each part may import (docs/architecture.md shows the table)
ALLOWED = {
    "cli": {"labs", "harness", "sim", "sim_command", "bugs_command", "checkers", "node", "errors"}
    | {""},
    "__main__": {"cli"},
    "sim_command": {"sim", "harness", "checkers", "bugs", "errors"},
    "bugs_command": {"bugs"},
    "labs": {"harness", "sim", "checkers", "node", "apache", "history", "bugs", "errors", "ports", ""},
    "harness": {"checkers", "node", "apache", "history", "bugs", "errors", "ports", "shards", ""},
    "sim": {"checkers", "node", "history", "bugs", "errors", "shards"},
    "verdicts": {"checkers", "history", "errors"},
    "checkers": {"history", "errors"},
    "node": {"bugs", "errors", "ports", ""},
    "apache": {"errors", "ports"},
    "history": {"errors"},
    "bugs": {"errors"},
    "shards": {"errors"},
    "ports": set(),
    "errors": set(),
    "": set(),
}


def test_imports_point_down():
    def part(mod: str) -> str:
        bits = mod.split(".")
        return bits[1] if len(bits) > 1 else ""

    bad = sorted(
        f"{a} imports {b}"
        for a, b in import_graph().edges
        if part(b) != part(a) and part(b) not in ALLOWED.get(part(a), set())
    )
    assert not bad, "imports against the layering of docs/architecture.md:\n" + "\n".join(bad)
