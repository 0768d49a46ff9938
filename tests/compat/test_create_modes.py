"""Every create opcode with every flag value, on zablab and on Apache ZooKeeper: same answers,
and after the container/TTL reaper ran, the same nodes with the same data.

Clients choose opcode and flags together (kazoo sends createContainer for containers, aiozk
sends create with the container flag for ensure_path), so the combinations are sent raw. The
one combination left out: createTTL with a non-TTL mode and no TTL (-1) crashes Apache
ZooKeeper 3.8.0 (its DataTree rejects the TTL after the txn was logged); zablab answers
BadArguments there (tests/node/test_core_datatree.py).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator

import pytest
from wire import WireClient

from zablab.apache import LocalZooKeeper
from zablab.node.launcher import launch_node
from zablab.node.protocol import OpCode

pytestmark = pytest.mark.zookeeper

CHECK_MS = 200  # znode.container.checkIntervalMs on both servers
TTL_MS = 1000
OPS = (OpCode.CREATE, OpCode.CREATE2, OpCode.CREATE_CONTAINER, OpCode.CREATE_TTL)
FLAGS = range(-1, 8)  # 0..6 are the CreateModes; -1 and 7 must be refused alike


def ttls(op: int, flags: int) -> tuple[int, ...]:
    if op != OpCode.CREATE_TTL:
        return (-1,)
    return ((-1,) if flags in (5, 6) else ()) + (0, TTL_MS)


def exercise(host: str, port: int) -> dict[str, object]:
    """Run the matrix on one server; everything a client can observe, with session ids and
    zxids taken out."""
    owner = WireClient(host, port)
    seen: dict[str, object] = {}
    created: list[str] = []
    for op in OPS:
        for flags in FLAGS:
            for ttl in ttls(op, flags):
                name = f"/o{op}f{flags}t{ttl}"
                a = owner.create(op, name, name.encode(), flags, ttl)
                path = a.path() if a.err == 0 else ""
                seen[f"create {name}"] = (a.err, path)
                if path:
                    created.append(path)
    for path in created:
        kid = owner.create(OpCode.CREATE, path + "/kid", b"", 0)
        seen[f"child of {path}"] = kid.err
        if kid.err == 0:
            assert owner.delete(path + "/kid") == 0
    observer = WireClient(host, port)

    def snapshot() -> dict[str, object]:
        err, names = observer.children("/")
        assert err == 0
        out: dict[str, object] = {}
        for name in names:
            if name == "zookeeper":
                continue
            err, data, stat = observer.get("/" + name)
            ephemeral = stat[7] == owner.session_id if stat else None
            out[name] = (err, data, ephemeral, stat[9] if stat else None)
        return out

    seen["before the reaper"] = snapshot()
    owner.close()
    time.sleep(TTL_MS / 1000 + 10 * CHECK_MS / 1000)
    seen["after the reaper"] = snapshot()
    observer.close()
    return seen


@pytest.fixture(params=[False, True], ids=["plain", "extendedTypes"])
def extended(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def zablab_answers(extended: bool) -> dict[str, object]:
    base = tempfile.mkdtemp(prefix="zablab-create-modes-")
    cfg = (
        f"extendedTypesEnabled={'true' if extended else 'false'}\n"
        f"znode.container.checkIntervalMs={CHECK_MS}\n"
    )
    node = launch_node(os.path.join(base, "data"), fsync=False, zoo_cfg=cfg)
    try:
        return exercise(node.host, node.port)
    finally:
        node.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def zookeeper_answers(zookeeper_installed: None, extended: bool) -> Iterator[dict[str, object]]:
    zk = LocalZooKeeper(
        extra={"extendedTypesEnabled": "true" if extended else "false"},
        properties=(f"-Dznode.container.checkIntervalMs={CHECK_MS}",),
        force_sync=False,
    )
    try:
        zk.start()
        yield exercise("127.0.0.1", zk.port)
    finally:
        zk.close()


def test_every_create_opcode_and_flag_matches_zookeeper(
    zookeeper_answers: dict[str, object], extended: bool
) -> None:
    ours = zablab_answers(extended)
    assert ours.keys() == zookeeper_answers.keys()
    diffs = [(k, ours[k], zookeeper_answers[k]) for k in ours if ours[k] != zookeeper_answers[k]]
    assert not diffs, "\n".join(f"{k}: zablab {a!r}, zookeeper {b!r}" for k, a, b in diffs)
    after = ours["after the reaper"]
    assert isinstance(after, dict)
    # the point of the test, stated outright: flag 4 on create/create2 keeps its node and data
    for op in (OpCode.CREATE, OpCode.CREATE2):
        name = f"o{op}f4t-1"
        assert after[name][1] == f"/{name}".encode()
    assert not any(name.startswith(f"o{OpCode.CREATE_CONTAINER}f") for name in after)
    before = ours["before the reaper"]
    assert isinstance(before, dict)
    ttl_nodes = [n for n in before if n.startswith(f"o{OpCode.CREATE_TTL}f")]
    assert len(ttl_nodes) == (2 if extended else 0)  # plain and sequential, then reaped
    assert not any(n in after for n in ttl_nodes)
