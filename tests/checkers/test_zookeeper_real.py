"""The ZooKeeper checker on a history recorded from real Apache ZooKeeper through kazoo.

It shows which fields a client must record (Stat.mzxid as `zxid`, the session id) and that a
real history passes while the same history with two reads swapped fails.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from zablab.checkers.zookeeper import check_zookeeper
from zablab.history.jsonl import Op

pytestmark = pytest.mark.zookeeper

PATH = "/zablab-checker-register"


@pytest.fixture(scope="module")
def zk_hosts() -> Iterator[str]:
    from zablab.apache.local import LocalZooKeeper

    try:
        from zablab.apache.classpath import check_installed

        check_installed()
    except Exception as exc:  # noqa: BLE001 - any reason it is missing means skip
        pytest.skip(f"Apache ZooKeeper not usable here: {exc}")
    server = LocalZooKeeper(force_sync=False)
    try:
        server.start()
        yield server.hosts
    finally:
        server.close()


class Recorder:
    def __init__(self) -> None:
        self.ops: list[Op] = []
        self.lock = threading.Lock()
        self.t0 = time.monotonic_ns()

    def add(self, type_: str, process: int, f: str, value: Any, **extra: Any) -> None:
        with self.lock:
            t = time.monotonic_ns() - self.t0
            self.ops.append(Op(len(self.ops), t, type_, process, f, value, extra))


def record(hosts: str, workers: int = 3, rounds: int = 25) -> list[Op]:
    from kazoo.client import KazooClient

    rec = Recorder()
    setup = KazooClient(hosts=hosts)
    setup.start(timeout=20)
    try:
        setup.ensure_path(PATH)
        setup.set(PATH, b"0")

        def worker(p: int) -> None:
            zk = KazooClient(hosts=hosts)
            zk.start(timeout=20)
            session = zk.client_id[0]
            try:
                for i in range(rounds):
                    v = f"{p}-{i}"
                    rec.add("invoke", p, "write", v, session=session)
                    stat = zk.set(PATH, v.encode())
                    rec.add("ok", p, "write", v, session=session, zxid=stat.mzxid)
                    rec.add("invoke", p, "read", None, session=session)
                    data, stat = zk.get(PATH)
                    rec.add("ok", p, "read", data.decode(), session=session, zxid=stat.mzxid)
            finally:
                zk.stop()
                zk.close()

        threads = [threading.Thread(target=worker, args=(p,)) for p in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        session = setup.client_id[0]
        rec.add("invoke", 99, "read", None, session=session, final=True)
        setup.sync(PATH)
        data, stat = setup.get(PATH)
        rec.add("ok", 99, "read", data.decode(), session=session, zxid=stat.mzxid, final=True)
    finally:
        setup.stop()
        setup.close()
    return rec.ops


def test_real_history_passes_and_tampered_one_fails(zk_hosts: str) -> None:
    ops = record(zk_hosts)
    r = check_zookeeper(ops, initial="0")
    assert r.valid is True, r.details
    assert r.details["reads-unplaced"] == 0 and r.details["writes"] == 75

    # swap the results of process 0's first and last reads: its view now goes backwards
    bad = copy.deepcopy(ops)
    reads = [op for op in bad if op.process == 0 and op.f == "read" and op.type == "ok"]
    first, last = reads[0], reads[-1]
    first.value, last.value = last.value, first.value
    first.extra["zxid"], last.extra["zxid"] = last.extra["zxid"], first.extra["zxid"]
    r = check_zookeeper(bad, initial="0")
    assert r.valid is False
    assert "session-went-backwards" in r.details["anomaly-types"]
