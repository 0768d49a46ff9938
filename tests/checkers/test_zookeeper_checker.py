"""ZooKeeper's guarantees: histories that must fail and ZooKeeper-legal ones that must pass."""

from __future__ import annotations

from zablab.checkers.zookeeper import check_zookeeper
from zablab.history.builder import HistoryBuilder

E = 1 << 32  # epoch 1 zxids: E + n


def anomalies(result) -> set[str]:
    return set(result.details["anomaly-types"])


def two_writes() -> HistoryBuilder:
    """Session a writes 1 then 2, both acknowledged."""
    b = HistoryBuilder()
    b.op(0, "write", 1, 0, 10, zxid=E + 1, session="a")
    b.op(0, "write", 2, 20, 30, zxid=E + 2, session="a")
    return b


def test_stale_but_monotonic_reads_from_a_lagging_follower_pass() -> None:
    b = two_writes()
    # session b reads the old value long after 2 was acknowledged: stale, legal in ZooKeeper
    b.op(1, "read", None, 40, 50, out=1, zxid=E + 1, session="b")
    b.op(1, "read", None, 60, 70, out=1, zxid=E + 1, session="b")
    b.op(1, "read", None, 80, 90, out=2, zxid=E + 2, session="b")
    r = check_zookeeper(b.ops())
    assert r.valid is True, r.details
    assert r.details["stale-reads"] == 2


def test_plain_linearizability_would_reject_the_stale_history() -> None:
    """The same history is not linearizable: the stale read follows the ack of write 2."""
    try:
        from zablab.checkers.linearizable import check_linearizable
        from zablab.checkers.models import get_model
    except ImportError:
        import pytest

        pytest.skip("linearizability checker not present yet")
    b = two_writes()
    b.op(1, "read", None, 40, 50, out=1, zxid=E + 1, session="b")
    assert check_linearizable(b.ops(), get_model("register"), 10.0).valid is False
    assert check_zookeeper(b.ops()).valid is True


def test_stale_read_going_backwards_within_a_session_fails() -> None:
    b = two_writes()
    b.op(1, "read", None, 40, 50, out=2, zxid=E + 2, session="b")
    b.op(1, "read", None, 60, 70, out=1, zxid=E + 1, session="b")
    r = check_zookeeper(b.ops())
    assert r.valid is False
    assert "session-went-backwards" in anomalies(r)


def test_going_backwards_across_a_reconnect_is_caught_by_session_id() -> None:
    b = two_writes()
    # same session, new process after reconnecting to another server
    b.op(1, "read", None, 40, 50, out=2, zxid=E + 2, session="b", node="n1")
    b.op(7, "read", None, 60, 70, out=1, zxid=E + 1, session="b", node="n3")
    assert "session-went-backwards" in anomalies(check_zookeeper(b.ops()))
    # different sessions may see different (stale) states
    c = two_writes()
    c.op(1, "read", None, 40, 50, out=2, zxid=E + 2, session="b")
    c.op(7, "read", None, 60, 70, out=1, zxid=E + 1, session="c")
    assert check_zookeeper(c.ops()).valid is True


def test_not_reading_own_write_fails() -> None:
    b = two_writes()
    b.op(0, "read", None, 40, 50, out=1, zxid=E + 1, session="a")
    assert "session-went-backwards" in anomalies(check_zookeeper(b.ops()))


def test_other_keys_move_the_session_forward() -> None:
    b = HistoryBuilder()
    b.op(0, "write", ["x", 1], 0, 10, zxid=E + 1, session="a")
    b.op(0, "write", ["x", 2], 20, 30, zxid=E + 2, session="a")
    b.op(0, "write", ["y", 9], 40, 50, zxid=E + 3, session="a")
    b.op(1, "read", ["y", None], 60, 70, out=["y", 9], zxid=E + 3, session="b")
    b.op(1, "read", ["x", None], 80, 90, out=["x", 1], zxid=E + 1, session="b")
    r = check_zookeeper(b.ops())
    assert "session-went-backwards" in anomalies(r)


def test_read_of_a_value_never_written_fails() -> None:
    b = two_writes()
    b.op(1, "read", None, 40, 50, out=3, zxid=E + 3, session="b")
    assert "read-of-unwritten-value" in anomalies(check_zookeeper(b.ops()))


def test_read_of_a_failed_write_fails() -> None:
    b = two_writes()
    b.op(2, "write", 5, 32, 35, type="fail", session="c")
    b.op(1, "read", None, 40, 50, out=5, zxid=E + 3, session="b")
    assert "read-of-failed-write" in anomalies(check_zookeeper(b.ops()))


def test_read_from_the_future_fails() -> None:
    b = HistoryBuilder()
    b.op(0, "write", 1, 0, 10, zxid=E + 1, session="a")
    b.op(1, "read", None, 20, 30, out=2, zxid=E + 2, session="b")
    b.op(0, "write", 2, 40, 50, zxid=E + 2, session="a")
    assert "read-from-future" in anomalies(check_zookeeper(b.ops()))


def test_two_writes_with_the_same_zxid_fail() -> None:
    b = HistoryBuilder()
    b.op(0, "write", 1, 0, 10, zxid=E + 1, session="a")
    b.op(1, "write", 2, 0, 10, zxid=E + 1, session="b")
    assert "duplicate-zxid" in anomalies(check_zookeeper(b.ops()))


def test_read_value_that_differs_from_the_write_at_that_zxid_fails() -> None:
    b = two_writes()
    b.op(1, "read", None, 40, 50, out=7, zxid=E + 2, session="b")
    assert "read-value-mismatch" in anomalies(check_zookeeper(b.ops()))


def test_lost_acknowledged_write_at_final_read_fails() -> None:
    b = two_writes()
    b.op(5, "read", None, 100, 110, out=1, zxid=E + 1, session="z", final=True)
    r = check_zookeeper(b.ops())
    assert r.valid is False
    assert "lost-write" in anomalies(r)
    ok = two_writes()
    ok.op(5, "read", None, 100, 110, out=2, zxid=E + 2, session="z", final=True)
    assert check_zookeeper(ok.ops()).valid is True


def test_write_order_against_real_time_fails() -> None:
    b = HistoryBuilder()
    b.op(0, "write", 1, 0, 10, zxid=E + 5, session="a")
    b.op(1, "write", 2, 20, 30, zxid=E + 4, session="b")
    assert "write-order-violates-real-time" in anomalies(check_zookeeper(b.ops()))


def test_concurrent_writes_may_take_either_order() -> None:
    b = HistoryBuilder()
    b.op(0, "write", 1, 0, 30, zxid=E + 5, session="a")
    b.op(1, "write", 2, 10, 20, zxid=E + 4, session="b")
    b.op(2, "read", None, 40, 50, out=1, zxid=E + 5, session="c")
    assert check_zookeeper(b.ops()).valid is True


def test_session_write_must_follow_what_the_session_saw() -> None:
    b = two_writes()
    b.op(1, "read", None, 40, 50, out=2, zxid=E + 2, session="b")
    b.op(1, "write", 3, 60, 70, zxid=E + 1, session="b")
    r = check_zookeeper(b.ops())
    assert r.valid is False
    assert "session-write-order" in anomalies(r)


def test_server_last_zxid_behind_the_session_fails() -> None:
    b = two_writes()
    b.op(1, "read", None, 40, 50, out=2, zxid=E + 2, last_zxid=E + 2, session="b")
    b.op(1, "read", None, 60, 70, out=2, zxid=E + 2, last_zxid=E + 1, session="b")
    assert "session-went-backwards" in anomalies(check_zookeeper(b.ops()))


def test_crashed_write_revealed_by_a_read_is_placed_by_its_zxid() -> None:
    b = two_writes()
    b.op(2, "write", 3, 32, None, session="c")  # crashed: never completed
    b.op(1, "read", None, 40, 50, out=3, zxid=E + 3, session="b")
    b.op(1, "read", None, 60, 70, out=3, zxid=E + 3, session="b")
    assert check_zookeeper(b.ops()).valid is True
    bad = two_writes()
    bad.op(2, "write", 3, 32, None, session="c")
    bad.op(1, "read", None, 40, 50, out=3, zxid=E + 3, session="b")
    bad.op(1, "read", None, 60, 70, out=2, zxid=E + 2, session="b")
    assert "session-went-backwards" in anomalies(check_zookeeper(bad.ops()))


def test_cas_precondition_in_zxid_order() -> None:
    b = two_writes()
    b.op(1, "cas", [2, 3], 40, 50, zxid=E + 3, session="b")
    assert check_zookeeper(b.ops()).valid is True
    bad = two_writes()
    bad.op(1, "cas", [1, 3], 40, 50, zxid=E + 3, session="b")
    assert "cas-precondition" in anomalies(check_zookeeper(bad.ops()))


def test_initial_value_reads() -> None:
    b = HistoryBuilder()
    b.op(1, "read", None, 0, 5, out=None, session="b")
    b.op(0, "write", 1, 10, 20, zxid=E + 1, session="a")
    b.op(1, "read", None, 30, 40, out=None, session="b")  # stale, still the missing node
    assert check_zookeeper(b.ops()).valid is True
    bad = HistoryBuilder()
    bad.op(0, "write", 1, 10, 20, zxid=E + 1, session="a")
    bad.op(0, "read", None, 30, 40, out=None, session="a")
    assert "session-went-backwards" in anomalies(check_zookeeper(bad.ops()))


def test_history_without_zxids_is_not_called_valid() -> None:
    b = HistoryBuilder()
    b.op(0, "write", 1, 0, 10)
    b.op(1, "read", None, 20, 30, out=1)
    r = check_zookeeper(b.ops())
    assert r.valid == "unknown"
    assert "zxid" in r.details["reason"]
    bad = HistoryBuilder()
    bad.op(0, "write", 1, 0, 10)
    bad.op(1, "read", None, 20, 30, out=4)
    assert check_zookeeper(bad.ops()).valid is False


def test_zxids_as_hex_strings_are_accepted() -> None:
    b = HistoryBuilder()
    b.op(0, "write", 1, 0, 10, zxid="0x100000001", session="a")
    b.op(0, "write", 2, 20, 30, zxid="0x100000002", session="a")
    b.op(0, "read", None, 40, 50, out=1, zxid="0x100000001", session="a")
    assert "session-went-backwards" in anomalies(check_zookeeper(b.ops()))


def test_initial_version_seen_with_and_without_its_zxid() -> None:
    b = HistoryBuilder()
    b.op(1, "read", None, 0, 5, out="init", zxid=E + 1, session="b")  # the node's create zxid
    b.op(0, "write", "v", 10, 20, zxid=E + 2, session="a")
    b.op(1, "read", None, 30, 40, out="init", session="b")  # no stat recorded, still stale-legal
    assert check_zookeeper(iter(b.ops()), initial="init").valid is True


def test_key_field_separates_registers() -> None:
    b = HistoryBuilder()
    b.op(0, "write", 1, 0, 10, key="/a", zxid=E + 1, session="s")
    b.op(0, "write", 1, 20, 30, key="/b", zxid=E + 2, session="s")
    b.op(0, "read", None, 40, 50, out=1, key="/a", zxid=E + 1, session="s")
    assert check_zookeeper(b.ops()).valid is True
    b.op(0, "write", 2, 60, 70, key="/a", zxid=E + 3, session="s")
    b.op(0, "read", None, 80, 90, out=1, key="/a", zxid=E + 1, session="s")
    assert "session-went-backwards" in anomalies(check_zookeeper(b.ops()))


def test_read_older_than_its_servers_state_fails() -> None:
    b = two_writes()
    b.op(1, "read", None, 40, 50, out=1, zxid=E + 1, last_zxid=E + 1, session="b")
    assert check_zookeeper(b.ops()).valid is True  # a lagging server, honestly stale
    b.op(2, "read", None, 60, 70, out=1, zxid=E + 1, last_zxid=E + 2, session="c")
    assert "read-older-than-server-state" in anomalies(check_zookeeper(b.ops()))
    c = two_writes()
    c.op(1, "read", None, 40, 50, out=2, zxid=E + 2, last_zxid=E + 1, session="b")
    assert "read-from-future" in anomalies(check_zookeeper(c.ops()))
