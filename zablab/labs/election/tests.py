"""The election lab's tests. Each takes a case (`case.student("election.py")`, `case.seed`) and
raises AssertionError with an explanation when the student's code is wrong.

Every test starts its own 3-node zablab ensemble (under a second) and fenced store; the
failover tests also run each candidate in a process of its own and break it for real: kill -9,
SIGSTOP past the session timeout, a cut between it and the ensemble, a dead ZooKeeper leader.
"""

from __future__ import annotations

import inspect
import random
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any, Protocol

from kazoo.client import KazooClient
from kazoo.exceptions import ConnectionLoss

from zablab.checkers.result import Result
from zablab.labs.election.cluster import GradingCluster, wait_for

STUDENT_FILE = "election.py"
SLACK = 2.0  # a new primary must work within session timeout + this


class CaseLike(Protocol):
    seed: int

    def student(self, filename: str) -> ModuleType: ...


def _sid(zk: KazooClient) -> str:
    return f"{zk.client_id[0]:#x}"


def _explain(r: Result, what: str) -> str:
    lines = [f"{what}:"]
    for kind in r.details.get("failures", []):
        for p in r.details.get(kind, [])[:3]:
            lines.append(f"- {kind}: {p['detail']}")
    if r.valid == "unknown":
        lines.append(f"- could not judge: {r.details.get('reason')}")
    return "\n".join(lines)


def _assert_valid(c: GradingCluster, what: str, **opts: Any) -> None:
    r = c.check(**opts)
    assert r.valid is True, _explain(r, what)


def _candidates(
    mod: ModuleType, cls: str, c: GradingCluster, path: str, n: int
) -> list[tuple[KazooClient, Any]]:
    out = []
    for i in range(n):
        zk = c.client()
        out.append((zk, getattr(mod, cls)(zk, path, f"c{i}")))
    return out


def _leaders(cands: list[tuple[KazooClient, Any]]) -> list[int]:
    return [i for i, (_, e) in enumerate(cands) if e.is_leader()]


def _race(
    cands: list[tuple[KazooClient, Any]], timeout: float, then: Callable[[], Any] | None = None
) -> list[bool]:
    """Every candidate waits for leadership at once, as they would in separate processes;
    `then` runs once they all wait."""
    got = [False] * len(cands)

    def one(i: int) -> None:
        got[i] = bool(cands[i][1].wait_for_leadership(timeout=timeout))

    ts = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(len(cands))]
    for t in ts:
        t.start()
    if then is not None:
        time.sleep(0.2)
        then()
    for t in ts:
        t.join(timeout + 5)
    return got


ELECTION_METHODS = {
    "__init__": ["self", "zk", "path", "name"],
    "volunteer": ["self"],
    "wait_for_leadership": ["self", "timeout"],
    "is_leader": ["self"],
    "token": ["self"],
    "resign": ["self"],
}
FAILOVER_METHODS = {
    "__init__": ["self", "zk", "path", "store", "scheme", "name", "interval"],
    "run": ["self", "stop"],
}


def api_signatures(case: CaseLike) -> None:
    """election.py defines SmallestNodeElection, UniqueNodeElection and Failover with the
    methods and parameters the tests call (names as in the starter)."""
    mod = case.student(STUDENT_FILE)
    for cls_name, methods in (
        ("SmallestNodeElection", ELECTION_METHODS),
        ("UniqueNodeElection", ELECTION_METHODS),
        ("Failover", FAILOVER_METHODS),
    ):
        cls = getattr(mod, cls_name, None)
        assert inspect.isclass(cls), f"{STUDENT_FILE} defines no class {cls_name}"
        for name, params in methods.items():
            fn = getattr(cls, name, None)
            assert callable(fn), f"{cls_name} has no method {name}"
            got = list(inspect.signature(fn).parameters)
            assert got == params, f"{cls_name}.{name} takes {got}; the tests pass {params}"


# -- scheme 1: the smallest sequential node leads ---------------------------------------------


def smallest_one_leader(case: CaseLike) -> None:
    """Scheme 1: of several candidates exactly one leads, the one with the smallest sequential
    node, and its token is that node's czxid."""
    mod = case.student(STUDENT_FILE)
    n = random.Random(case.seed).randint(3, 5)
    with GradingCluster() as c:
        cands = _candidates(mod, "SmallestNodeElection", c, "/election", n)
        nodes = [e.volunteer() for _, e in cands]
        got = _race(cands, 0.5)
        assert got.count(True) == 1, (
            f"{got.count(True)} of {n} candidates say they lead after wait_for_leadership; "
            "exactly one must (the smallest node)"
        )
        children = sorted(cands[0][0].get_children("/election"), key=lambda s: s[-10:])
        assert len(children) == n, f"{n} candidates made {len(children)} nodes: {children}"
        i = got.index(True)
        assert nodes[i].endswith(children[0]), (
            f"candidate {i} ({nodes[i]}) leads but the smallest node is {children[0]}"
        )
        assert _leaders(cands) == [i], f"is_leader() is true for {_leaders(cands)}, not [{i}]"
        stat = cands[0][0].exists(nodes[i])
        tok = cands[i][1].token()
        assert tok == stat.czxid, f"token() is {tok}; the leader's node has czxid {stat.czxid}"


def smallest_succession(case: CaseLike) -> None:
    """Scheme 1: when the leader resigns, the next candidate in creation order leads within
    a second, and so on down the line."""
    mod = case.student(STUDENT_FILE)
    n = random.Random(case.seed).randint(3, 4)
    with GradingCluster() as c:
        cands = _candidates(mod, "SmallestNodeElection", c, "/election", n)
        for _, e in cands:
            e.volunteer()
        tokens = []
        for k in range(n):
            rest = cands[k:]
            got = _race(rest, 0.3)
            got[0] = got[0] or bool(cands[k][1].wait_for_leadership(timeout=1.0))
            assert got[0] and got.count(True) == 1, (
                f"after {k} resignation(s) candidate {k} should lead alone; "
                f"wait_for_leadership said {got} for candidates {list(range(k, n))}"
            )
            tokens.append(cands[k][1].token())
            cands[k][1].resign()
            assert not cands[k][1].is_leader(), "is_leader() is still true after resign()"
        assert tokens == sorted(tokens) and len(set(tokens)) == n, (
            f"tokens must grow with each new leader; got {tokens}"
        )


def leader_change_wakeups(mod: ModuleType, cls: str, scheme: str, n: int) -> Result:
    """Start n candidates of `cls`, end the leader's session, count (at the servers) how many
    waiters a watch event woke, and judge that with the election checker's herd rule."""
    with GradingCluster() as c:
        cands = _candidates(mod, cls, c, "/election", n)
        for _, e in cands:
            e.volunteer()
        got = _race(cands, 0.5)
        assert got.count(True) == 1, f"{got.count(True)} candidates lead; exactly one must"
        leader = got.index(True)
        waiters = [i for i in range(n) if i != leader]
        results: dict[int, bool] = {}
        errors: list[str] = []

        def wait(i: int) -> None:
            try:
                results[i] = bool(cands[i][1].wait_for_leadership(timeout=6))
            except Exception as exc:  # after the test, closing sessions end the waits
                errors.append(f"{type(exc).__name__}: {exc}")

        ts = [threading.Thread(target=wait, args=(i,), daemon=True) for i in waiters]
        for t in ts:
            t.start()
        time.sleep(0.3)  # every waiter has set its watch
        before = c.wakeups()
        cands[leader][0].stop()  # the session ends; its node goes
        wait_for(lambda: any(results.values()), 4)
        time.sleep(0.3)  # late wake-ups would show now
        woken = c.record_wakeups(scheme, before, [_sid(cands[i][0]) for i in waiters])
        r = c.check()
        assert r.valid is True, _explain(
            r,
            f"the leader's session ended and the servers woke "
            f"{woken} of {len(waiters)} waiting candidates",
        )
        assert any(results.values()), "no candidate took over within 4 s of the leader's exit" + (
            f" (wait_for_leadership raised {errors[0]})" if errors else ""
        )
        return r


def _leader_change_wakeups(case: CaseLike, cls: str, scheme: str) -> None:
    n = random.Random(case.seed).randint(4, 6)
    leader_change_wakeups(case.student(STUDENT_FILE), cls, scheme, n)


def smallest_no_herd(case: CaseLike) -> None:
    """Scheme 1: when the leader's session ends, the servers deliver a watch event to one
    waiter only (each candidate watches just its predecessor), and that one leads."""
    _leader_change_wakeups(case, "SmallestNodeElection", "smallest")


def smallest_lost_reply(case: CaseLike) -> None:
    """Scheme 1: a create whose reply is lost (ConnectionLoss after the node was made) must
    not leave a second node behind: volunteer() again finds its node by the GUID in its name."""
    mod = case.student(STUDENT_FILE)
    with GradingCluster() as c:
        zk = c.client()
        e = mod.SmallestNodeElection(zk, "/election", "c0")
        real = zk.create
        lost: list[str] = []

        def create(path: str, *a: Any, **kw: Any) -> Any:
            made = real(path, *a, **kw)
            if not lost:
                lost.append(made)
                raise ConnectionLoss("the reply was lost (the node was made)")
            return made

        zk.create = create  # type: ignore[method-assign]
        try:
            e.volunteer()
        except ConnectionLoss:
            e.volunteer()  # what a caller does after a connection loss: try again
        zk.create = real  # type: ignore[method-assign]
        assert lost, "volunteer() never created a node"
        mine = [
            ch
            for ch in zk.get_children("/election")
            if zk.exists(f"/election/{ch}").ephemeralOwner == zk.client_id[0]
        ]
        assert len(mine) == 1, (
            f"after one lost reply the session owns {len(mine)} candidate nodes ({mine}); the "
            "first was made but its reply lost: put a GUID in the name and look for it first"
        )
        assert e.node and e.node.endswith(mine[0]), f"node is {e.node!r}; it is {mine[0]}"


# -- scheme 2: race for one ephemeral node ----------------------------------------------------


def unique_one_leader(case: CaseLike) -> None:
    """Scheme 2: of several candidates racing for /election/leader exactly one leads, and its
    session owns the node."""
    mod = case.student(STUDENT_FILE)
    n = random.Random(case.seed).randint(3, 5)
    with GradingCluster() as c:
        cands = _candidates(mod, "UniqueNodeElection", c, "/election", n)
        for _, e in cands:
            e.volunteer()
        got = _race(cands, 0.5)
        assert got.count(True) == 1, f"{got.count(True)} of {n} candidates lead; one must"
        i = got.index(True)
        stat = cands[0][0].exists("/election/leader")
        assert stat is not None, "nobody created /election/leader"
        assert stat.ephemeralOwner == cands[i][0].client_id[0], (
            f"candidate {i} says it leads but /election/leader belongs to another session"
        )
        assert cands[i][1].token() == stat.czxid, "token() must be the leader node's czxid"


def unique_rerace(case: CaseLike) -> None:
    """Scheme 2: when the leader's node goes, the losers race again and one of them leads
    within a second or two."""
    mod = case.student(STUDENT_FILE)
    n = random.Random(case.seed).randint(3, 4)
    with GradingCluster() as c:
        cands = _candidates(mod, "UniqueNodeElection", c, "/election", n)
        for _, e in cands:
            e.volunteer()
        got = _race(cands, 0.5)
        assert got.count(True) == 1, f"{got.count(True)} of {n} candidates lead; one must"
        for rnd in range(2):
            leader = got.index(True)
            rest = [x for i, x in enumerate(cands) if i != leader]
            gone = cands[leader][1].resign if rnd == 0 else cands[leader][0].stop
            got = _race(rest, 1.5, then=gone)
            how = "resigned" if rnd == 0 else "lost its session"
            assert got.count(True) == 1, (
                f"the leader {how}; {got.count(True)} of the {len(rest)} others then led "
                "within 1.5 s (exactly one must: losers watch the node and race again when it "
                "goes)"
            )
            cands = rest


def unique_wakes_all(case: CaseLike) -> None:
    """Scheme 2: every loser watches the leader node, so the end of the leader's session wakes
    all of them (the herd scheme 1 avoids), counted on the server side; one of them leads."""
    _leader_change_wakeups(case, "UniqueNodeElection", "unique")


# -- failover: primary/standby under real faults ---------------------------------------------


def _primary_up(c: GradingCluster, mod: ModuleType, scheme: str, n: int = 3) -> str:
    assert mod.__file__
    for i in range(n):
        c.spawn(f"c{i + 1}", mod.__file__, scheme, "/service")
    wait_for(lambda: c.primary() or not any(x.alive for x in c.candidates.values()), 10)
    p = c.primary()
    if not p:
        dead = {k: x for k, x in c.candidates.items() if not x.alive}
        last = next((x.output().strip().splitlines()[-1:] for x in dead.values()), [])
        why = (
            f"every candidate process exited; the last line of {next(iter(dead))}'s output: "
            + (last[0] if last else "(none)")
            if len(dead) == n
            else "no candidate became primary and wrote to the store within 10 s of starting"
        )
        raise AssertionError(
            why + "\n" + "\n".join(f"--- {k}:\n{x.output(600)}" for k, x in c.candidates.items())
        )
    wait_for(lambda: sum(1 for o in c.store.log if o.type == "ok") >= 3, 2)
    return p


def _bound(c: GradingCluster) -> float:
    return c.session_timeout + SLACK


def _finish(c: GradingCluster, what: str) -> None:
    """Stop every candidate, let their sessions expire, list what is left, and judge."""
    time.sleep(0.5)
    for cand in c.candidates.values():
        if cand.alive:
            cand.proc.kill()
            cand.proc.wait(5)
    zk = c.client()
    # the servers expire the sessions within a tick or two of the timeout; a node that is
    # still there well after that belongs to no session that can end (persistent, or leaked)
    wait_for(
        lambda: not zk.exists("/service") or not zk.get_children("/service"),
        c.session_timeout + 4.0,
        step=0.2,
    )
    c.record_candidates(zk, "/service")
    _assert_valid(c, what)


def failover_kill_primary(case: CaseLike) -> None:
    """Failover (scheme 1): kill -9 of the primary's process; a standby works within session
    timeout + 2 s, tokens never go back, and no candidate node outlives its session."""
    mod = case.student(STUDENT_FILE)
    with GradingCluster() as c:
        p = _primary_up(c, mod, "smallest")
        t = c.now()
        c.kill(p)
        c.wait_primary(_bound(c) + 1, after=t, other_than=p)
        _finish(c, f"the primary {p} was killed (kill -9)")


def _zombie(case: CaseLike, scheme: str) -> None:
    mod = case.student(STUDENT_FILE)
    with GradingCluster() as c:
        p = _primary_up(c, mod, scheme)
        t = c.now()
        c.pause(p)
        q = c.wait_primary(_bound(c) + 1, after=t, other_than=p)
        if q:
            n = len(c.store.log)
            wait_for(lambda: len(c.store.log) >= n + 3, 2)
        c.resume(p)
        time.sleep(1.0)
        _finish(c, f"the primary {p} was paused past its session timeout, then resumed")


def failover_zombie_is_fenced(case: CaseLike) -> None:
    """Failover (scheme 1): the primary is paused (SIGSTOP) inside a write beyond its session
    timeout, a standby takes over, then the old primary resumes and its write lands: the store
    must refuse it (fencing token), so two leaders never act at once."""
    _zombie(case, "smallest")


def failover_unique_zombie_is_fenced(case: CaseLike) -> None:
    """Failover (scheme 2): the same zombie primary as failover.zombie_is_fenced, with the
    leader node's czxid as the token."""
    _zombie(case, "unique")


def failover_partition_stops_primary(case: CaseLike) -> None:
    """Failover (scheme 1): the primary is cut off from the ensemble (its connection is
    SUSPENDED, then its session expires): it must stop writing at once, a standby takes over in
    time, and after the cut heals nothing overlaps."""
    mod = case.student(STUDENT_FILE)
    with GradingCluster() as c:
        p = _primary_up(c, mod, "smallest")
        t = c.now()
        c.partition(p)
        c.wait_primary(_bound(c) + 1, after=t, other_than=p)
        time.sleep(0.5)
        c.heal()
        time.sleep(1.5)
        _finish(c, f"the primary {p} was cut off from the ensemble")


def failover_unique_zk_leader_killed(case: CaseLike) -> None:
    """Failover (scheme 2): kill -9 of the primary, then of the ZooKeeper leader node; each
    time a primary works again within session timeout + 2 s and the store never accepts a
    stale token."""
    mod = case.student(STUDENT_FILE)
    with GradingCluster() as c:
        p = _primary_up(c, mod, "unique")
        t = c.now()
        c.kill(p)
        q = c.wait_primary(_bound(c) + 1, after=t, other_than=p)
        t = c.now()
        c.kill_zk_leader()
        c.wait_primary(_bound(c) + 1, after=t)
        time.sleep(1.0)
        _finish(c, f"the primary {p} was killed, then the ZooKeeper leader (primary now {q})")
