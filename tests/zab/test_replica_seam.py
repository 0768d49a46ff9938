"""The protocol-neutral replica seam holds: replicas are built only by make_replica, drivers
and the seam import no protocol package, the codec takes its message table as a parameter, and
a ServerCore gets its replicator one explicit way."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import pytest

from zablab.node.replica import PROTOCOLS, ReplicaConfig
from zablab.node.replica.codec import Codec, CodecError, FrameDecoder
from zablab.node.replica.factory import make_replica
from zablab.node.server import ServerCore
from zablab.node.storage import SimDisk, Storage
from zablab.node.testing import Bench
from zablab.sim.app import SimApp

ROOT = Path(__file__).parents[2]
PKG = ROOT / "zablab"
REPLICA_CLASSES = {"ZabReplica"}


def _module(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, at any depth (function bodies and TYPE_CHECKING too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    mod = _module(path)
    package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            out.add(base)
            out |= {f"{base}.{a.name}" for a in node.names}
    return out


def _graph(*roots: Path) -> nx.DiGraph:
    files = {_module(p): p for r in roots for p in sorted(r.rglob("*.py"))}
    g = nx.DiGraph()
    for mod, path in files.items():
        g.add_node(mod)
        for target in _imports(path):
            if target in files and target != mod:
                g.add_edge(mod, target)
    return g


def test_replicas_are_built_only_by_make_replica() -> None:
    where = []
    for path in sorted([*PKG.rglob("*.py"), *(ROOT / "tests").rglob("*.py")]):
        if path.is_relative_to(PKG / "node" / "zab") or path == PKG / "node/replica/factory.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else getattr(f, "attr", "")
                if name in REPLICA_CLASSES:
                    where.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert where == []


def test_no_import_cycle_in_the_replica_seam_and_the_simulator() -> None:
    g = _graph(PKG / "sim", PKG / "node" / "replica", PKG / "node" / "zab")
    cycles = list(nx.simple_cycles(g))
    assert cycles == []
    assert g.has_edge("zablab.sim.cluster", "zablab.sim.checks")  # the graph sees imports


def test_the_seam_and_the_drivers_name_no_protocol_package() -> None:
    files = [*(PKG / "node" / "replica").rglob("*.py"), *(PKG / "sim").rglob("*.py")]
    files += [PKG / "node" / "ensemble.py", PKG / "node" / "zab_replicator.py"]
    for path in files:
        if path.name == "factory.py":
            continue  # the one place that knows the protocols
        bad = {
            i for i in _imports(path) if i.startswith("zablab.node.zab.") or i == "zablab.node.zab"
        }
        assert bad == set(), path


def test_every_listed_protocol_can_be_built() -> None:
    for name in PROTOCOLS:
        r = make_replica(name, 1, [1, 2, 3], ReplicaConfig(), Storage(SimDisk()), SimApp())
        assert not r.is_leader and r.last_zxid == 0


@dataclass(frozen=True)
class Hello:
    who: str
    n: int


@dataclass(frozen=True)
class Bye:
    data: bytes


def test_codec_takes_its_message_table() -> None:
    a = Codec("A", 1, {Hello: 1, Bye: 2})
    b = Codec("B", 1, {Bye: 1})
    frames = a.encode(Hello("x", -3)) + a.encode(Bye(b"\x00"))
    assert FrameDecoder(a).feed(frames) == [Hello("x", -3), Bye(b"\x00")]
    with pytest.raises(CodecError):  # B's code 1 is Bye, whose layout A's Hello does not fit
        FrameDecoder(b).feed(a.encode(Hello("x", 1)))
    with pytest.raises(CodecError, match="B wire version 2"):
        FrameDecoder(b).feed(Codec("B", 2, {Bye: 1}).encode(Bye(b"")))
    with pytest.raises(ValueError, match="reuses a type code"):
        Codec("C", 1, {Hello: 1, Bye: 1})


def test_a_server_core_takes_one_replicator() -> None:
    bench = Bench()
    with pytest.raises(RuntimeError, match="already attached"):
        bench.core.attach(bench.repl)
    core = ServerCore()
    core.attach(bench.repl, sync=lambda token: None)
    assert not core.serving and not core.expire_sessions and core.record_touches
    core.set_role(serving=True, primary=True)
    assert core.serving and core.expire_sessions
