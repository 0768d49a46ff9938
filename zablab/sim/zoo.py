"""The bug zoo's scripted schedules: how each historical bug's trace file was made.

Each scenario drives a ``Stepper`` through the ticket's story in a few coarse moves (run the
network fairly among some nodes until a condition holds, hold back one kind of message, a
client write, a crash, a restart, a cut), with the zoo's switch on. The steps it took are then
shrunk (ddmin, keeping the same violated property) and kept only if the clean replica passes
the shrunk schedule: that pair of replays is what the registry's ``reproduce`` and ``control``
commands run. The schedule up to its last faults (``FAULTS_LEFT``) is saved beside it as
the search's starting point.

``python -m zablab.sim.zoo [DIR]`` writes every entry's trace files (default examples/bugs)
and prints what each replay gave; the files are checked in, so this runs only when a scenario
changes. Node 3 wins an election among equals (FLE breaks ties by the higher id).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from zablab.bugs import BUGS, ZOO_DIR, SeededBug, zoo

from .cluster import SimConfig
from .search import Bounds, Explorer
from .shrink import properties, shrink
from .stepper import Stepper, replay
from .tracefile import TraceFile

Steps = list[dict[str, Any]]
Hold = Callable[[int, int, object], bool]  # (from, to, message) -> keep it on the link


class Script:
    """A Stepper moved by coarse, fair moves."""

    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        self.ex = Explorer(cfg, Bounds(max_crashes=0, max_restarts=0, max_writes=0))
        self.st = Stepper(cfg)
        for n in self.st.ids:
            self.ex.take(self.st, {"t": 0, "do": "restart", "node": n})

    def do(self, step: dict[str, Any]) -> None:
        self.ex.take(self.st, {"t": self.st.now, **step})

    def run(
        self,
        among: list[int] | None = None,
        until: Callable[[Stepper], bool] | None = None,
        hold: Hold | None = None,
        no_sync: tuple[int, ...] = (),
        limit: int = 400,
    ) -> None:
        """Deliver, sync and fire timers among ``among`` (oldest link first, deliveries before
        syncs before timers) until ``until`` holds or nothing is left to do; ``hold`` keeps
        matching messages on their links, ``no_sync`` keeps those nodes' log syncs pending."""
        nodes = set(among or self.st.ids)
        order = {"deliver": 0, "flush": 1, "timer": 2}
        for _ in range(limit):
            if until is not None and until(self.st):
                return
            options = []
            for c in self.ex.choices(self.st):
                if c["do"] not in order:
                    continue
                if c["do"] == "deliver":
                    if c["frm"] not in nodes or c["to"] not in nodes:
                        continue
                    head = self.st.qnet.head(c["frm"], c["to"], c["ch"])
                    if hold is not None and head is not None and hold(c["frm"], c["to"], head[0]):
                        continue
                elif c["node"] not in nodes or (c["do"] == "flush" and c["node"] in no_sync):
                    continue
                options.append(c)
            if not options:
                break
            self.ex.take(self.st, min(options, key=lambda c: order[c["do"]]))
        if until is not None and not until(self.st):
            raise RuntimeError(f"scenario stuck: {until.__doc__ or until} never held")

    def write(self, node: int, payload: str) -> None:
        self.do({"do": "write", "node": node, "payload": payload})

    def crash(self, *nodes: int) -> None:
        for n in nodes:
            self.do({"do": "crash", "node": n})

    def restart(self, *nodes: int) -> None:
        for n in nodes:
            self.do({"do": "restart", "node": n})


def _phase(r: object) -> str:
    """A ZAB follower's phase ("" for anything else)."""
    follow = getattr(r, "follow", None)
    return str(follow.phase.value) if follow is not None else ""


def leads(n: int) -> Callable[[Stepper], bool]:
    def ok(st: Stepper) -> bool:
        r = st.nodes[n].replica
        return r is not None and r.is_leader

    ok.__doc__ = f"node {n} leads"
    return ok


def serving(*nodes: int) -> Callable[[Stepper], bool]:
    def ok(st: Stepper) -> bool:
        return all((r := st.nodes[n].replica) is not None and r.serving for n in nodes)

    ok.__doc__ = f"nodes {nodes} serve"
    return ok


def in_phase(n: int, *phases: str) -> Callable[[Stepper], bool]:
    def ok(st: Stepper) -> bool:
        return _phase(st.nodes[n].replica) in phases

    ok.__doc__ = f"node {n} is in phase {' or '.join(phases)} with its leader"
    return ok


def delivered(n: int, payload: str) -> Callable[[Stepper], bool]:
    def ok(st: Stepper) -> bool:
        return payload.encode() in {p for _, p in st.nodes[n].app.entries}

    ok.__doc__ = f"node {n} delivered {payload}"
    return ok


def _established(s: Script, committed: str = "w1") -> None:
    """Node 3 leads nodes 1 and 2, and ``committed`` is on all three."""
    s.run(until=serving(1, 2, 3))
    s.write(3, committed)
    s.run(until=lambda st: all(delivered(n, committed)(st) for n in (1, 2, 3)))


def _missed_by_1(s: Script) -> None:
    """Node 1 is down while nodes 3 (the leader) and 2 commit w2."""
    _established(s)
    s.crash(1)
    s.write(3, "w2")
    s.run(among=[2, 3], until=lambda st: delivered(3, "w2")(st) and delivered(2, "w2")(st))


def _lagging_follower(s: Script) -> None:
    """Node 1 misses w2 (committed by 3 and 2), node 3 crashes and node 1 comes back."""
    _missed_by_1(s)
    s.crash(3)
    s.restart(1)


def kind(name: str) -> Hold:
    """Hold the messages of this kind (by its class name: the simulator names no protocol
    package, though these scenarios are ZAB's)."""
    return lambda a, b, m: type(m).__name__ == name


def to_1(name: str) -> Hold:
    """Hold the messages of this kind on their way to node 1."""
    return lambda a, b, m: b == 1 and type(m).__name__ == name


_no_uptodate = kind("UpToDate")


def _back_with_a_short_log(s: Script) -> None:
    """Nodes 1 and 2 crash; 1 (new epoch, short log) and 3 (old epoch, full log) restart."""
    s.crash(2, 1)
    s.restart(1, 3)
    s.run(among=[1, 3], until=serving(1, 3))


def s_1154(s: Script) -> None:
    _established(s)
    s.write(3, "w2")
    s.run(among=[3])  # only the old leader logs w2
    s.crash(3, 1, 2)  # the whole ensemble
    s.restart(1, 2)
    s.run(among=[1, 2], until=serving(1, 2))
    s.write(2, "w3")
    s.run(among=[1, 2], until=delivered(1, "w3"))
    s.restart(3)
    s.run(until=serving(1, 2, 3))


def s_2845(s: Script) -> None:
    _established(s)
    s.write(3, "w2")
    s.run(among=[3])  # the old leader logs w2 (its own ACK) and nobody else has it
    s.do({"do": "partition", "groups": [[3], [1, 2]], "silent": False})
    s.do({"do": "tick", "node": 3})  # it notices it lost its quorum, keeping its database
    s.run(among=[1, 2], until=serving(1, 2))
    s.write(2, "w3")
    s.run(among=[1, 2], until=delivered(1, "w3"))
    s.do({"do": "heal"})
    s.run(until=serving(1, 2, 3))


def s_2355(s: Script) -> None:
    _missed_by_1(s)
    s.restart(1)
    s.run(until=in_phase(1, "sync"), hold=to_1("Proposal"))
    s.crash(3)  # the connection breaks before the PROPOSAL arrives
    s.run(among=[1, 2], until=serving(1, 2))
    s.write(2, "w3")
    s.run(among=[1, 2], until=delivered(2, "w3"))
    s.run(among=[1, 2])


def s_3642(s: Script) -> None:
    _missed_by_1(s)
    s.restart(1)  # so far behind that it gets a SNAP
    s.run(until=in_phase(1, "sync"), hold=to_1("NewLeader"))
    s.crash(3)  # after the SNAP, before NEWLEADER
    s.run(among=[1, 2], until=serving(1, 2))
    _back_with_a_short_log(s)


def s_3911(s: Script) -> None:
    _lagging_follower(s)
    s.run(among=[1, 2], until=leads(2), hold=_no_uptodate)  # node 1 ACKed NEWLEADER
    s.do({"do": "flush", "node": 1})  # what it logged by now is on disk: none of the DIFF
    _back_with_a_short_log(s)


def s_4643(s: Script) -> None:
    _lagging_follower(s)
    s.run(among=[1, 2], until=in_phase(1, "newleader"))
    _back_with_a_short_log(s)  # node 1 crashes before its log sync lands


def s_4646(s: Script) -> None:
    _lagging_follower(s)
    s.run(among=[1, 2], until=leads(2), hold=_no_uptodate)
    # node 1 ACKed NEWLEADER; its queued log sync has not landed
    _back_with_a_short_log(s)


def s_4785(s: Script) -> None:
    _lagging_follower(s)
    s.run(among=[1, 2], until=leads(2), hold=_no_uptodate)  # ACKed, its log sync queued
    s.crash(2)  # node 1 loses its leader (no crash of its own) and goes looking
    s.restart(3)
    s.run(among=[1, 3], until=serving(1, 3))
    s.write(1, "w3")
    s.run(among=[1, 3], until=delivered(3, "w3"))


def s_1277(s: Script) -> None:
    s.run(until=serving(1, 2, 3))
    for w in ("w1", "w2", "w3"):  # the third write is past a two-txn counter
        s.write(3, w)
        s.run()
    s.write(3, "w4")  # a second txn "of epoch 2", logged by node 3 only
    s.run(among=[3])
    s.crash(3)
    s.run(among=[1, 2], until=serving(1, 2))  # the real epoch 2
    s.write(2, "w5")  # takes the zxid w4 already has
    s.run(among=[1, 2])
    s.restart(3)
    s.run()


def s_2418(s: Script) -> None:
    s.run(until=serving(1, 2, 3))
    s.crash(1)
    for w in ("w1", "w2", "w3"):  # the committed log keeps the last one only
        s.write(3, w)
        s.run(among=[2, 3])
    s.restart(1)
    s.run(until=serving(1, 2, 3))
    s.write(3, "w4")
    s.run()


def s_4712(s: Script) -> None:
    _established(s)
    s.write(3, "w2")

    def queued_at_1(st: Stepper) -> bool:
        """node 1 queued w2 for its disk"""
        r = st.nodes[1].replica
        return r is not None and r.last_zxid > r.storage.log.synced_zxid  # type: ignore[attr-defined]

    s.run(among=[1, 3], until=queued_at_1, hold=lambda a, b, m: type(m).__name__ != "Proposal")
    s.crash(3)  # before its own sync of w2: only node 1's queue holds it
    s.do({"do": "partition", "groups": [[1], [2, 3]], "silent": False})
    s.restart(3)
    s.run(among=[2, 3], until=serving(2, 3))
    s.write(3, "w3")
    s.run(among=[2, 3], until=delivered(2, "w3"))
    s.do({"do": "heal"})
    # node 1 takes the new leader's TRUNC with w2 still queued
    s.run(until=in_phase(1, "sync", "newleader"), no_sync=(1,))
    s.do({"do": "flush", "node": 1})  # the old queue lands behind the TRUNC
    s.run(until=serving(1, 2, 3))
    s.crash(1)
    s.restart(1)
    s.run(until=serving(1, 2, 3))


def s_1282(s: Script) -> None:
    _established(s)
    s.write(3, "w2")
    s.run(among=[3])  # only node 3 logs w2
    s.crash(3)
    s.run(among=[1, 2], until=leads(2), hold=_no_uptodate)
    s.write(2, "w3")  # the new primary broadcasts without w2
    s.crash(2, 1)
    s.restart(1, 3)
    s.run(among=[1, 3], until=serving(1, 3))


SCENARIOS: dict[str, tuple[Callable[[Script], None], dict[str, Any]]] = {
    "diff-without-trunc": (s_1154, {}),
    "retained-db-zxid": (s_2845, {}),
    "zxid-before-apply": (s_2355, {}),
    "snap-not-persisted": (s_3642, {"committed_log_size": 0}),
    "diff-logged-after-uptodate": (s_3911, {}),
    "epoch-before-persist": (s_4643, {}),
    "newleader-ack-before-sync": (s_4646, {}),
    "epoch-at-uptodate": (s_1282, {}),
    "unsynced-dropped-on-rejoin": (s_4785, {}),
    "zxid-counter-wraps": (s_1277, {"zxid_counter_max": 2}),
    "diff-across-gap": (s_2418, {"committed_log_size": 1}),
    "sync-outlives-shutdown": (s_4712, {}),
}


def search_start(steps: Steps, faults_left: int) -> Steps:
    """The schedule up to its last ``faults_left`` faults (crashes or cuts): what is left for
    the search is to place those faults, the restarts and the elections after them."""
    faults = [i for i, st in enumerate(steps) if st["do"] in ("crash", "partition")]
    if not faults:  # the cluster before its first write
        writes = [i for i, st in enumerate(steps) if st["do"] == "write"]
        return steps[: writes[0]] if writes else steps
    if faults_left == 0:  # from the last client write after the last fault
        writes = [i for i, st in enumerate(steps) if st["do"] == "write" and i > faults[-1]]
        return steps[: writes[-1]] if writes else steps[: faults[-1] + 1]
    return steps[: faults[-min(faults_left, len(faults))]]


# the faults the search places itself (the schedule's last ones); two where it finds them
# within the entry's bound, else fewer
FAULTS_LEFT = {
    "diff-without-trunc": 1,
    "epoch-at-uptodate": 1,
    "retained-db-zxid": 0,  # the new epoch elected behind the cut: the search finds the
    # write, the heal and the old leader's rejoin
    "zxid-before-apply": 1,
    "snap-not-persisted": 1,
    "diff-logged-after-uptodate": 1,
    "epoch-before-persist": 1,
    "newleader-ack-before-sync": 1,
    "unsynced-dropped-on-rejoin": 1,
    "sync-outlives-shutdown": 1,
    "zxid-counter-wraps": 0,  # from the new epoch's leader, before its first write
}


def config(bug: SeededBug) -> SimConfig:
    return replace(SimConfig(), bugs=(bug.name,), **SCENARIOS[bug.name][1])


def build(bug: SeededBug) -> tuple[TraceFile, TraceFile]:
    """The shrunk schedule and its start, for ``bug``; RuntimeError if the scenario does not
    show the bug or the clean replica fails it too."""
    cfg = config(bug)
    s = Script(cfg)
    SCENARIOS[bug.name][0](s)
    steps = list(s.st.steps)
    _, r = replay(cfg, steps, safety_only=True)
    props = properties(r.violations)
    if not props:
        raise RuntimeError(f"{bug.name}: the scenario shows no violation")
    prop = bug.history.property if bug.history else props[0]
    if prop not in props:
        raise RuntimeError(f"{bug.name}: the scenario violates {props}, not {prop}")
    done = shrink(cfg, steps, prop, time_limit=60.0)
    clean = replace(cfg, bugs=())
    for cand in ([] if done is None else [done.steps]) + [steps]:
        _, ok = replay(clean, cand, safety_only=True)
        if not ok.violations:
            _, bad = replay(cfg, cand, safety_only=True)
            origin = f"scripted {bug.ticket}" + (
                f", shrunk from {len(steps)} steps" if cand is not steps else ""
            )
            tf = TraceFile(cfg, cand, "safety", origin, bad.trace_hash, bad.violations)
            start = TraceFile(
                cfg,
                search_start(cand, FAULTS_LEFT.get(bug.name, 2)),
                "safety",
                f"{bug.ticket}, before its last faults",
            )
            return tf, start
    raise RuntimeError(f"{bug.name}: the clean replica fails the scenario too")


def main(argv: list[str] | None = None) -> int:
    args: list[str] = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else ZOO_DIR)
    names = args[1:] or [b.name for b in zoo()]
    for name in names:
        bug = BUGS[name]
        tf, start = build(bug)
        tf.save(out / f"{bug.ticket}.json")
        start.save(out / f"{bug.ticket}.start.json")
        first = (tf.violations or ["no violation"])[0]
        print(f"{bug.ticket} {name}: {len(tf.steps)} steps ({tf.origin}); {first}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
