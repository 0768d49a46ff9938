"""The seam that lets a student's tree serve a real zablab node: what the tree sends reaches
the wire in the tree's order, a broken tree gives error replies (the server keeps serving),
expiry closes sessions in the tree, and kazoo's own recipe tests pass on the reference."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.kazoo_suite import parse_junit, tail
from tests.labs.conftest import REPO, start_serving, stop
from zablab.labs.znode.api import Reply
from zablab.labs.znode.mutants.reply_before_watch import ZNodeTree as ReplyFirst
from zablab.labs.znode.reference.znode_tree import ZNodeTree as Reference
from zablab.labs.znode.serve import StudentTreeCore
from zablab.node.jute import Writer
from zablab.node.protocol import Err, Event, OpCode
from zablab.node.testing import Bench, Notification
from zablab.node.testing import Reply as WireReply


def _bench(tree_class: Any) -> Bench:
    bench = Bench(auto_commit=False)
    bench.core = StudentTreeCore(tree_class, tick_ms=200, now=0, wall=1_000_000)
    return bench


def _set(c: Any, path: str, data: bytes) -> list[object]:
    c.request(OpCode.SET_DATA, Writer().ustring(path).buffer(data).int(-1).bytes())
    return c.read()


@pytest.mark.parametrize("tree_class, first", [(Reference, Notification), (ReplyFirst, WireReply)])
def test_the_wire_order_is_the_trees_order(tree_class: Any, first: type) -> None:
    bench = _bench(tree_class)
    c = bench.client()
    c.connect()
    assert c.create("/a").err == 0
    assert c.get("/a", watch=True).err == 0
    msgs = _set(c, "/a", b"x")
    assert [type(m) for m in msgs] == [first, WireReply if first is Notification else Notification]
    note = next(m for m in msgs if isinstance(m, Notification))
    assert note.type == Event.NODE_DATA_CHANGED and note.path == "/a"


class Broken(Reference):
    def create(self, session: int, zxid: int, path: str, data: bytes = b"",
               ephemeral: bool = False, sequential: bool = False) -> None:
        if path == "/crash":
            raise RuntimeError("student bug")
        if path == "/silent":
            return
        if path == "/twice":
            self.send(session, Reply(path))
            self.send(session, Reply(path))
            return
        super().create(session, zxid, path, data, ephemeral, sequential)

    def get_data(self, path: str, watcher: object = None) -> tuple[bytes, Any]:
        if path == "/crash":
            raise KeyError(path)
        return super().get_data(path, watcher)


def test_a_broken_tree_gives_error_replies_and_the_server_keeps_serving() -> None:
    bench = _bench(Broken)
    c = bench.client()
    c.connect()
    assert c.create("/crash").err == Err.SYSTEMERROR
    assert c.create("/silent").err == Err.SYSTEMERROR
    assert c.create("/twice").err == 0  # the second reply is dropped, with a warning
    assert c.get("/crash").err == Err.SYSTEMERROR
    assert c.create("/fine").err == 0
    assert c.get("/fine").err == 0
    assert isinstance(bench.core, StudentTreeCore)
    assert [type(e) for e in bench.core.errors] == [RuntimeError, KeyError]


def test_unsupported_requests_are_unimplemented_not_a_crash() -> None:
    bench = _bench(Reference)
    c = bench.client()
    c.connect()
    acl = Writer().ustring("/").vector([], lambda w, a: None).int(-1).bytes()
    assert c.call(OpCode.SET_ACL, acl).err == Err.UNIMPLEMENTED
    assert c.create("/c", flags=4).err == Err.UNIMPLEMENTED  # containers are not in the lab
    assert c.create("/ok").err == 0


def test_expiry_closes_the_session_in_the_tree() -> None:
    bench = _bench(Reference)
    a, b = bench.client(), bench.client()
    a.connect(timeout=800)
    b.connect(timeout=4000)
    assert a.create("/e", flags=1).err == 0
    assert b.exists("/e", watch=True).err == 0
    for _ in range(30):
        bench.core.now += 100
        bench.core.wall += 100
        b.request(OpCode.PING)  # keeps b alive while a goes silent
        bench.advance(0)
    msgs = b.read()
    assert any(isinstance(m, Notification) and m.type == Event.NODE_DELETED for m in msgs)
    assert b.exists("/e").err == Err.NONODE


RECIPE_MODULES = ("test_lock", "test_election", "test_queue", "test_barrier", "test_counter")


@pytest.mark.slow
def test_kazoos_own_recipe_tests_pass_on_the_reference_tree(tmp_path: Path) -> None:
    """kazoo's own lock, election, queue, barrier and counter test modules, through the
    project's kazoo plugin, against `zablab lab serve` of the reference solution."""
    work = tmp_path / "w"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    subprocess.run([sys.executable, "-m", "zablab", "lab", "start", "znode", str(work),
                    "--solution"], env=env, check=True, capture_output=True)
    server, port = start_serving(["lab", "serve", "znode", "--dir", str(work), "--port", "0"])
    try:
        with tempfile.TemporaryDirectory() as tmp:
            junit = Path(tmp) / "junit.xml"
            run = subprocess.run(
                [sys.executable, "-m", "pytest", "-p", "tests.kazoo_plugin", "-p",
                 "no:cacheprovider", "-q", "--timeout", "60", f"--junitxml={junit}",
                 "--pyargs", *(f"kazoo.tests.{m}" for m in RECIPE_MODULES)],
                cwd=REPO, env=dict(env, ZABLAB_KAZOO_HOSTS=f"127.0.0.1:{port}"),
                capture_output=True, text=True, timeout=600)
            outcomes = parse_junit(junit)
        failed = sorted(t for t, o in outcomes.items() if o in ("failed", "error"))
        passed = [t for t, o in outcomes.items() if o == "passed"]
        assert not failed, f"{failed}\n{tail(run.stdout)}"
        assert len(passed) >= 50, tail(run.stdout)
    finally:
        stop(server)
