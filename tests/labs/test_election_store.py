"""The election lab's fenced store refuses stale tokens, survives bad requests, and logs every
decision as history the election checker reads; the servers count watch events per session."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kazoo.client import KazooClient

from zablab.apache.fourletter import four_letter
from zablab.checkers.election import check_election
from zablab.harness.fenced_store import FencedStore, StoreClient
from zablab.node.launcher import launch_node


@pytest.fixture
def zablab_server(tmp_path: Path) -> Iterator[str]:
    node = launch_node(str(tmp_path / "data"), tick_time=200)
    try:
        yield node.address
    finally:
        node.kill()


def test_stale_token_is_refused_and_logged() -> None:
    with FencedStore() as store:
        a = StoreClient(store.address, leader="c1")
        b = StoreClient(store.address, leader="c2")
        assert a.write("x", 5) and b.write("y", 9)
        assert not a.write("z", 5)  # the zombie
        assert b.write("w", 9) and a.read()["max_token"] == 9
        assert [o.type for o in store.log] == ["ok", "ok", "fail", "ok"]
        assert store.log[2].extra == {"token": 5, "leader": "c1", "error": "stale-token"}
        assert check_election(store.log).valid is True
        a.close()
        b.close()


def test_unfenced_store_lets_the_checker_see_the_overlap() -> None:
    with FencedStore(fenced=False) as store:
        c1 = StoreClient(store.address, leader="c1", session="s1")
        c2 = StoreClient(store.address, leader="c2", session="s2")
        c1.write("a", 5)
        time.sleep(0.01)
        c2.write("b", 9)
        time.sleep(0.01)
        assert c1.write("c", 5)  # accepted: this store does not fence
        r = check_election(store.log)
        assert r.valid is False
        assert {"stale-token-accepted", "overlapping-leaders"} <= set(r.details["failures"])


def test_bad_requests_get_an_error_and_the_store_keeps_serving() -> None:
    with FencedStore() as store:
        with socket.create_connection(store.address) as s:
            f = s.makefile("rwb")
            for line in (
                b"not json\n",
                b"[1]\n",
                b'{"op": "drop"}\n',
                b'{"op": "write", "token": "7"}\n',
                b"\xff\xfe\n",
            ):
                f.write(line)
                f.flush()
                assert b'"ok": false' in f.readline(), line
        assert StoreClient(store.address).write("ok", 1)
        assert len(store.log) == 1


def test_the_node_counts_watch_events_per_session(zablab_server: str) -> None:
    host, port = zablab_server.rsplit(":", 1)
    a = KazooClient(zablab_server)
    b = KazooClient(zablab_server)
    a.start()
    b.start()
    try:
        a.create("/w", b"")
        b.exists("/w", watch=lambda e: None)
        a.set("/w", b"1")
        time.sleep(0.3)
        counts = dict(
            line.split("\t") for line in four_letter(host, int(port), "wevs").splitlines()
        )
        assert counts.get(f"{b.client_id[0]:#x}") == "1"
        assert f"{a.client_id[0]:#x}" not in counts
    finally:
        a.stop()
        b.stop()
