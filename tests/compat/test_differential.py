"""The same kazoo operations give the same answers on zablab and Apache ZooKeeper.

Hypothesis writes short programs (creates with every flag and several ACLs, deletes and sets
with versions, reads with watches, ACL reads and writes, multi, several sessions one of which is
authenticated, closing a session) over a small set of paths. Each program runs in a fresh subtree
on both servers; the answers must match exactly after two allowed differences are taken out:
session ids become the label of the session's slot, and zxids become their rank among the zxids
the program saw (so order and equality relations still count). Children lists are compared
sorted because ZooKeeper does not order them. See docs/compat.md for the details.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kazoo.client import KazooClient
from kazoo.protocol.states import Callback, WatchedEvent, ZnodeStat
from kazoo.security import (
    CREATOR_ALL_ACL,
    OPEN_ACL_UNSAFE,
    READ_ACL_UNSAFE,
    make_acl,
    make_digest_acl,
)

from zablab.apache import LocalZooKeeper

pytestmark = pytest.mark.zookeeper

EXAMPLES = int(os.environ.get("ZABLAB_DIFF_EXAMPLES", "300"))
SESSIONS = 3
OP_TIMEOUT = 10.0
BASE = "/zablab-diff"
PATHS = ("", "a", "b", "a/x", "a/y", "b/x", "a/x/z", "s0000000000", "a/s0000000001")
# a sequential create of "" would name a sibling of the example root: not in PATHS[1:]
SEQ_PATHS = ("s", "a/s", "b/")
VALUES = (b"", None, b"v1", b"v2", b"\x00\xff" * 50)
VERSIONS = (-1, -1, 0, 1, 2)
EXAMPLE_IDS = itertools.count()
# the last session slot authenticates with this digest user; the others are anonymous
AUTH = ("digest", "zablab:secret")
ACLS = (
    None,  # kazoo's default: OPEN_ACL_UNSAFE
    READ_ACL_UNSAFE,
    CREATOR_ALL_ACL,  # InvalidACL for an anonymous session
    [make_digest_acl("zablab", "secret", all=True), make_acl("world", "anyone", read=True)],
    OPEN_ACL_UNSAFE,
)

# --- the program -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Create:
    session: int
    path: str
    value: bytes = b""
    ephemeral: bool = False
    sequence: bool = False
    include_data: bool = False
    acl: int = 0  # index into ACLS


@dataclass(frozen=True)
class Delete:
    session: int
    path: str
    version: int = -1


@dataclass(frozen=True)
class SetData:
    session: int
    path: str
    value: bytes
    version: int = -1


@dataclass(frozen=True)
class GetData:
    session: int
    path: str
    watch: bool = False


@dataclass(frozen=True)
class Exists:
    session: int
    path: str
    watch: bool = False


@dataclass(frozen=True)
class Children:
    session: int
    path: str
    watch: bool = False
    include_data: bool = False


@dataclass(frozen=True)
class GetACL:
    session: int
    path: str


@dataclass(frozen=True)
class SetACL:
    session: int
    path: str
    acl: int
    version: int = -1


@dataclass(frozen=True)
class Sync:
    session: int
    path: str


@dataclass(frozen=True)
class CheckVersion:
    path: str
    version: int


@dataclass(frozen=True)
class Multi:
    session: int
    ops: tuple[Create | Delete | SetData | CheckVersion, ...]


@dataclass(frozen=True)
class CloseSession:
    """Close the session and open a new one in its slot, as a restarting client would."""

    session: int


Op = (
    Create
    | Delete
    | SetData
    | GetData
    | Exists
    | Children
    | GetACL
    | SetACL
    | Sync
    | Multi
    | CloseSession
)

sessions = st.integers(0, SESSIONS - 1)
paths = st.sampled_from(PATHS)
values = st.sampled_from(VALUES)
versions = st.sampled_from(VERSIONS)


@st.composite
def creates(draw: st.DrawFn, session: int = 0) -> Create:
    sequence = draw(st.booleans())
    path = draw(st.sampled_from(SEQ_PATHS + PATHS[1:]) if sequence else paths)
    acl = draw(st.sampled_from((0, 0, 0, 1, 2, 3)))
    return Create(
        session, path, draw(values), draw(st.booleans()), sequence, draw(st.booleans()), acl
    )


multi_ops = st.one_of(
    creates().map(lambda c: Create(0, c.path, c.value, c.ephemeral, c.sequence, acl=c.acl)),
    st.builds(Delete, st.just(0), paths, versions),
    st.builds(SetData, st.just(0), paths, values, versions),
    st.builds(CheckVersion, paths, versions),
)

ops: st.SearchStrategy[Op] = st.one_of(
    sessions.flatmap(lambda s: creates(s)),
    st.builds(Delete, sessions, paths, versions),
    st.builds(SetData, sessions, paths, values, versions),
    st.builds(GetData, sessions, paths, st.booleans()),
    st.builds(Exists, sessions, paths, st.booleans()),
    st.builds(Children, sessions, paths, st.booleans(), st.booleans()),
    st.builds(Sync, sessions, paths),
    st.builds(Multi, sessions, st.lists(multi_ops, min_size=1, max_size=4).map(tuple)),
    st.builds(GetACL, sessions, paths),
    st.builds(SetACL, sessions, paths, st.integers(0, len(ACLS) - 1), versions),
    st.builds(CloseSession, sessions),
)
programs = st.lists(ops, min_size=1, max_size=14)

# --- running a program on one server -----------------------------------------------------------


def _unset(event: WatchedEvent) -> None:
    raise AssertionError("watch recorder not installed")


@dataclass
class Session:
    """A client in one of the program's session slots; `label` names it in the answers."""

    label: str
    client: KazooClient
    data_watch: Callable[[WatchedEvent], None] = _unset
    child_watch: Callable[[WatchedEvent], None] = _unset


@dataclass
class World:
    """Sessions to one server, reused across examples to keep examples cheap."""

    hosts: str
    sessions: list[Session] = field(default_factory=list)
    events: list[tuple[str, str, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    root: str = BASE
    reopened: int = 0

    def open(self, label: str, slot: int) -> Session:
        auth = [AUTH] if slot == SESSIONS - 1 else None
        client = KazooClient(self.hosts, timeout=10, auth_data=auth)
        client.start(timeout=OP_TIMEOUT)
        session = Session(label, client)

        def recorder(kind: str) -> Callable[[WatchedEvent], None]:
            def record(event: WatchedEvent) -> None:
                if event.path is None:  # kazoo's own NONE event when a session ends
                    return
                with self.lock:
                    self.events.append((session.label, kind, event.type, event.path))

            return record

        session.data_watch, session.child_watch = recorder("data"), recorder("child")
        return session

    def start(self) -> World:
        self.sessions = [self.open(f"s{i}", i) for i in range(SESSIONS)]
        self.sessions[0].client.ensure_path(BASE)
        return self

    def close(self) -> None:
        for s in self.sessions:
            s.client.stop()
            s.client.close()
        self.sessions = []

    def owner(self, session_id: int) -> str:
        for s in self.sessions:
            if s.client.client_id and s.client.client_id[0] == session_id:
                return s.label
        return "closed-session"

    def abs(self, path: str) -> str:
        return f"{self.root}/{path}" if path else self.root

    def rel(self, path: str) -> str:
        return path[len(self.root) + 1 :] if path != self.root else ""

    def stat(self, stat: ZnodeStat | None) -> dict[str, Any] | None:
        if stat is None:
            return None
        owner = stat.ephemeralOwner
        return {
            "czxid": ("zxid", stat.czxid),
            "mzxid": ("zxid", stat.mzxid),
            "pzxid": ("zxid", stat.pzxid),
            "version": stat.version,
            "cversion": stat.cversion,
            "aversion": stat.aversion,
            "ephemeralOwner": self.owner(owner) if owner else 0,
            "dataLength": stat.dataLength,
            "numChildren": stat.numChildren,
        }

    def barrier(self) -> None:
        """Every event the servers sent for earlier ops has been handed to our watchers."""
        for s in self.sessions:
            s.client.exists_async("/").get(timeout=OP_TIMEOUT)
            done = threading.Event()
            s.client.handler.dispatch_callback(Callback("watch", done.set, ()))
            assert done.wait(OP_TIMEOUT), "kazoo's watch thread is stuck"

    def run(self, root: str, program: list[Op]) -> list[Any]:
        self.root = root
        self.reopened = 0
        for i, s in enumerate(self.sessions):
            s.label = f"s{i}"
        self.sessions[0].client.create(root)
        self.barrier()
        self.events.clear()
        out = []
        for op in program:
            try:
                result: Any = ("ok", self.apply(op))
            except Exception as e:  # the exception class is the answer being compared
                result = ("error", type(e).__name__)
            self.barrier()
            with self.lock:
                events, self.events = self.events, []
            out.append((result, self.group_events(events, sort=isinstance(op, CloseSession))))
        return out

    def group_events(self, events: list[tuple[str, str, str, str]], sort: bool) -> dict:
        """Per session, in arrival order (sorted for a session close: ZooKeeper deletes a
        session's ephemerals in hash-set order)."""
        grouped: dict[str, list[tuple[str, str, str]]] = {}
        for label, kind, etype, path in events:
            if path == self.root or path.startswith(self.root + "/"):
                grouped.setdefault(label, []).append((kind, etype, self.rel(path)))
        return {k: sorted(v) if sort else v for k, v in grouped.items()}

    def apply(self, op: Op) -> Any:
        if isinstance(op, CloseSession):
            old = self.sessions[op.session]
            old.client.stop()
            old.client.close()
            self.reopened += 1
            self.sessions[op.session] = self.open(f"s{op.session}.{self.reopened}", op.session)
            return None
        s = self.sessions[op.session]
        c = s.client
        match op:
            case Create():
                got = c.create_async(
                    self.abs(op.path),
                    op.value,
                    ephemeral=op.ephemeral,
                    sequence=op.sequence,
                    include_data=op.include_data,
                    acl=ACLS[op.acl],
                ).get(timeout=OP_TIMEOUT)
                if op.include_data:
                    return self.rel(got[0]), self.stat(got[1])
                return self.rel(got)
            case Delete():
                return c.delete_async(self.abs(op.path), op.version).get(timeout=OP_TIMEOUT)
            case SetData():
                got = c.set_async(self.abs(op.path), op.value, op.version).get(timeout=OP_TIMEOUT)
                return self.stat(got)
            case GetData():
                w = s.data_watch if op.watch else None
                value, stat = c.get_async(self.abs(op.path), w).get(timeout=OP_TIMEOUT)
                return value, self.stat(stat)
            case Exists():
                w = s.data_watch if op.watch else None
                return self.stat(c.exists_async(self.abs(op.path), w).get(timeout=OP_TIMEOUT))
            case Children():
                w = s.child_watch if op.watch else None
                got = c.get_children_async(self.abs(op.path), w, op.include_data).get(
                    timeout=OP_TIMEOUT
                )
                if op.include_data:
                    return sorted(got[0]), self.stat(got[1])
                return sorted(got)
            case GetACL():
                acls, stat = c.get_acls_async(self.abs(op.path)).get(timeout=OP_TIMEOUT)
                return [(a.perms, a.id.scheme, a.id.id) for a in acls], self.stat(stat)
            case SetACL():
                acl = ACLS[op.acl] or OPEN_ACL_UNSAFE
                got = c.set_acls_async(self.abs(op.path), acl, op.version).get(timeout=OP_TIMEOUT)
                return self.stat(got)
            case Sync():
                return self.rel(c.sync_async(self.abs(op.path)).get(timeout=OP_TIMEOUT))
            case Multi():
                t = c.transaction()
                for m in op.ops:
                    match m:
                        case Create():
                            t.create(
                                self.abs(m.path), m.value, ACLS[m.acl], m.ephemeral, m.sequence
                            )
                        case Delete():
                            t.delete(self.abs(m.path), m.version)
                        case SetData():
                            t.set_data(self.abs(m.path), m.value, m.version)
                        case CheckVersion():
                            t.check(self.abs(m.path), m.version)
                return [self.multi_result(r) for r in t.commit_async().get(timeout=OP_TIMEOUT)]
        raise AssertionError(f"unknown op {op!r}")

    def multi_result(self, r: Any) -> Any:
        if isinstance(r, Exception):
            return ("error", type(r).__name__)
        if isinstance(r, ZnodeStat):
            return self.stat(r)
        if isinstance(r, str):
            return self.rel(r)
        return r


def rank_zxids(results: Any) -> Any:
    """Replace each ("zxid", n) by its dense rank among all zxids in `results`."""
    seen: set[int] = set()

    def collect(x: Any) -> None:
        if isinstance(x, tuple) and len(x) == 2 and x[0] == "zxid":
            seen.add(x[1])
        elif isinstance(x, list | tuple):
            for y in x:
                collect(y)
        elif isinstance(x, dict):
            for y in x.values():
                collect(y)

    collect(results)
    rank = {z: i for i, z in enumerate(sorted(seen))}

    def replace(x: Any) -> Any:
        if isinstance(x, tuple) and len(x) == 2 and x[0] == "zxid":
            return ("zxid", rank[x[1]])
        if isinstance(x, list):
            return [replace(y) for y in x]
        if isinstance(x, tuple):
            return tuple(replace(y) for y in x)
        if isinstance(x, dict):
            return {k: replace(v) for k, v in x.items()}
        return x

    return replace(results)


def first_difference(program: list[Op], a: list[Any], b: list[Any], names: tuple[str, str]) -> str:
    for i, (op, x, y) in enumerate(zip(program, a, b, strict=True)):
        if x != y:
            return f"op {i}: {op!r}\n  {names[0]}: {x!r}\n  {names[1]}: {y!r}"
    return "results differ only in zxid order relations"


class Differ:
    """Runs each program on two worlds in fresh subtrees and compares the normalised answers."""

    def __init__(self, a: World, b: World, names: tuple[str, str]) -> None:
        self.a, self.b, self.names = a, b, names

    def check(self, program: list[Op]) -> None:
        root = f"{BASE}/e{next(EXAMPLE_IDS)}"
        ra = rank_zxids(self.a.run(root, program))
        rb = rank_zxids(self.b.run(root, program))
        assert ra == rb, first_difference(program, ra, rb, self.names)


def world(hosts: str) -> Iterator[World]:
    w = World(hosts)
    try:
        yield w.start()
    finally:
        w.close()


@pytest.fixture(scope="module")
def zk_world(apache_zk: LocalZooKeeper) -> Iterator[World]:
    yield from world(apache_zk.hosts)


@pytest.fixture(scope="module")
def zablab_world(zablab_node) -> Iterator[World]:
    yield from world(zablab_node.address)


@pytest.fixture(scope="module")
def second_zk() -> Iterator[LocalZooKeeper]:
    with LocalZooKeeper() as zk:
        yield zk


HYPOTHESIS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@HYPOTHESIS
@given(program=programs)
def test_zablab_matches_zookeeper(zk_world: World, zablab_world: World, program: list[Op]) -> None:
    Differ(zk_world, zablab_world, ("zookeeper", "zablab")).check(program)


@pytest.fixture(scope="module")
def second_zk_world(second_zk: LocalZooKeeper) -> Iterator[World]:
    yield from world(second_zk.hosts)


@settings(HYPOTHESIS, max_examples=max(20, EXAMPLES // 5))
@given(program=programs)
def test_zookeeper_matches_itself(
    zk_world: World, second_zk_world: World, program: list[Op]
) -> None:
    """Sanity check of the normalisation: two ZooKeeper servers never differ."""
    Differ(zk_world, second_zk_world, ("zookeeper", "zookeeper-2")).check(program)


class IgnoresVersions(World):
    """Seeded bug, seen through the client: setData and delete ignore the expected version."""

    def apply(self, op: Op) -> Any:
        if isinstance(op, SetData):
            op = SetData(op.session, op.path, op.value, -1)
        if isinstance(op, Delete):
            op = Delete(op.session, op.path, -1)
        return super().apply(op)


class DropsWatches(World):
    """Seeded bug: exists() never leaves a watch behind."""

    def apply(self, op: Op) -> Any:
        if isinstance(op, Exists):
            op = Exists(op.session, op.path, False)
        return super().apply(op)


class SwapsOwners(World):
    """Seeded bug: ephemeral nodes are reported as owned by the next session."""

    def owner(self, session_id: int) -> str:
        label = super().owner(session_id)
        return "s1" if label == "s0" else label


class ReordersZxids(World):
    """Seeded bug: mzxid reported older than czxid (normalisation must keep order)."""

    def stat(self, stat: ZnodeStat | None) -> dict[str, Any] | None:
        out = super().stat(stat)
        if out is not None:
            out["mzxid"] = ("zxid", out["czxid"][1] - 1)
        return out


# keyed by their names in the seeded-bug registry (zablab/bugs.py, checker "differential")
SEEDED_BUGS: dict[str, tuple[type[World], list[Any]]] = {
    "ignores-versions": (IgnoresVersions, [Create(0, "a", b"v1"), SetData(1, "a", b"v2", 3)]),
    "drops-watches": (DropsWatches, [Exists(1, "a", True), Create(0, "a")]),
    "swaps-owners": (SwapsOwners, [Create(0, "a", ephemeral=True), Exists(2, "a")]),
    "reorders-zxids": (ReordersZxids, [Create(0, "a"), GetData(0, "a")]),
}


@pytest.mark.parametrize("name", sorted(SEEDED_BUGS))
def test_differential_catches_seeded_bug(
    zk_world: World, second_zk: LocalZooKeeper, name: str
) -> None:
    bug, program = SEEDED_BUGS[name]
    buggy = bug(second_zk.hosts).start()
    try:
        with pytest.raises(AssertionError, match="op 1"):
            Differ(zk_world, buggy, ("zookeeper", bug.__name__)).check(program)
    finally:
        buggy.close()
