"""One candidate of the failover scenarios: the student's `Failover` in a process of its own, so
the grader can kill -9 it, SIGSTOP it and cut it off from the ensemble for real.

The grader's side of the process (not the student's): it opens the ZooKeeper session, hands
the student a store client that stamps each write with who wrote it, from which session and in
which connection state, and on SIGUSR1 stops the whole process inside the next write — after
the student chose its token, before the store sees it: the zombie leader.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import sys
import threading
import time
from typing import Any

from kazoo.client import KazooClient
from kazoo.retry import KazooRetry

from zablab.harness.fenced_store import StoreClient


class StampedStore:
    """The store as the student sees it: `write(data, token) -> bool`."""

    def __init__(self, address: tuple[str, int], zk: KazooClient, name: str):
        self.client = StoreClient(address, leader=name)
        self.zk = zk
        self.state = "CONNECTED"
        self.since = time.monotonic()
        self.freeze = threading.Event()
        self.session: str | None = None
        zk.add_listener(self._on_state)  # before the student's listener: we see it first

    def _on_state(self, state: str) -> None:
        self.state, self.since = str(state), time.monotonic()

    def write(self, data: Any, token: int | None) -> bool:
        if self.zk.client_id:  # kazoo forgets it while disconnected; the session is the same
            self.session = f"{self.zk.client_id[0]:#x}"
        meta = {
            "session": self.session,
            "conn_state": self.state,
            "state_age_ms": round((time.monotonic() - self.since) * 1000),
        }
        if self.freeze.is_set():
            self.freeze.clear()
            os.kill(os.getpid(), signal.SIGSTOP)  # the pause lands here; SIGCONT resumes
        return self.client.write(data, token, **meta)


def load(path: str) -> Any:
    spec = importlib.util.spec_from_file_location("student_election", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["student_election"] = mod
    spec.loader.exec_module(mod)
    return mod


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m zablab.labs.election.candidate")
    ap.add_argument("--file", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--scheme", default="smallest")
    ap.add_argument("--path", default="/election")
    ap.add_argument("--hosts", required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--session-timeout", type=float, default=2.0)
    a = ap.parse_args(argv)
    host, port = a.store.rsplit(":", 1)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    zk = KazooClient(
        hosts=a.hosts,
        timeout=a.session_timeout,
        connection_retry=KazooRetry(max_tries=-1, delay=0.05, max_delay=0.5),
    )
    zk.start(timeout=10)
    store = StampedStore((host, int(port)), zk, a.name)
    signal.signal(signal.SIGUSR1, lambda *_: store.freeze.set())
    mod = load(a.file)
    failover = mod.Failover(zk, a.path, store, scheme=a.scheme, name=a.name)
    print(f"{a.name}: session {zk.client_id[0]:#x}, running", flush=True)
    failover.run(stop)
    zk.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
