"""Sessions (virtual clock), watches and per-session ordering through the sans-IO core."""

from __future__ import annotations

from zablab.node.jute import Writer
from zablab.node.protocol import EPHEMERAL, Err, Event, OpCode
from zablab.node.testing import Bench, Notification, Reply


def test_timeout_is_clamped_to_2_and_20_ticks():
    b = Bench(tick_ms=200)
    assert b.client().connect(timeout=10)[0] == 400
    assert b.client().connect(timeout=999_999)[0] == 4000
    assert b.client().connect(timeout=1000)[0] == 1000


def test_expiry_deletes_ephemerals_and_fires_watches():
    b = Bench(tick_ms=200)
    owner, watcher = b.client(), b.client()
    owner.connect(timeout=1000)
    watcher.connect(timeout=4000)
    owner.create("/e", flags=EPHEMERAL)
    watcher.exists("/e", watch=True)
    watcher.children("/", watch=True)
    b.advance(800)
    assert "/e" in b.core.tree.nodes  # not yet: 1000 ms rounded up to the next tick
    watcher.send_frame(Writer().int(-2).int(OpCode.PING).bytes())  # keep the watcher alive
    b.advance(600)
    assert "/e" not in b.core.tree.nodes
    assert owner.closed
    events = [m for m in watcher.read() if isinstance(m, Notification)]
    assert [(e.type, e.path) for e in events] == [
        (Event.NODE_DELETED, "/e"),
        (Event.NODE_CHILDREN_CHANGED, "/"),
    ]
    # the expired session cannot come back: ZooKeeper answers timeout 0, session 0, then closes
    again = b.client()
    assert again.connect(session_id=owner.session_id, passwd=owner.passwd)[:2] == (0, 0)
    assert again.closed


def test_activity_keeps_a_session_alive():
    b = Bench(tick_ms=200)
    c = b.client()
    c.connect(timeout=1000)
    for _ in range(10):
        b.advance(400)
        c.send_frame(Writer().int(-2).int(OpCode.PING).bytes())
    assert not c.closed
    assert c.session_id in b.core.tracker.sessions


def test_resume_with_password_and_reject_wrong_password():
    b = Bench()
    c = b.client()
    c.connect()
    c.create("/e", flags=EPHEMERAL)
    thief = b.client()
    assert thief.connect(session_id=c.session_id, passwd=b"x" * 16)[1] == 0
    assert thief.closed
    again = b.client()
    timeout, sid, _ = again.connect(session_id=c.session_id, passwd=c.passwd)
    assert sid == c.session_id and timeout > 0
    assert c.closed  # the old connection of the session is dropped
    assert again.exists("/e").err == 0


def test_close_session_replies_then_closes_and_deletes_ephemerals():
    b = Bench()
    c = b.client()
    c.connect()
    c.create("/e", flags=EPHEMERAL)
    r = c.close_session()
    assert r.err == 0
    assert c.closed
    assert "/e" not in b.core.tree.nodes
    assert c.session_id not in b.core.tree.sessions


def test_watches_are_one_shot_and_events_precede_the_write_reply():
    b = Bench()
    c = b.client()
    c.connect()
    c.create("/w", b"0")
    c.get("/w", watch=True)
    xid = c.request(OpCode.SET_DATA, Writer().ustring("/w").buffer(b"1").int(-1).bytes())
    msgs = c.read()
    assert isinstance(msgs[0], Notification) and msgs[0].type == Event.NODE_DATA_CHANGED
    assert isinstance(msgs[1], Reply) and msgs[1].xid == xid
    c.set("/w", b"2")
    assert not [m for m in c.read() if isinstance(m, Notification)]


def test_one_event_per_watcher_for_a_deleted_node():
    b = Bench()
    c, other = b.client(), b.client()
    c.connect()
    other.connect()
    c.create("/d")
    c.exists("/d", watch=True)
    c.get("/d", watch=True)
    c.children("/d", watch=True)
    other.delete("/d")
    ev = [m for m in c.read() if isinstance(m, Notification)]
    assert [(e.type, e.path) for e in ev] == [(Event.NODE_DELETED, "/d")]


def test_exists_watch_on_missing_node_fires_on_create():
    b = Bench()
    c, other = b.client(), b.client()
    c.connect()
    other.connect()
    assert c.exists("/later", watch=True).err == Err.NONODE
    assert c.get("/later2", watch=True).err == Err.NONODE  # no watch left by getData
    other.create("/later")
    other.create("/later2")
    ev = [(m.type, m.path) for m in c.read() if isinstance(m, Notification)]
    assert ev == [(Event.NODE_CREATED, "/later")]


def test_reads_wait_behind_the_sessions_earlier_writes():
    b = Bench()
    c = b.client()
    c.connect()
    b.auto_commit = False  # hold txns back, as a slow fsync would
    w = c.request(OpCode.CREATE2, _create("/f"))
    r = c.request(OpCode.GET_DATA, Writer().ustring("/f").bool(False).bytes())
    assert c.read() == []  # the read waits for the write
    b.commit()
    msgs = c.read()
    assert [m.xid for m in msgs] == [w, r]
    assert msgs[1].err == 0  # and sees it


def _create(path: str) -> bytes:
    return (
        Writer()
        .ustring(path)
        .buffer(b"")
        .int(1)
        .int(31)
        .ustring("world")
        .ustring("anyone")
        .int(0)
        .bytes()
    )


def test_set_watches_re_arms_or_fires_by_relative_zxid():
    b = Bench()
    c, other = b.client(), b.client()
    c.connect()
    other.connect()
    z = other.create("/k", b"0").zxid
    other.create("/gone")
    other.delete("/gone")
    later = other.set("/k", b"1").zxid
    body = (
        Writer().long(z).strings(["/k", "/gone"]).strings(["/k", "/absent"]).strings(["/"]).bytes()
    )
    c.request(OpCode.SET_WATCHES, body, xid=-8)
    msgs = c.read()
    ev = [(m.type, m.path) for m in msgs if isinstance(m, Notification)]
    assert ev == [
        (Event.NODE_DATA_CHANGED, "/k"),
        (Event.NODE_DELETED, "/gone"),
        (Event.NODE_CREATED, "/k"),
        (Event.NODE_CHILDREN_CHANGED, "/"),
    ]
    assert isinstance(msgs[-1], Reply) and msgs[-1].xid == -8
    # /absent was re-armed as an exist watch
    other.create("/absent")
    ev = [(m.type, m.path) for m in c.read() if isinstance(m, Notification)]
    assert ev == [(Event.NODE_CREATED, "/absent")]
    assert later > z


def test_check_and_remove_watches():
    b = Bench()
    c = b.client()
    c.connect()
    c.create("/r")
    c.get("/r", watch=True)
    body = Writer().ustring("/r").int(2).bytes()
    assert c.call(OpCode.CHECK_WATCHES, body).err == 0
    assert c.call(OpCode.REMOVE_WATCHES, body).err == 0
    assert c.call(OpCode.CHECK_WATCHES, body).err == Err.NOWATCHER


def test_closed_connection_drops_its_watches():
    b = Bench()
    c, other = b.client(), b.client()
    c.connect()
    other.connect()
    c.create("/x")
    c.get("/x", watch=True)
    b.core.closed(c.cid)
    assert b.core.watches.count() == 0
    other.set("/x", b"1")


def test_sync_barrier_holds_the_sync_and_later_reads():
    b = Bench()
    c = b.client()
    c.connect()
    tokens: list[int] = []
    b.core.sync_barrier = tokens.append
    s = c.request(OpCode.SYNC, Writer().ustring("/").bytes())
    g = c.request(OpCode.EXISTS, Writer().ustring("/").bool(False).bytes())
    assert c.read() == [] and len(tokens) == 1
    b.core.synced(tokens[0])
    b.pump()
    assert [m.xid for m in c.read()] == [s, g]


def test_drop_clients_and_install_tree():
    from zablab.node.datatree import DataTree

    b = Bench()
    c = b.client()
    c.connect()
    c.create("/x")
    b.core.drop_clients("leader changed")
    b.pump()
    assert c.closed
    fresh = DataTree()
    b.core.install_tree(fresh)
    assert "/x" not in b.core.tree.nodes and b.core.prep.tree is fresh
    assert c.session_id not in b.core.tracker.sessions


def _add_watch(c, path: str, mode: int):
    return c.call(OpCode.ADD_WATCH, Writer().ustring(path).int(mode).bytes())


def _events(c):
    return [(m.type, m.path) for m in c.read() if isinstance(m, Notification)]


def test_persistent_recursive_watch_sees_the_subtree_but_no_child_events():
    b = Bench()
    c, other = b.client(), b.client()
    c.connect()
    other.connect()
    other.create("/r")
    assert _add_watch(c, "/r", 1).err == 0
    other.create("/r/a")
    other.create("/r/a/b")
    other.set("/r/a/b", b"x")
    other.delete("/r/a/b")
    other.set("/r", b"y")
    assert _events(c) == [
        (Event.NODE_CREATED, "/r/a"),
        (Event.NODE_CREATED, "/r/a/b"),
        (Event.NODE_DATA_CHANGED, "/r/a/b"),
        (Event.NODE_DELETED, "/r/a/b"),
        (Event.NODE_DATA_CHANGED, "/r"),
    ]
    other.set("/r", b"z")  # still armed
    assert _events(c) == [(Event.NODE_DATA_CHANGED, "/r")]


def test_persistent_watch_sees_its_node_and_children_and_last_mode_wins():
    b = Bench()
    c, other = b.client(), b.client()
    c.connect()
    other.connect()
    other.create("/p")
    _add_watch(c, "/p", 1)
    _add_watch(c, "/p", 0)  # replaces the recursive registration (ZooKeeper 3.8)
    other.create("/p/a")
    other.create("/p/a/deep")
    other.set("/p", b"1")
    other.set("/p", b"2")
    assert _events(c) == [
        (Event.NODE_CHILDREN_CHANGED, "/p"),
        (Event.NODE_DATA_CHANGED, "/p"),
        (Event.NODE_DATA_CHANGED, "/p"),
    ]
    assert _add_watch(c, "/p", 7).err == Err.MARSHALLINGERROR
    body = Writer().ustring("/p").int(4).bytes()
    assert c.call(OpCode.REMOVE_WATCHES, body).err == Err.MARSHALLINGERROR
    assert c.call(OpCode.REMOVE_WATCHES, Writer().ustring("/p").int(3).bytes()).err == 0
    other.set("/p", b"3")
    assert _events(c) == []
