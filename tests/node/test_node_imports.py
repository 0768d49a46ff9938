"""The server's reporting modules see the server through Protocols: none of them imports
zablab.node.server, so server -> fourletter/reads/monitor is the only direction."""

from __future__ import annotations

import ast
from pathlib import Path

from import_graph import import_graph

import zablab.node

NODE = Path(zablab.node.__file__).parent
BELOW_THE_SERVER = ("reads", "fourletter", "monitor", "admin", "prometheus", "http", "metrics")


def test_reporting_modules_do_not_import_the_server():
    g = import_graph()
    for module in BELOW_THE_SERVER:
        assert not g.has_edge(f"zablab.node.{module}", "zablab.node.server"), module


def test_the_server_is_standard_library_only():
    """(command.py is the `zablab node` CLI entry, which uses typer like every subcommand.)"""
    import sys

    allowed = set(sys.stdlib_module_names) | {"zablab", "__future__"}
    for path in NODE.rglob("*.py"):
        if path.name == "command.py" and path.parent == NODE:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                tops = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                tops = {(node.module or "").split(".")[0]}
            else:
                continue
            assert tops <= allowed, (path, tops - allowed)
