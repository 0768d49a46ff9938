"""Quota bookkeeping in the data tree and enforcement at prep, through the sans-IO core."""

from __future__ import annotations

from zablab.node import quota
from zablab.node.datatree import DataTree
from zablab.node.options import ServerOptions
from zablab.node.protocol import Err
from zablab.node.testing import Bench


def _with_quota(limits: bytes, enforce: bool = False):
    b = Bench(options=ServerOptions(enforce_quota=enforce))
    c = b.client()
    c.connect()
    assert c.create("/app", b"12345").err == 0
    assert c.create("/app/x", b"1").err == 0
    # what zkCli's setquota does: parents, the limits, then a zeroed stats node
    assert c.create("/zookeeper/quota/app").err == 0
    assert c.create("/zookeeper/quota/app/zookeeper_limits", limits).err == 0
    assert c.create("/zookeeper/quota/app/zookeeper_stats", b"count=0,bytes=0").err == 0
    return b, c


def _usage(c) -> bytes:
    g = c.get("/zookeeper/quota/app/zookeeper_stats")
    return g.reader().buffer() or b""


def test_stats_follow_creates_deletes_and_set_data():
    b, c = _with_quota(b"count=10,bytes=-1")
    assert _usage(c) == b"count=2,bytes=6"  # recounted when the stats node appeared
    assert c.create("/app/y", b"abc").err == 0
    assert c.create("/app/x/deep", b"").err == 0
    assert c.set("/app", b"1").err == 0  # 5 bytes -> 1
    assert _usage(c) == b"count=4,bytes=5"
    assert c.delete("/app/y").err == 0
    assert _usage(c) == b"count=3,bytes=2"
    assert c.create("/elsewhere", b"zzz").err == 0  # outside the quota: no change
    assert _usage(c) == b"count=3,bytes=2"
    # a snapshot keeps the quota: the loaded tree goes on counting
    tree = DataTree.deserialize(b.core.tree.serialize())
    assert tree.quotas == {"/app"}
    assert tree.nodes["/zookeeper/quota/app/zookeeper_stats"].data == b"count=3,bytes=2"
    # deleting the limits node ends the bookkeeping
    assert c.delete("/zookeeper/quota/app/zookeeper_limits").err == 0
    assert c.create("/app/z", b"q").err == 0
    assert _usage(c) == b"count=3,bytes=2"


def test_hard_limits_refuse_only_with_enforce_quota():
    hard = quota.render({"count": -1, "bytes": -1, "countHardLimit": 3, "byteHardLimit": 8})
    assert hard == b"count=-1,bytes=-1=;byteHardLimit=8;countHardLimit=3"
    for enforce, want in ((True, Err.QUOTAEXCEEDED), (False, Err.OK)):
        b, c = _with_quota(hard, enforce)
        assert c.create("/app/y").err == Err.OK  # count 3: at the limit
        assert c.create("/app/z").err == want  # 4 > 3
        assert c.set("/app/x", b"123").err == Err.OK  # 5 + 3 = 8 bytes
        assert c.set("/app/x", b"1234").err == want
        if enforce:
            assert _usage(c) == b"count=3,bytes=8"


def test_soft_limits_log_and_allow(caplog):
    b, c = _with_quota(b"count=2,bytes=-1", enforce=True)
    with caplog.at_level("WARNING"):
        assert c.create("/app/y").err == Err.OK
        assert c.create("/app/z").err == Err.OK
    lines = [r.getMessage() for r in caplog.records if "Quota exceeded" in r.getMessage()]
    assert lines == ["Quota exceeded: /app [current count=3, softCountLimit=2]"]  # once


def test_stats_track_text_round_trips():
    assert quota.parse(b"count=-1,bytes=-1=;byteHardLimit=8;countHardLimit=3") == {
        "count": -1,
        "bytes": -1,
        "byteHardLimit": 8,
        "countHardLimit": 3,
    }
    assert quota.render(quota.parse(b"count=4,bytes=28")) == b"count=4,bytes=28"
    assert quota.quota_prefix({"/a", "/a/b"}, "/a/b/c") == "/a/b"
    assert quota.quota_prefix({"/a"}, "/ab") is None
