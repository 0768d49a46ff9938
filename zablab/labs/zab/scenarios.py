"""Four schedules of three servers, each the one where a wrong rule loses a write.

Every scenario is only faults and waits (the Director takes the rest in its fixed order), so
it is a valid run for any solution: a correct one keeps every acknowledged write in all four.
Each returns the Director, whose ``violations()`` the test reads and ``story`` it prints.
"""

from __future__ import annotations

from .harness import Director


def _elect(d: Director, among: list[int]) -> int:
    d.run(lambda: d.leader(among) is not None, f"a leader among servers {among}")
    leader = d.leader(among)
    assert leader is not None
    d.story.append(f"{d.st.now:>6} ms  server {leader} leads")
    return leader


def _finish(d: Director) -> Director:
    """Everything up and connected again; wait until the cluster agrees."""
    for n in d.st.ids:
        if not d.st.nodes[n].up:
            d.do(f"restart {n}", do="restart", node=n)
    d.held.clear()
    d.do("heal", do="heal")
    d.run(d.st.converged, "the healed cluster to converge (one leader, all caught up)")
    return d


def _lone_write(d: Director) -> tuple[int, list[int]]:
    """A leader, and a write of x there that reaches no follower; (leader, the others)."""
    lead = _elect(d, [1, 2, 3])
    others = [n for n in d.st.ids if n != lead]
    for n in others:
        d.held_step("deliver", node=n, frm=lead)
    d.do(f"write x at {lead}; its proposal reaches no follower", do="write", node=lead,
         payload="x")  # fmt: skip
    return lead, others


def trunc_diverged() -> Director:
    """The leader L logs a write nobody else gets and crashes; the others elect and commit
    new writes; L comes back with a txn the new leader never had. Its sync must cut that txn
    off (TRUNC), or L delivers it beside the new history."""
    d = Director()
    lead, others = _lone_write(d)
    d.run_quiet("the leader's log sync")
    d.do(f"crash {lead} (x is on its disk only)", do="crash", node=lead)
    d.held.clear()
    new = _elect(d, others)
    for p in ("y1", "y2"):
        d.do(f"write {p} at {new}", do="write", node=new, payload=p)
    d.run(lambda: d.acked("y1") and d.acked("y2"), "y1 and y2 to commit")
    d.do(f"restart {lead}: it rejoins with x", do="restart", node=lead)
    return _finish(d)


def ack_after_fsync() -> Director:
    """One follower F gets the leader's proposal, the other none; F's log sync is slow. If F
    ACKs before its fsync, the leader commits, F crashes and loses the write, and F and the
    other follower elect a leader without it."""
    d = Director()
    lead = _elect(d, [1, 2, 3])
    f, g = (n for n in d.st.ids if n != lead)
    d.held_step("deliver", node=g, frm=lead)
    d.held_step("flush", node=f)
    d.do(f"write x at {lead}; {g} gets nothing, {f}'s log sync waits", do="write", node=lead,
         payload="x")  # fmt: skip
    d.run(lambda: d.acked("x") or d.quiet(), "the write to commit or the network to go quiet")
    d.do(f"crash {f} before its log sync lands", do="crash", node=f)
    d.do(f"crash {lead}", do="crash", node=lead)
    d.held.clear()
    d.do(f"restart {f}", do="restart", node=f)
    _elect(d, [f, g])
    return _finish(d)


def commit_quorum() -> Director:
    """The leader's proposal reaches no follower. Committing it on the leader's own ACK
    tells the client it is safe; the leader crashes and the others elect without it."""
    d = Director()
    lead, others = _lone_write(d)
    d.run(lambda: d.acked("x") or d.quiet(), "the write to commit or the network to go quiet")
    d.do(f"crash {lead}", do="crash", node=lead)
    d.held.clear()
    _elect(d, others)
    return _finish(d)


def epoch_after_history() -> Director:
    """Servers 1 and 2 commit writes while 3 is cut off; 1 crashes; 2 leads a new epoch with 3
    and sends it the writes; 3 crashes after NEWLEADER, before its log sync lands. If 3 wrote
    the new currentEpoch already, its vote (new epoch, empty log) beats server 1's (old
    epoch, every write): 3 leads and truncates the writes away."""
    d = Director()
    d.do("cut server 3 off", do="partition", groups=[[1, 2], [3]], silent=False)
    lead = _elect(d, [1, 2])
    other = 3 - lead
    for p in ("x1", "x2"):
        d.do(f"write {p} at {lead}", do="write", node=lead, payload=p)
    d.run(lambda: d.acked("x1") and d.acked("x2"), "x1 and x2 to commit")
    d.do(f"crash {other}", do="crash", node=other)
    d.held_step("flush", node=3)
    d.do("heal: 3 is back", do="heal")

    def at_newleader() -> bool:
        r = d.replica(3)
        return r is not None and r.follow.history is not None

    d.run(at_newleader, f"server 3 to receive NEWLEADER from {lead}")
    d.do("crash 3 before its log sync lands", do="crash", node=3)
    d.do(f"crash {lead}", do="crash", node=lead)
    d.held.clear()
    d.do(f"restart {other}", do="restart", node=other)
    d.do("restart 3", do="restart", node=3)
    _elect(d, [other, 3])
    return _finish(d)


SCENARIOS = {
    "trunc_diverged": trunc_diverged,
    "ack_after_fsync": ack_after_fsync,
    "commit_quorum": commit_quorum,
    "epoch_after_history": epoch_after_history,
}
