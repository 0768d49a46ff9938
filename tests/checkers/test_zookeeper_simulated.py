"""Oracle test: histories from a model of ZooKeeper's replication always pass; breaking one
session's order always fails.

The model: a leader assigns zxids in order; each server has applied a prefix of the writes and
catches up at random; sessions read from the server they are connected to, which is at least as
new as anything the session has seen (ZooKeeper refuses a reconnect to an older server); a
write is answered once the session's server has applied it; some writes crash (info) and
happen or not.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from zablab.checkers.zookeeper import check_zookeeper
from zablab.history.builder import HistoryBuilder
from zablab.history.jsonl import Op

E = 5 << 32


def simulate(seed: int, steps: int = 40) -> list[Op]:
    rnd = random.Random(seed)
    servers = [0, 0, 0]  # applied prefix length per server
    log: list[tuple[str, int]] = []  # (key, value) per zxid counter 1..n
    sessions = [{"server": i % 3, "point": 0, "busy": -1, "proc": i} for i in range(3)]
    next_proc = 3
    b = HistoryBuilder()
    value = 0

    def latest(key: str, upto: int) -> tuple[int | None, int]:
        for n in range(upto, 0, -1):
            if log[n - 1][0] == key:
                return log[n - 1][1], E + n
        return None, 0

    for step in range(steps):
        t = 100 * (step + 1)
        for s in range(3):  # followers catch up at random
            if rnd.random() < 0.3:
                servers[s] = rnd.randint(servers[s], len(log))
        i = rnd.randrange(3)
        sess = sessions[i]
        if sess["busy"] >= t:
            continue
        start = max(sess["busy"] + 1, t - rnd.randint(0, 150))
        end = t + rnd.randint(0, 150)
        sess["busy"] = end
        key = rnd.choice("xy")
        action = rnd.random()
        if action < 0.35:
            value += 1
            log.append((key, value))
            n = len(log)
            servers[0] = n  # the leader
            if rnd.random() < 0.15:  # crashed: the client never learns the outcome
                if rnd.random() < 0.5:
                    log.pop()
                    servers[0] = len(log)
                b.op(sess["proc"], "write", [key, value], start, None, session=i)
                sess["proc"], next_proc = next_proc, next_proc + 1
                continue
            s = sess["server"]
            servers[s] = max(servers[s], n)
            sess["point"] = max(sess["point"], n)
            b.op(sess["proc"], "write", [key, value], start, end, zxid=E + n, session=i)
        elif action < 0.9:
            s = sess["server"]
            v, z = latest(key, servers[s])
            sess["point"] = max(sess["point"], servers[s])
            b.op(sess["proc"], "read", [key, None], start, end, out=[key, v], zxid=z, session=i)
        else:  # reconnect to a server at least as new as the session's view
            ok = [s for s in range(3) if servers[s] >= sess["point"]]
            sess["server"] = rnd.choice(ok)
    t_end = 100 * (steps + 3)
    for j, key in enumerate("xy"):
        v, z = latest(key, len(log))
        at = t_end + 20 * j
        b.op(99, "read", [key, None], at, at + 10, out=[key, v], zxid=z, final=True)
    return b.ops()


def swap_session_reads(ops: list[Op]) -> list[Op] | None:
    """Swap the results of two reads of one key in one session that saw different versions."""
    reads = [o for o in ops if o.type == "ok" and o.f == "read" and o.process != 99]
    for a in reads:
        for c in reads:
            same = a.extra.get("session") == c.extra.get("session") and a.value[0] == c.value[0]
            if same and a.index < c.index and a.extra["zxid"] < c.extra["zxid"]:
                a.value, c.value = c.value, a.value
                a.extra["zxid"], c.extra["zxid"] = c.extra["zxid"], a.extra["zxid"]
                return ops
    return None


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_modelled_zookeeper_histories_pass(seed: int) -> None:
    r = check_zookeeper(simulate(seed))
    assert r.valid is True, r.details


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_swapping_a_sessions_reads_fails(seed: int) -> None:
    ops = swap_session_reads(simulate(seed))
    if ops is not None:
        assert check_zookeeper(ops).valid is False


def test_the_model_produces_stale_reads() -> None:
    """Guard against a model so tame that the pass test proves nothing."""
    assert sum(check_zookeeper(simulate(s)).details["stale-reads"] for s in range(30)) > 0
    assert sum(swap_session_reads(simulate(s)) is not None for s in range(30)) > 10
