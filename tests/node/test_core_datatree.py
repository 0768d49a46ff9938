"""Data tree semantics through the sans-IO core: stats, versions, sequential names, snapshots."""

from __future__ import annotations

from zablab.node.datatree import DataTree
from zablab.node.jute import Writer
from zablab.node.protocol import EPHEMERAL, EPHEMERAL_SEQUENTIAL, PERSISTENT_SEQUENTIAL, Err, OpCode
from zablab.node.testing import Bench
from zablab.node.txn import Txn

# Stat field order: czxid mzxid ctime mtime version cversion aversion owner dataLength numChildren pzxid
CZXID, MZXID, CTIME, MTIME, VERSION, CVERSION, AVERSION, OWNER, DLEN, NCHILD, PZXID = range(11)


def connected():
    b = Bench()
    c = b.client()
    c.connect()
    return b, c


def test_fresh_tree_matches_zookeeper_listing():
    b, c = connected()
    r = c.children("/zookeeper")
    assert r.err == 0
    assert r.reader().strings() == ["config", "quota"]
    # ZooKeeper 3.8: /zookeeper cversion -2 (children added without creates), config is
    # world-readable with aversion -1
    assert c.exists("/zookeeper").stat()[CVERSION] == -2
    cfg = c.exists("/zookeeper/config").stat()
    assert cfg[AVERSION] == -1


def test_create_get_set_stat_semantics():
    b, c = connected()
    r = c.create("/a", b"hello")
    assert r.err == 0
    rd = r.reader()
    assert rd.ustring() == "/a"
    st = r.stat(rd.pos)
    assert st[CZXID] == st[MZXID] == st[PZXID] == r.zxid
    assert st[VERSION] == 0 and st[DLEN] == 5 and st[OWNER] == 0
    s = c.set("/a", b"xy")
    st2 = s.stat()
    assert st2[VERSION] == 1 and st2[MZXID] == s.zxid and st2[CZXID] == st[CZXID]
    assert st2[DLEN] == 2
    assert c.set("/a", b"z", version=0).err == Err.BADVERSION
    assert c.set("/a", b"z", version=1).err == 0
    g = c.get("/a")
    assert g.reader().buffer() == b"z"
    assert c.get("/nope").err == Err.NONODE


def test_parent_cversion_counts_creates_and_deletes_and_seq_counts_creates():
    b, c = connected()
    c.create("/q")
    names = []
    for _ in range(2):
        names.append(c.create("/q/s", flags=PERSISTENT_SEQUENTIAL).reader().ustring())
    assert names == ["/q/s0000000000", "/q/s0000000001"]
    assert c.delete("/q/s0000000000").err == 0
    st = c.exists("/q").stat()
    assert st[CVERSION] == 3 and st[NCHILD] == 1
    # the sequence number counts creates only, as ZooKeeper's does
    assert c.create("/q/s", flags=PERSISTENT_SEQUENTIAL).reader().ustring() == "/q/s0000000002"
    assert c.exists("/q").stat()[CVERSION] == 4


def test_pzxid_moves_on_child_create_and_delete():
    b, c = connected()
    c.create("/p")
    r = c.create("/p/c")
    assert c.exists("/p").stat()[PZXID] == r.zxid
    d = c.delete("/p/c")
    assert c.exists("/p").stat()[PZXID] == d.zxid


def test_create_errors_as_zookeeper():
    b, c = connected()
    assert c.create("/x/y").err == Err.NONODE
    assert c.create("/").err == Err.NODEEXISTS
    assert c.create("noslash").err == Err.BADARGUMENTS
    assert c.create("/a/").err == Err.NONODE  # parent "/a" is looked up first
    c.create("/a")
    assert c.create("/a/").err == Err.BADARGUMENTS
    assert c.create("/a//b").err == Err.NONODE  # ZooKeeper takes "/a/" as the parent
    assert c.create("/a/.").err == Err.BADARGUMENTS
    assert c.create("/a/\u0001").err == Err.BADARGUMENTS
    assert c.create("/a", flags=9).err == Err.BADARGUMENTS
    assert c.create("/a", flags=5).err == Err.UNIMPLEMENTED  # TTL needs extended types
    e = c.create("/e", flags=EPHEMERAL)
    assert e.err == 0
    assert c.create("/e/c").err == Err.NOCHILDRENFOREPHEMERALS
    c.create("/a/b")
    assert c.delete("/a").err == Err.NOTEMPTY
    assert c.delete("/a/b", version=3).err == Err.BADVERSION
    assert c.delete("/zookeeper").err == Err.BADARGUMENTS
    assert c.delete("/").err == Err.BADARGUMENTS
    assert c.delete("abc").err == Err.BADARGUMENTS


def test_ephemeral_owner_and_ephemeral_sequential():
    b, c = connected()
    r = c.create("/e", flags=EPHEMERAL_SEQUENTIAL)
    rd = r.reader()
    # /zookeeper was not made by a create, so the root's create count starts at 0
    assert rd.ustring() == "/e0000000000"
    assert r.stat(rd.pos)[OWNER] == c.session_id


def test_serialize_round_trip_is_identical():
    b, c = connected()
    c.create("/a", b"1")
    c.create("/a/b", b"2")
    c.create("/e", b"3", flags=EPHEMERAL)
    c.set("/a", b"4")
    c.delete("/a/b")
    tree = b.core.tree
    data = tree.serialize()
    copy = DataTree.deserialize(data)
    assert copy.serialize() == data
    assert copy.ephemerals == tree.ephemerals
    assert copy.sessions == tree.sessions
    for p, n in tree.nodes.items():
        assert copy.nodes[p].stat() == n.stat()
        assert copy.nodes[p].children == n.children


def test_replaying_the_log_rebuilds_the_same_tree():
    b, c = connected()
    c.create("/a", b"1")
    c.create("/a/s", flags=PERSISTENT_SEQUENTIAL)
    c.create("/e", flags=EPHEMERAL)
    c.set("/a", b"2")
    c.create("/a", b"dup")  # an error txn is logged too
    c.close_session()
    replica = DataTree()
    for _zxid, payload in b.log:
        replica.apply(Txn.decode(payload), [])
    assert replica.serialize() == b.core.tree.serialize()
    assert "/e" not in replica.nodes


def test_error_writes_consume_a_zxid_like_zookeeper():
    b, c = connected()
    z1 = c.create("/a").zxid
    z2 = c.create("/a").zxid
    assert z2 == z1 + 1


def test_get_children2_and_sync():
    b, c = connected()
    c.create("/p")
    c.create("/p/b")
    c.create("/p/a")
    r = c.children("/p")
    rd = r.reader()
    assert rd.strings() == ["a", "b"]
    assert r.stat(rd.pos)[NCHILD] == 2
    s = c.call(OpCode.SYNC, Writer().ustring("/p").bytes())
    assert s.err == 0 and s.reader().ustring() == "/p"


def test_null_data_stays_null():
    b, c = connected()
    w = Writer().ustring("/n").buffer(None).int(1).int(31).ustring("world").ustring("anyone").int(0)
    assert c.call(OpCode.CREATE, w.bytes()).err == 0
    g = c.get("/n")
    rd = g.reader()
    assert rd.buffer() is None
    assert g.stat(rd.pos)[DLEN] == 0
    copy = DataTree.deserialize(b.core.tree.serialize())
    assert copy.nodes["/n"].data is None


def test_emptied_containers_are_reaped_and_unused_ones_stay():
    from zablab.node.protocol import CONTAINER_EPHEMERAL_OWNER

    b, c = connected()
    r = c.create("/box", op=OpCode.CREATE_CONTAINER)
    assert r.err == 0
    rd = r.reader()
    rd.ustring()
    assert r.stat(rd.pos)[OWNER] == 0  # clients see 0, as from ZooKeeper
    assert b.core.tree.nodes["/box"].owner == CONTAINER_EPHEMERAL_OWNER
    c.create("/unused", op=OpCode.CREATE_CONTAINER)
    c.create("/box/item")
    c.delete("/box/item")
    b.advance(59_000)  # (the client's session expires meanwhile: no matter)
    assert "/box" in b.core.tree.nodes
    b.advance(1_000)
    assert "/box" not in b.core.tree.nodes
    assert "/unused" in b.core.tree.nodes and b.core.tree.containers == {"/unused"}
    late = b.client()
    late.connect()
    assert late.create("/unused/kid").err == 0  # containers may hold children


def test_container_flag_on_create_makes_a_persistent_node():
    """create and create2 carry no container bit into their txn (ZooKeeper's CreateTxn has
    none): flag 4 makes a persistent node, which the reaper must never delete."""
    from zablab.node.protocol import CONTAINER

    b, c = connected()
    for op, path in ((OpCode.CREATE, "/one"), (OpCode.CREATE2, "/two")):
        assert c.create(path, b"kept", flags=CONTAINER, op=op).err == 0
        assert c.create(path + "/kid").err == 0
        assert c.delete(path + "/kid").err == 0
    b.advance(130_000)
    assert b.core.tree.containers == set()
    late = b.client()
    late.connect()
    for path in ("/one", "/two"):
        g = late.get(path)
        assert g.err == 0 and g.reader().buffer() == b"kept"
        assert late.create(path + "/again").err == 0


def test_create_modes_need_a_matching_opcode_as_in_zookeeper():
    """The error codes ZooKeeper 3.8 answers for each create opcode and flag (measured; the
    differential test in tests/compat compares them live)."""
    from zablab.node.options import ServerOptions

    for extended in (False, True):
        b = Bench(options=ServerOptions(extended_types=extended))
        c = b.client()
        c.connect()
        ttl_mode = Err.OK if extended else Err.UNIMPLEMENTED
        bad_ttl = Err.BADARGUMENTS if extended else Err.UNIMPLEMENTED
        for op in (OpCode.CREATE, OpCode.CREATE2, OpCode.CREATE_CONTAINER):
            for flags, want in ((-1, -8), (0, 0), (4, 0), (5, bad_ttl), (6, bad_ttl), (7, -8)):
                assert c.create(f"/n{op}-{flags}", flags=flags, op=op).err == want, (op, flags)
        for flags in range(-1, 8):
            for ttl in (-1, 0, 1000):
                r = c.create(f"/t{flags}{ttl}", flags=flags, op=OpCode.CREATE_TTL, ttl=ttl)
                want = Err.BADARGUMENTS
                if flags in (5, 6):
                    want = ttl_mode if ttl > 0 else bad_ttl
                assert r.err == want, (flags, ttl, extended)


def test_ttl_nodes_are_reaped_once_childless_and_older_than_their_ttl():
    from zablab.node.options import ServerOptions
    from zablab.node.protocol import PERSISTENT_SEQUENTIAL_WITH_TTL, PERSISTENT_WITH_TTL

    b = Bench(options=ServerOptions(extended_types=True, container_check_ms=100))
    cl = b.client()
    cl.connect(timeout=40_000)
    r = cl.create("/t", b"x", flags=PERSISTENT_WITH_TTL, op=OpCode.CREATE_TTL, ttl=1000)
    assert r.err == 0
    rd = r.reader()
    rd.ustring()
    assert r.stat(rd.pos)[OWNER] == 0  # clients see 0 for a TTL node, as from ZooKeeper
    seq = cl.create("/s-", flags=PERSISTENT_SEQUENTIAL_WITH_TTL, op=OpCode.CREATE_TTL, ttl=3000)
    assert seq.err == 0 and seq.reader().ustring() == "/s-0000000001"
    assert cl.create("/t/kid").err == 0
    b.advance(1500)
    assert "/t" in b.core.tree.nodes  # has a child
    assert cl.delete("/t/kid").err == 0
    b.advance(200)
    assert "/t" not in b.core.tree.nodes
    assert "/s-0000000001" in b.core.tree.nodes
    b.advance(1500)
    assert "/s-0000000001" not in b.core.tree.nodes and b.core.tree.ttls == set()
