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

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "zablab"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PKG.rglob("*.py")}


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules `name` imports, resolved to the longest known module name."""
    tree = ast.parse(path.read_text(), str(path))
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()

    def add(target: str) -> None:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != name:
            out.add(target)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("zablab"):
                    add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if not mod.startswith("zablab"):
                continue
            for alias in node.names:
                sub = f"{mod}.{alias.name}"
                add(sub if sub in known else mod)
    return out


def import_graph() -> nx.DiGraph:
    mods = modules()
    known = set(mods)
    g = nx.DiGraph()
    g.add_nodes_from(known)
    for name, path in mods.items():
        for target in imported(name, path, known):
            g.add_edge(name, target)
    return g


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
