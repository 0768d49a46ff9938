"""The protocol-neutral replica seam holds: replicas are built only by make_replica, drivers
and the seam import no protocol package, the codec takes its message table as a parameter, and
a ServerCore gets its replicator one explicit way."""

from __future__ import annotations

import ast
from dataclasses import dataclass

import pytest
from import_graph import PKG, ROOT, imports_of

from zablab.node.replica import PROTOCOLS, ReplicaConfig
from zablab.node.replica.codec import Codec, CodecError, FrameDecoder
from zablab.node.replica.factory import make_replica
from zablab.node.server import ServerCore
from zablab.node.storage import SimDisk, Storage
from zablab.node.testing import Bench
from zablab.sim.app import SimApp

REPLICA_CLASSES = {"ZabReplica"}


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


def test_the_seam_and_the_drivers_name_no_protocol_package() -> None:
    files = [*(PKG / "node" / "replica").rglob("*.py"), *(PKG / "sim").rglob("*.py")]
    files += [PKG / "node" / "ensemble.py", PKG / "node" / "zab_replicator.py"]
    for path in files:
        if path.name == "factory.py":
            continue  # the one place that knows the protocols
        bad = {
            i for i in imports_of(path) if i.startswith("zablab.node.zab.") or i == "zablab.node.zab"
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
