"""The visible tests of the znode lab. `zablab lab test znode --dir DIR` runs them against
DIR/znode_tree.py; this file is a copy for you to read (the grader uses its own).

Each test's docstring says what it checks. Sessions are small ints (1, 2, 3) and each test
uses the session number as that session's watcher too.
"""

from __future__ import annotations

import inspect

from zablab.labs.engine import Case

from .api import (
    BAD_ARGUMENTS,
    BAD_VERSION,
    NO_CHILDREN_FOR_EPHEMERALS,
    NO_NODE,
    NODE_CHILDREN_CHANGED,
    NODE_CREATED,
    NODE_DATA_CHANGED,
    NODE_DELETED,
    NODE_EXISTS,
    NOT_EMPTY,
    OK,
    RUNTIME_INCONSISTENCY,
    Check,
    Create,
    Delete,
    OpResult,
    Reply,
    SetData,
    WatchedEvent,
)
from .harness import STUDENT_FILE, Harness

S1, S2, S3 = 1, 2, 3

SIGNATURES = {
    "get_data": ["self", "path", "watcher"],
    "exists": ["self", "path", "watcher"],
    "get_children": ["self", "path", "watcher"],
    "create": ["self", "session", "zxid", "path", "data", "ephemeral", "sequential"],
    "delete": ["self", "session", "zxid", "path", "version"],
    "set_data": ["self", "session", "zxid", "path", "data", "version"],
    "close_session": ["self", "session", "zxid"],
    "multi": ["self", "session", "zxid", "ops"],
}


def api_signatures(case: Case) -> None:
    """ZNodeTree exists, can be built with a send function, and its methods take the
    parameters the server passes (names as in the starter)."""
    mod = case.student(STUDENT_FILE)
    cls = getattr(mod, "ZNodeTree", None)
    assert cls is not None, f"{STUDENT_FILE} defines no class ZNodeTree"
    for name, params in SIGNATURES.items():
        fn = getattr(cls, name, None)
        assert callable(fn), f"ZNodeTree has no method {name}"
        got = list(inspect.signature(fn).parameters)
        assert got == params, f"ZNodeTree.{name} takes {got}; the server passes {params}"
    cls(lambda dest, msg: None)


def basics_create_get(case: Case) -> None:
    """create replies with the path; get_data, exists and get_children see the new node."""
    h = Harness.student(case)
    got = h.ok("create", S1, "/a", b"hello")
    h.check(got == "/a", f"{h.calls[-1]} replied with {got!r}; expected the path '/a'")
    data = h.read("get_data", "/a")
    h.check(isinstance(data, tuple) and len(data) == 2 and data[0] == b"hello",
            f"get_data('/a') returned {data!r}; expected (b'hello', <its Stat>)")
    h.check(h.read("exists", "/nope") is None, "exists('/nope') should return None")
    h.ok("create", S1, "/a/b")
    h.ok("create", S1, "/a/c", b"")
    kids = h.read("get_children", "/a")
    h.check(kids[0] == ["b", "c"], f"get_children('/a') returned {kids!r}; expected ['b', 'c'] "
            "(names, sorted) and the Stat")
    kids = h.read("get_children", "/")
    h.check(kids[0] == ["a"], f"get_children('/') returned {kids!r}; expected ['a'] and the Stat")
    h.read_fails(NO_NODE, "get_data", "/nope")
    h.read_fails(NO_NODE, "get_children", "/nope")


def basics_create_errors(case: Case) -> None:
    """create refuses bad paths, missing parents, existing nodes and children of ephemerals,
    with ZooKeeper's error names, and then changes nothing."""
    h = Harness.student(case)
    for bad in ("a", "/a/", "//a", "/a/./b"):
        h.fails(BAD_ARGUMENTS, "create", S1, bad)
    h.fails(NO_NODE, "create", S1, "/x/y")
    h.ok("create", S1, "/a")
    h.fails(NODE_EXISTS, "create", S1, "/a")
    h.ok("create", S1, "/e", ephemeral=True)
    h.fails(NO_CHILDREN_FOR_EPHEMERALS, "create", S1, "/e/child")
    h.field("/", "num_children", 2, "the failed creates added nothing")


def basics_set_data(case: Case) -> None:
    """set_data checks the version (-1 matches any), replies with the new Stat and bumps
    version and mzxid."""
    h = Harness.student(case)
    h.ok("create", S1, "/a", b"v0")
    st = h.ok("set_data", S1, "/a", b"v1")
    h.check(getattr(st, "version", None) == 1 and st.mzxid == h.zxid,
            f"{h.calls[-1]} replied {st!r}; expected the new Stat: version=1, mzxid={h.zxid}")
    h.ok("set_data", S1, "/a", b"v2", version=1)
    h.fails(BAD_VERSION, "set_data", S1, "/a", b"v3", version=1)
    h.fails(NO_NODE, "set_data", S1, "/nope", b"")
    data = h.read("get_data", "/a")
    h.check(data[0] == b"v2", f"get_data('/a') returned {data!r}; expected b'v2'")
    h.field("/a", "version", 2, "two setData calls succeeded")
    h.field("/a", "data_length", 2, "the data is b'v2'")


def basics_delete(case: Case) -> None:
    """delete checks the version, refuses a node with children and the root."""
    h = Harness.student(case)
    h.ok("create", S1, "/a")
    h.ok("create", S1, "/a/b")
    h.fails(NOT_EMPTY, "delete", S1, "/a")
    h.fails(BAD_VERSION, "delete", S1, "/a/b", version=3)
    h.fails(NO_NODE, "delete", S1, "/nope")
    h.fails(BAD_ARGUMENTS, "delete", S1, "/")
    got = h.ok("delete", S1, "/a/b", version=0)
    h.check(got is None, f"{h.calls[-1]} replied with {got!r}; delete replies with None")
    h.ok("delete", S1, "/a")
    h.check(h.read("exists", "/a") is None, "exists('/a') should be None after its delete")


def stat_fields(case: Case) -> None:
    """A new node's Stat: czxid = mzxid = pzxid = the create's zxid, versions 0, data length,
    no children; set_data moves only mzxid, version and data_length."""
    h = Harness.student(case)
    h.ok("create", S1, "/a", b"abc")
    z = h.zxid
    st = h.stat("/a")
    want = dict(czxid=z, mzxid=z, pzxid=z, version=0, cversion=0, aversion=0,
                ephemeral_owner=0, data_length=3, num_children=0)
    for k, v in want.items():
        h.check(getattr(st, k, None) == v, f"exists('/a') gave {st!r}; expected {k}={v}")
    h.ok("set_data", S1, "/a", b"abcdef")
    st = h.stat("/a")
    want.update(mzxid=h.zxid, version=1, data_length=6)
    for k, v in want.items():
        h.check(getattr(st, k, None) == v, f"after set_data exists('/a') gave {st!r}; expected {k}={v}")


def stat_parent_on_create(case: Case) -> None:
    """Creating a child bumps the parent's cversion, sets its pzxid to the create's zxid and
    counts it in num_children; the parent's mzxid and version stay."""
    h = Harness.student(case)
    h.ok("create", S1, "/p")
    zp = h.zxid
    h.ok("create", S1, "/p/a")
    h.ok("create", S1, "/p/b")
    h.field("/p", "cversion", 2, "two children were created")
    h.field("/p", "pzxid", h.zxid, "pzxid is the zxid of the last child change")
    h.field("/p", "num_children", 2, "/p has two children")
    h.field("/p", "mzxid", zp, "a child's create does not change the parent's data")
    h.field("/p", "version", 0, "a child's create does not change the parent's data")


def stat_cversion_counts_deletes(case: Case) -> None:
    """Deleting a child bumps the parent's cversion too (it counts creates and deletes of
    children) and moves its pzxid."""
    h = Harness.student(case)
    h.ok("create", S1, "/p")
    h.ok("create", S1, "/p/a")
    h.ok("create", S1, "/p/b")
    h.ok("delete", S1, "/p/a")
    h.field("/p", "cversion", 3, "two creates and one delete of children")
    h.field("/p", "pzxid", h.zxid, "the delete of /p/a is the last child change")
    h.field("/p", "num_children", 1, "one child is left")


def sequential_suffix(case: Case) -> None:
    """A sequential node's name ends in 10 digits: how many children its parent has had
    created so far (sequential or not); numbers are never reused after a delete."""
    h = Harness.student(case)
    h.ok("create", S1, "/q")
    got = h.ok("create", S1, "/q/n-", sequential=True)
    h.check(got == "/q/n-0000000000", f"{h.calls[-1]} replied {got!r}; expected '/q/n-0000000000'")
    h.ok("create", S1, "/q/plain")
    got = h.ok("create", S1, "/q/n-", sequential=True)
    h.check(got == "/q/n-0000000002", f"{h.calls[-1]} replied {got!r}; expected '/q/n-0000000002' "
            "(the parent had 2 children created before)")
    h.ok("delete", S1, "/q/n-0000000002")
    got = h.ok("create", S1, "/q/n-", sequential=True)
    h.check(got == "/q/n-0000000003", f"{h.calls[-1]} replied {got!r}; expected '/q/n-0000000003' "
            "(3 children were created under /q before; deletes do not give numbers back)")
    h.check(h.read("exists", "/q/n-0000000003") is not None, "the sequential node should exist")


def sequential_per_parent(case: Case) -> None:
    """Each parent numbers its own sequential children from 0: the number comes from the
    parent, not from a counter shared by the whole tree."""
    h = Harness.student(case)
    h.ok("create", S1, "/a")
    h.ok("create", S1, "/b")
    h.ok("create", S1, "/a/x-", sequential=True)
    h.ok("create", S1, "/a/x-", sequential=True)
    got = h.ok("create", S1, "/b/x-", sequential=True)
    h.check(got == "/b/x-0000000000", f"{h.calls[-1]} replied {got!r}; expected "
            "'/b/x-0000000000': /b has had no children yet")


def ephemeral_owner(case: Case) -> None:
    """An ephemeral node's Stat names its session in ephemeral_owner; a persistent one has 0."""
    h = Harness.student(case)
    h.ok("create", S2, "/e", ephemeral=True)
    h.ok("create", S2, "/p")
    h.field("/e", "ephemeral_owner", S2, "session 2 created /e as ephemeral")
    h.field("/p", "ephemeral_owner", 0, "/p is persistent")
    got = h.ok("create", S3, "/e-", ephemeral=True, sequential=True)
    h.field(got, "ephemeral_owner", S3, "session 3 created it as ephemeral")


def session_close_removes_ephemerals(case: Case) -> None:
    """close_session deletes exactly the ephemeral nodes of that session (their parents see
    the deletes), then replies; other sessions' nodes stay."""
    h = Harness.student(case)
    h.ok("create", S1, "/p")
    h.ok("create", S1, "/p/mine", ephemeral=True)
    h.ok("create", S1, "/mine2", ephemeral=True)
    h.ok("create", S2, "/p/theirs", ephemeral=True)
    h.ok("create", S1, "/p/persistent")
    got = h.ok("close_session", S1)
    h.check(got is None, f"{h.calls[-1]} replied with {got!r}; expected None")
    for path in ("/p/mine", "/mine2"):
        h.check(h.read("exists", path) is None, f"{path} was session 1's ephemeral: it must go")
    for path in ("/p/theirs", "/p/persistent"):
        h.check(h.read("exists", path) is not None, f"{path} is not session 1's ephemeral")
    h.field("/p", "cversion", 4, "three creates and one delete under /p")
    h.field("/p", "pzxid", h.zxid, "the close_session deleted a child of /p")


def watch_data(case: Case) -> None:
    """get_data with a watcher: NodeDataChanged on the next set_data, once (one-shot)."""
    h = Harness.student(case)
    h.ok("create", S1, "/a")
    h.read("get_data", "/a", S2)
    ev = h.events_of("set_data", S1, "/a", b"1")
    h.check(ev == [(S2, WatchedEvent(NODE_DATA_CHANGED, "/a"))],
            f"{h.calls[-1]} fired {ev!r}; expected [(2, WatchedEvent('NodeDataChanged', '/a'))]")
    ev = h.events_of("set_data", S1, "/a", b"2")
    h.check(ev == [], f"{h.calls[-1]} fired {ev!r}; a watch fires once, then it is gone")
    h.read("get_data", "/a", S2)
    h.read("get_data", "/a", S2)
    ev = h.events_of("set_data", S1, "/a", b"3")
    h.check(len(ev) == 1, f"{h.calls[-1]} fired {ev!r}; the same watcher set it twice but hears "
            "of the change once")


def watch_exists(case: Case) -> None:
    """exists with a watcher on a missing node: NodeCreated when it is created; on an
    existing node: NodeDataChanged or NodeDeleted."""
    h = Harness.student(case)
    h.check(h.read("exists", "/a", S2) is None, "exists('/a') should be None")
    ev = h.events_of("create", S1, "/a")
    h.check(ev == [(S2, WatchedEvent(NODE_CREATED, "/a"))],
            f"{h.calls[-1]} fired {ev!r}; expected [(2, WatchedEvent('NodeCreated', '/a'))]")
    h.read("exists", "/a", S3)
    ev = h.events_of("delete", S1, "/a")
    h.check(ev == [(S3, WatchedEvent(NODE_DELETED, "/a"))],
            f"{h.calls[-1]} fired {ev!r}; expected [(3, WatchedEvent('NodeDeleted', '/a'))]")


def watch_children(case: Case) -> None:
    """get_children with a watcher: NodeChildrenChanged on the parent when a child is
    created or deleted, once; a child's set_data does not fire it."""
    h = Harness.student(case)
    h.ok("create", S1, "/p")
    h.read("get_children", "/p", S2)
    ev = h.events_of("create", S1, "/p/a")
    h.check(ev == [(S2, WatchedEvent(NODE_CHILDREN_CHANGED, "/p"))],
            f"{h.calls[-1]} fired {ev!r}; expected [(2, WatchedEvent('NodeChildrenChanged', '/p'))]")
    ev = h.events_of("create", S1, "/p/b")
    h.check(ev == [], f"{h.calls[-1]} fired {ev!r}; the child watch was used up")
    h.read("get_children", "/p", S2)
    ev = h.events_of("set_data", S1, "/p/a", b"x")
    h.check(ev == [], f"{h.calls[-1]} fired {ev!r}; a child's data is not the parent's children")
    ev = h.events_of("delete", S1, "/p/a")
    h.check(ev == [(S2, WatchedEvent(NODE_CHILDREN_CHANGED, "/p"))],
            f"{h.calls[-1]} fired {ev!r}; expected [(2, WatchedEvent('NodeChildrenChanged', '/p'))]")


def watch_delete_order(case: Case) -> None:
    """A delete fires, in this order: NodeDeleted to the node's data watchers, NodeDeleted to
    its child watchers not yet told, NodeChildrenChanged to the parent's child watchers."""
    h = Harness.student(case)
    h.ok("create", S1, "/p")
    h.ok("create", S1, "/p/a")
    h.read("get_children", "/p", S3)
    h.read("get_children", "/p/a", S2)
    h.read("get_children", "/p/a", S1)
    h.read("get_data", "/p/a", S1)
    ev = h.events_of("delete", S1, "/p/a")
    want = [(S1, WatchedEvent(NODE_DELETED, "/p/a")), (S2, WatchedEvent(NODE_DELETED, "/p/a")),
            (S3, WatchedEvent(NODE_CHILDREN_CHANGED, "/p"))]
    h.check(ev == want, f"{h.calls[-1]} fired {ev!r}; expected {want!r} (watcher 1 set a data and "
            "a child watch: it hears NodeDeleted once)")


def watch_fired_before_reply(case: Case) -> None:
    """The events a write fires are sent before its reply: a client hears of a change
    before it hears that its own write is done (ZooKeeper's ordering guarantee)."""
    h = Harness.student(case)
    h.ok("create", S1, "/a")
    h.read("get_data", "/a", S1)
    h.read("get_data", "/a", S2)
    _, events, out = h.write("set_data", S1, "/a", b"x")
    h.check(len(events) == 2, f"{h.calls[-1]} fired {events!r}; expected two NodeDataChanged")
    h.check(isinstance(out[-1][1], Reply),
            f"{h.calls[-1]} sent, in this order: {out!r}; the Reply must come last")
    h.read("exists", "/b", S1)
    _, events, out = h.write("multi", S1, [Create("/b"), SetData("/a", b"y")])
    h.check(isinstance(out[-1][1], Reply) and len(events) == 1,
            f"{h.calls[-1]} sent, in this order: {out!r}; expected NodeCreated for /b, then the "
            "Reply")


def watch_session_close(case: Case) -> None:
    """Closing a session fires the watches on its ephemeral nodes and their parents."""
    h = Harness.student(case)
    h.ok("create", S1, "/p")
    h.ok("create", S1, "/p/e", ephemeral=True)
    h.read("exists", "/p/e", S2)
    h.read("get_children", "/p", S3)
    ev = h.events_of("close_session", S1)
    want = [(S2, WatchedEvent(NODE_DELETED, "/p/e")), (S3, WatchedEvent(NODE_CHILDREN_CHANGED, "/p"))]
    h.check(ev == want, f"{h.calls[-1]} fired {ev!r}; expected {want!r}")


def multi_results(case: Case) -> None:
    """A multi that works replies with one OpResult per op, as ZooKeeper's OpResults."""
    h = Harness.student(case)
    h.ok("create", S1, "/a")
    got = h.ok("multi", S1, [Create("/b", b"1"), SetData("/a", b"2"), Check("/a", 1),
                             Create("/s-", sequential=True), Delete("/b")])
    h.check(isinstance(got, list) and len(got) == 5, f"{h.calls[-1]} replied {got!r}; expected a "
            "list of 5 OpResults")
    st = h.stat("/a")
    want = [OpResult("create", path="/b"), OpResult("set_data", stat=st), OpResult("check"),
            OpResult("create", path="/s-0000000002"), OpResult("delete")]
    h.check(got == want, f"{h.calls[-1]} replied {got!r}; expected {want!r}")
    h.check(h.read("exists", "/b") is None, "/b was created and deleted by the multi")
    h.field("/a", "mzxid", h.zxid, "all ops of a multi share its zxid")


def multi_rollback(case: Case) -> None:
    """A multi whose op fails changes nothing: earlier ops are undone, no watch fires (and
    the watches stay set); results: Ok before the failing op, its error, then
    RuntimeInconsistency."""
    h = Harness.student(case)
    h.ok("create", S1, "/a", b"0")
    h.read("get_data", "/a", S2)
    h.read("exists", "/new", S2)
    before = h.stat("/a"), h.read("get_children", "/")
    reply, events, _ = h.write("multi", S1, [Create("/new"), SetData("/a", b"1"),
                                             Check("/a", 0), Delete("/a")])
    want = [OpResult("error", error=OK), OpResult("error", error=OK),
            OpResult("error", error=BAD_VERSION), OpResult("error", error=RUNTIME_INCONSISTENCY)]
    h.check(reply.value == want, f"{h.calls[-1]} replied {reply!r}; expected Reply({want!r})")
    h.check(events == [], f"{h.calls[-1]} failed but fired {events!r}")
    h.check(h.read("exists", "/new") is None, "the failed multi's create of /new must be undone")
    after = h.stat("/a"), h.read("get_children", "/")
    h.check(after == before, f"after the failed multi /a and / are {after!r}; expected them "
            f"unchanged: {before!r}")
    h.check(h.read("get_data", "/a")[0] == b"0", "the failed multi's set_data must be undone")
    ev = h.events_of("set_data", S1, "/a", b"2")
    h.check(ev == [(S2, WatchedEvent(NODE_DATA_CHANGED, "/a"))],
            f"{h.calls[-1]} fired {ev!r}; the watch set before the failed multi must still be set")


def multi_sees_own_writes(case: Case) -> None:
    """Each op of a multi sees the ops before it: create then set then check the new version."""
    h = Harness.student(case)
    got = h.ok("multi", S1, [Create("/a"), SetData("/a", b"x", 0), Check("/a", 1),
                             Create("/a/b"), Delete("/a/b", 0)])
    h.check(isinstance(got, list) and all(getattr(r, "op", "error") != "error" for r in got),
            f"{h.calls[-1]} replied {got!r}; every op should work")
    h.field("/a", "version", 1, "the multi set /a once")
    h.field("/a", "cversion", 2, "the multi created and deleted /a/b")
