"""A lock holder whose op ends `info` must not keep the lock: its worker drops the session so
that the lock node goes, and the other workers acquire again (the lock workload used to wedge
itself: the holder's session outlived its worker, and every other acquire timed out)."""

from __future__ import annotations

import random
import threading
import time

import pytest

from zablab.harness.backends.local import LocalBackend
from zablab.harness.clients.client import Client
from zablab.harness.clients.workers import WorkerConfig, drop_session, reclaim, run_worker
from zablab.harness.db import get_db
from zablab.harness.faults.proxy import FaultProxy
from zablab.harness.generator import Schedule
from zablab.harness.recorder import Recorder
from zablab.harness.workloads import get_workload

SESSION = 30.0  # long: a session left behind would hold the lock far past the test's patience


@pytest.fixture
def server(tmp_path, no_leaks):
    backend = LocalBackend(base_dir=str(tmp_path / "nodes"), proxy=False)
    nodes = backend.setup(1)
    db = get_db("zablab")
    db.setup(nodes)
    db.start(nodes[0])
    proxy = FaultProxy()
    try:
        db.await_ready(nodes, 30)
        # clients of the holder reach the server through the proxy, so it can be cut off
        port = proxy.add_link("holder", "n1", (nodes[0].host, nodes[0].client_port))
        yield nodes[0], f"127.0.0.1:{port}", proxy
    finally:
        proxy.close()
        db.kill(nodes[0])
        backend.teardown()


def _holder(address: str, workload):
    c = Client("n1", address, 2.0, SESSION).open()
    c.process = 0
    workload.setup(c)
    token, _ = workload.invoke(c, "acquire", None)
    assert token is not None
    return c


def _other_acquires(node, workload, timeout: float) -> bool:
    c = Client("n1", node.client_address, timeout, SESSION).open()
    c.process = 1
    try:
        workload.invoke(c, "acquire", None)
        return True
    except Exception:
        return False
    finally:
        c.close()


def test_the_dropped_session_closes_once_its_server_is_back(server):
    node, via_proxy, proxy = server
    workload = get_workload("lock", random.Random(0))
    holder = _holder(via_proxy, workload)
    proxy.set_blocked({("holder", "n1")})  # the holder's write would end info here
    deadline = time.monotonic() + 10
    while holder.zk.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    drop_session(workload, holder, 0, linger=SESSION)
    time.sleep(0.5)
    proxy.heal()  # the old client reconnects, and its close reaches the server
    assert _other_acquires(node, workload, 8.0), "the dropped session still holds the lock"


def test_a_fresh_session_removes_the_lock_node_of_an_unreachable_old_one(server):
    node, via_proxy, proxy = server
    workload = get_workload("lock", random.Random(0))
    holder = _holder(via_proxy, workload)
    proxy.set_blocked({("holder", "n1")})  # and it stays cut off: its close never arrives
    held = drop_session(workload, holder, 0, linger=0.0)
    assert held
    fresh = Client("n1", node.client_address, 2.0, SESSION).open()
    try:
        assert reclaim(workload, fresh, held)
    finally:
        fresh.close()
    assert _other_acquires(node, workload, 3.0), "the abandoned session still holds the lock"


@pytest.mark.slow
def test_workers_acquire_again_after_the_holders_connection_is_cut(server):
    """The whole worker loop: worker 0 reaches the server through the proxy, worker 1 directly.
    Worker 0 is cut off while it holds the lock, so its op ends info; once the cut heals,
    worker 1 must acquire again within a few seconds, not after the session timeout."""
    node, via_proxy, proxy = server
    cfg = WorkerConfig(
        nodes=[("n1", via_proxy), ("n1", node.client_address)],
        workload="lock",
        seed=1,
        concurrency=2,
        op_timeout=1.0,
        session_timeout=SESSION,
    )
    workload = cfg.make_workload()
    setup = Client("n1", node.client_address, 2.0, SESSION).open()
    workload.setup(setup)
    setup.close()
    rec = Recorder(None)
    schedule = Schedule(12.0)
    threads = [
        threading.Thread(target=run_worker, args=(cfg, workload, i, schedule, rec.record))
        for i in range(2)
    ]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 5
        while 0 not in workload._held and time.monotonic() < deadline:
            time.sleep(0.005)
        assert 0 in workload._held, "worker 0 never held the lock"
        proxy.set_blocked({("holder", "n1")})
        time.sleep(2.0)
        proxy.heal()
        healed = rec.now()
    finally:
        for t in threads:
            t.join(20)
    # worker 0's processes are 0, 2, 4...: a slow start may have cost it a session already
    mine = [(o.process, o.f, o.type) for o in rec.ops if o.process % 2 == 0]
    assert any(typ == "info" for _, _, typ in mine), f"no op of worker 0 ended info: {mine}"
    again = [o.time for o in rec.ops if o.f == "acquire" and o.type == "ok" and o.time > healed]
    assert again and (again[0] - healed) / 1e9 < 5, "no acquire within 5 s of the heal"
