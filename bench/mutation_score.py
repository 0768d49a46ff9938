"""The simulator's power, measured: the mutation score of the ZAB replica and election.

    python bench/mutation_score.py                          # 40 sampled mutants, 60 seeds, 3 and 5 nodes
    python bench/mutation_score.py --sample 100 --search --jobs 2
    python bench/mutation_score.py --sample 0               # every mutation point (hours)

Each mutant (zablab/sim/mutate.py) runs in a fresh interpreter against the seed set (full-heal
runs, runs ending with a minority crashed or cut off for good, runs with client syncs) and,
with --search, a dfs bounded by --search-states; the unmutated modules run the same check first
in the same invocation (a failing original makes every score meaningless: exit 255). Printed:
mutants tried, caught by seeds / by search / by crash / by timeout, the survivors, and the
score over the non-equivalent mutants. Survivors a reader has judged (JUDGED below) are
printed with that judgment: an equivalent mutant (left out of the score, listed apart with
why no run can tell it from the original) or a known gap (why the checks miss it); any other
survivor gets "reason: ?" for the human to fill. Points no run of the clean replica reaches
(code only a seeded bug's switch turns on, and the rules' lab plumbing) are not mutated at all:
the header says how many were left out and why (zablab/sim/mutate.py, BUG_ONLY and PLUMBING).
"""

from __future__ import annotations

import argparse
import ast
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NoReturn

from zablab.errors import UserError
from zablab.sim.mutate import (
    MODULES,
    Check,
    Outcome,
    Point,
    excluded_of,
    points_of,
    run_mutant,
    sample,
    source_line,
)

ROOT = Path(__file__).resolve().parents[1]
REPLICA, RULES, ELECTION = MODULES

# Survivors judged by reading the code, keyed by module, enclosing def or class, the line
# before and after the edit (stripped): not by line number, so that edits elsewhere in the
# module keep the judgment. "equivalent": no run can tell the mutant from the original; it is
# left out of the score. "gap": a real difference the checks do not see, and why.
JUDGED: dict[tuple[str, str, str, str], tuple[str, str]] = {
    (REPLICA, "LearnerPhase", "INFO = 0  # sent FOLLOWERINFO", "INFO = 1  # sent FOLLOWERINFO"): (
        "equivalent",
        "INFO becomes an alias of EPOCH: learners are compared with INFO only before the "
        "epoch is decided, when none is at EPOCH, and ACKEPOCH only follows LEADERINFO",
    ),
    (REPLICA, "Learner", "last_zxid: int = 0", "last_zxid: int = 1"): (
        "equivalent",
        "every Learner is built with the last zxid of its FOLLOWERINFO; the default is unused",
    ),
    (REPLICA, "__init__", "self.now = 0", "pass"): (
        "equivalent",
        "start() and every event set now before anything (only _trace) reads it",
    ),
    (REPLICA, "compact", "self.now = now", "pass"): (
        "equivalent",
        "compact emits no trace event, the only reader of now; the next event sets it",
    ),
    (REPLICA, "_truncate_after", "self.durable_floor = min(self.durable_floor, zxid)", "pass"): (
        "equivalent",
        "a correct leader never truncates committed history and the floor is committed (a "
        "snapshot), so the min is always the floor itself",
    ),
    (
        REPLICA,
        "_try_commit",
        "if not self.lead.established or self.delivered == len(self.zxids):",
        "if not self.lead.established and self.delivered == len(self.zxids):",
    ): (
        "equivalent",
        "an established leader with nothing new then finds point <= committed and returns "
        "nothing; an unestablished one is never asked (before NEWLEADER's quorum no learner "
        "has anything newer to ACK)",
    ),
    (
        RULES,
        "choose_sync",
        "if peer_last == log.snapshot_zxid or (i > 0 and zs[i - 1] == peer_last):",
        "if peer_last == log.snapshot_zxid and (i > 0 and zs[i - 1] == peer_last):",
    ): (
        "equivalent",
        "the TRUNC then chosen cuts at the follower's own last zxid: nothing is cut, the same "
        "states and messages as DIFF (only the trace's sync mode reads TRUNC)",
    ),
    (
        ELECTION,
        "__init__",
        "self.recv: dict[int, Vote] = {}  # LOOKING peers' votes in my round",
        "pass  # LOOKING peers' votes in my round",
    ): (
        "equivalent",
        "start() sets recv before any notification is handled",
    ),
    (
        REPLICA,
        "on_message",
        "if frm not in self.members or frm == self.id:",
        "if frm not in self.members and frm == self.id:",
    ): (
        "equivalent",
        "a guard against messages from non-members or from itself, which no driver delivers (its network links distinct members only)",
    ),
    (
        REPLICA,
        "_maybe_decide_epoch",
        "self.lead.epoch = max(self.lead.connecting.values()) + 1",
        "self.lead.epoch = max(self.lead.connecting.values()) + 2",
    ): (
        "equivalent",
        "epochs only have to grow: every use compares them or matches one exactly, so skipping a number changes no decision",
    ),
    (
        REPLICA,
        "_follower_message",
        "if isinstance(msg, UpToDate) and ph is FollowerPhase.NEWLEADER:",
        "if isinstance(msg, UpToDate) or ph is FollowerPhase.NEWLEADER:",
    ): (
        "equivalent",
        "UPTODATE is only sent to a follower in NEWLEADER phase, and every other message of that phase is taken by an earlier branch",
    ),
    (REPLICA, "_truncate_after", "if zxid < self.prev_zxid:", "if zxid <= self.prev_zxid:"): (
        "equivalent",
        "at equality the branch sets prev_zxid to the value it has",
    ),
    (REPLICA, "_truncate_after", "self.delivered = min(self.delivered, i)", "pass"): (
        "equivalent",
        "a correct leader never truncates delivered (committed) history, so the min is always delivered itself",
    ),
    (REPLICA, "on_disconnect", "self.lead.learners.pop(peer, None)", "pass"): (
        "gap",
        "timing only: the leader forgets a disconnected learner when its tick finds it silent (syncLimit later) instead of at once; the acks it counted were real",
    ),
    (REPLICA, "on_tick", "if not self.lead.established:", "if (self.lead.established):"): (
        "gap",
        "an established leader never steps down for a lost quorum; it cannot commit alone, and the runs with a minority cut off for good do not check that the minority stops serving (it would answer reads from a stale history)",
    ),
    (
        REPLICA,
        "on_tick",
        "and now - ln.last_heard <= self.cfg.sync_limit * tick",
        "or now - ln.last_heard <= self.cfg.sync_limit * tick",
    ): (
        "gap",
        "as above: every synced learner counts as alive, so a leader never steps down for a lost quorum; nothing checks a cut-off leader's role",
    ),
    (
        REPLICA,
        "submit",
        "if self.serving and self.follow.leader is not None:",
        "if self.serving or self.follow.leader is not None:",
    ): (
        "gap",
        "a follower still syncing forwards a client's write instead of refusing it; the leader commits it as any other, so no check sees a difference",
    ),
    (REPLICA, "compact", "self.now = now", "return []"): (
        "gap",
        "compaction never happens: the in-memory window only grows and SNAP syncs stop being needed; no check looks at compaction",
    ),
    (REPLICA, "_go_looking", "out.append(SetTimer(self.election.next_deadline()))", "pass"): (
        "gap",
        "the first election deadline is not armed; the first notification heard arms it, so elections still finish (only a node that hears nothing would stall)",
    ),
    (
        REPLICA,
        "_follower_message",
        "if isinstance(msg, SyncReply) and ph is FollowerPhase.SERVING:",
        "if isinstance(msg, SyncReply) and ph is not FollowerPhase.SERVING:",
    ): (
        "gap",
        "a SyncReply makes a serving follower fail with a protocol error and go looking; the sync check excuses a sync whose server changed role, so the lost answer passes",
    ),
    (ELECTION, "on_notification", "self.recv = {}", "pass"): (
        "gap",
        "votes of the older round stay in the tally after a newer round starts; no run made a stale vote decide (the fle lab's graders target this one)",
    ),
    (
        ELECTION,
        "on_settled_peer",
        "if self._count(self.recv, theirs) >= self.quorum and self._leader_ok(theirs, n):",
        "if self._count(self.recv, theirs) >= self.quorum or self._leader_ok(theirs, n):",
    ): (
        "gap",
        "a LEADING peer's claim in this round is taken without a quorum agreeing; that leader still needs a quorum to establish, so runs only see a node join early",
    ),
    (REPLICA, "start", "self.durable_floor = rec.snapshot_zxid", "pass"): (
        "gap",
        "after a restart from a snapshot newer than the durable log tail the replica "
        "under-reports what is on disk; only a NEWLEADER with nothing to flush, at a node the "
        "quorum needs, would hang on it, and no seed or search state reached that",
    ),
    (
        REPLICA,
        "on_tick",
        "and now - ln.last_heard <= self.cfg.sync_limit * tick",
        "and now - ln.last_heard < self.cfg.sync_limit * tick",
    ): (
        "gap",
        "timing only: the leader's failure detector 1 ms tighter (a learner last heard exactly "
        "syncLimit ticks ago counts as gone, the leader may step down a tick early)",
    ),
    (RULES, "choose_sync", "if peer_last < floor:", "if peer_last <= floor:"): (
        "gap",
        "cost only: SNAP instead of DIFF for a follower exactly at the window's floor, which "
        "is correct; no check measures sync cost",
    ),
    (ELECTION, "start", "self.resend_at = now + self.interval", "pass"): (
        "gap",
        "timing only: the first resend of notifications fires at once instead of after the "
        "interval (more messages, the same elections)",
    ),
    (ELECTION, "_leader_ok", "return n.round == self.round", "return n.round != self.round"): (
        "gap",
        "a settled peer naming this LOOKING node its leader in the same round is refused "
        "(ZooKeeper's checkLeader); the node then wins through the LOOKING votes instead, and "
        "no run needed that path",
    ),
    (
        REPLICA,
        "start",
        'self.current_epoch = st.state("currentEpoch").read(0) or 0',
        'self.current_epoch = st.state("currentEpoch").read(1) or 0',
    ): (
        "gap",
        "a server with no currentEpoch file reads 1, not 0; every server starts so and the "
        "first leader's epoch is 1 over the same empty history, so every vote and ahead-check "
        "orders them as before: only the epoch a never-synced server reports differs, unchecked",
    ),
    (
        REPLICA,
        "on_tick",
        "if ln.phase >= LearnerPhase.SYNCED",
        "if ln.phase > LearnerPhase.SYNCED",
    ): (
        "equivalent",
        "this count runs only at an established leader, and there no learner stays SYNCED: "
        "its NEWLEADER ACK moves it to UPTODATE in the same step",
    ),
    (
        REPLICA,
        "on_tick",
        "if now - self.follow.leader_heard > limit * tick:",
        "if now - self.follow.leader_heard >= limit * tick:",
    ): (
        "gap",
        "timing only: the follower's failure detector 1 ms tighter (a leader last heard exactly "
        "syncLimit ticks ago counts as gone)",
    ),
    (REPLICA, "compact", "drop = 0", "drop = 1"): (
        "gap",
        "cost only: compaction always drops at least the oldest window entry (compact runs "
        "right after a delivery, and the snapshot just taken holds that entry), so a follower "
        "may get a SNAP where a DIFF would do; no check measures sync cost",
    ),
    (REPLICA, "_go_looking", "if self.role == LEADING:", "if self.role != LEADING:"): (
        "gap",
        "a role change closes no connection (a leader its learners', a follower its leader's); "
        "the other end finds out from silence at initLimit/syncLimit instead, which the runs' "
        "liveness bounds allow",
    ),
    (REPLICA, "_decide", "self.vote = vote", "pass"): (
        "gap",
        "between deciding and its sync's end a server answers LOOKING peers with its previous "
        "epoch's vote (or not at all); after UPTODATE it answers right, and no run made a stale "
        "answer decide an election",
    ),
    (
        REPLICA,
        "_maybe_decide_epoch",
        "if self.lead.epoch_decided or len(self.lead.connecting) < self.quorum:",
        "if self.lead.epoch_decided and len(self.lead.connecting) < self.quorum:",
    ): (
        "gap",
        "it is only called before the epoch is decided, so the leader decides its epoch from "
        "its own acceptedEpoch without a quorum's FOLLOWERINFO; a follower that promised a "
        "newer epoch makes it step down, and no run had two leaders in one epoch (the trace "
        "checker's one-leader-per-epoch would have failed it)",
    ),
    (REPLICA, "_maybe_epoch_quorum", "self.lead.newleader_acks = set()", "pass"): (
        "equivalent",
        "nothing adds to newleader_acks before the epoch quorum (NEWLEADER is sent only after "
        "it), so the set being reset is always the empty one Leading() made",
    ),
    (
        REPLICA,
        "_leader_message",
        "and ln.phase >= LearnerPhase.SYNCING",
        "and ln.phase > LearnerPhase.SYNCING",
    ): (
        "equivalent",
        "a follower sends SyncRequest only while serving, after UPTODATE, and the leader sends "
        "UPTODATE as it moves that learner past SYNCING: no SyncRequest meets a SYNCING learner",
    ),
    (
        REPLICA,
        "start",
        'self.current_epoch = st.state("currentEpoch").read(0) or 0',
        'self.current_epoch = st.state("currentEpoch").read(0) or 1',
    ): (
        "gap",
        "as read(1): a server with no currentEpoch file starts at 1 (no leader writes 0), which "
        "orders every vote as before; only the epoch a never-synced server reports differs",
    ),
    (
        REPLICA,
        "on_timer",
        "if self.role != LOOKING or self.election is None:",
        "if self.role != LOOKING and self.election is None:",
    ): (
        "equivalent",
        "a server is LOOKING exactly while it has an election (_go_looking sets both, _decide "
        "clears both before it leads or follows), so the two tests are never apart",
    ),
    (REPLICA, "_try_establish", "self.lead.counter = 0", "self.lead.counter = 1"): (
        "gap",
        "the epoch's zxids start at counter 2, not 1: still increasing and unique, so no "
        "property changes; the rollover would come one txn early, but the clean runs' counter "
        "never nears its 32-bit maximum, and nothing checks the first counter of an epoch",
    ),
    (
        REPLICA,
        "_follower_message",
        "if isinstance(msg, Diff | Trunc | Snap) and ph is FollowerPhase.EPOCH:",
        "if isinstance(msg, Diff | Trunc | Snap) or ph is FollowerPhase.EPOCH:",
    ): (
        "equivalent",
        "the leader sends one DIFF, TRUNC or SNAP per connection, to a learner that ACKed its "
        "epoch (the follower is in EPOCH then), and in EPOCH nothing else but PINGs (taken "
        "earlier) comes: the two tests never differ",
    ),
    (
        RULES,
        "choose_sync",
        "return SyncPlan(SyncMode.TRUNC, zs[i - 1] if i > 0 else log.snapshot_zxid)",
        "return SyncPlan(SyncMode.TRUNC, zs[i - 1] if i > 1 else log.snapshot_zxid)",
    ): (
        "gap",
        "a follower that diverged right after the window's first entry is cut back to the "
        "window's start and gets that entry again: harmless unless it had delivered it, and no "
        "run had a diverged follower at exactly that point",
    ),
    (ELECTION, "on_timer", "self.interval = min(self.interval * 2, self.max_interval)", "pass"): (
        "gap",
        "timing only: notifications are resent at the first interval forever instead of "
        "backing off to max_notify_interval (more messages, the same elections)",
    ),
}


def enclosing(root: Path, point: Point) -> str:
    """The innermost def or class holding the point's line ("" at module level)."""
    tree = ast.parse((root / point.file).read_text())
    best, size = "", 1 << 30
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            end = node.end_lineno or node.lineno
            if node.lineno <= point.line <= end and end - node.lineno < size:
                best, size = node.name, end - node.lineno
    return best


def judgment(root: Path, point: Point) -> tuple[str, str] | None:
    before, after = source_line(root, point)
    return JUDGED.get((point.file, enclosing(root, point), before, after))


def _nodes(text: str) -> tuple[int, ...]:
    try:
        out = tuple(int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--nodes wants a list like 3,5, not {text!r}") from None
    if not out or any(n < 1 for n in out):
        raise argparse.ArgumentTypeError(f"--nodes wants positive sizes, not {text!r}")
    return out


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UserError(f"{message} (see bench/mutation_score.py --help)")


def main(argv: list[str] | None = None) -> int:
    try:
        return run(argv)
    except UserError as e:
        print(e, file=sys.stderr)
        return 255


def run(argv: list[str] | None) -> int:
    ap = _Parser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sample", type=int, default=40, help="mutants to try (0: every point)")
    ap.add_argument("--sample-seed", type=int, default=0, help="seed of the random sample")
    ap.add_argument("--seeds", type=int, default=60, help="simulator seeds per cluster size")
    ap.add_argument("--nodes", type=_nodes, default=(3, 5), help="cluster sizes, e.g. 3,5")
    ap.add_argument("--search", action="store_true", help="also a bounded dfs search (3 nodes)")
    ap.add_argument("--search-states", type=int, default=5000, help="the search's state bound")
    ap.add_argument("--jobs", type=int, default=2, help="mutants checked at once (processes)")
    ap.add_argument("--timeout", type=float, default=0, help="per mutant, s (0: 10x the original)")
    ap.add_argument("--module", action="append", choices=MODULES, help="default: all")
    args = ap.parse_args(argv)
    if args.sample < 0 or args.seeds < 0 or args.jobs < 1 or args.search_states < 1:
        ap.error("--sample and --seeds want >= 0, --jobs and --search-states >= 1")
    modules = args.module or list(MODULES)
    check = Check(
        seeds=args.seeds,
        nodes=args.nodes,
        search_states=args.search_states if args.search else 0,
        timeout=3600.0,
    )

    start = time.perf_counter()
    base = run_mutant(ROOT, None, check, modules[0])
    if base.caught:
        print(f"the unmutated modules fail the check ({base.verdict}): {base.detail}")
        print("fix that first: a score over a failing original means nothing", file=sys.stderr)
        return 255
    timeout = args.timeout or max(30.0, 10 * base.seconds)
    check = Check(check.seeds, check.nodes, check.search_states, timeout, check.modes)

    points = [p for f in modules for p in points_of(f, (ROOT / f).read_text())]
    stale = set(JUDGED) - {
        (p.file, enclosing(ROOT, p), *source_line(ROOT, p)) for p in points if p.file in modules
    }
    for key in sorted(k for k in stale if k[0] in modules):
        print(f"note: a judgment matches no mutation point any more (edited code?): {key}")
    chosen = sample(points, args.sample or None, args.sample_seed)
    left_out = Counter(why for f in modules for _, why in excluded_of(f, (ROOT / f).read_text()))
    for why, n in sorted(left_out.items()):
        print(f"left out {n} points no clean run reaches ({why})")
    print(
        f"{len(points)} mutation points in {', '.join(modules)}; trying {len(chosen)} "
        f"(sample seed {args.sample_seed}); check: {check.seeds} seeds on "
        f"{'/'.join(map(str, check.nodes))} nodes in each of {', '.join(check.modes)}"
        + (f" + dfs search of {check.search_states} states" if check.search_states else "")
        + f"; original passes in {base.seconds:.1f} s; timeout {timeout:.0f} s; jobs {args.jobs}"
    )
    with ThreadPoolExecutor(args.jobs) as pool:
        outcomes: list[Outcome] = list(pool.map(lambda p: run_mutant(ROOT, p, check), chosen))
    took = time.perf_counter() - start

    by = Counter(o.verdict for o in outcomes)
    caught = sum(o.caught for o in outcomes)
    tried = len(outcomes)
    print(f"mutants tried:     {tried}")
    print(f"caught by seeds:   {by['seeds']}")
    print(f"caught by search:  {by['search']}   (the search runs only when every seed passes)")
    print(f"caught by crash:   {by['crash']}")
    print(f"caught by timeout: {by['timeout']}")
    print(f"survivors:         {by['survived']}")
    survivors = [o for o in outcomes if not o.caught and o.point]
    judged: dict[Point | None, tuple[str, str] | None] = {
        o.point: judgment(ROOT, o.point) for o in survivors if o.point
    }
    equivalent = [o for o in survivors if (judged[o.point] or ("",))[0] == "equivalent"]
    print(f"  of them equivalent: {len(equivalent)} (no run can tell them apart; listed below)")
    counted = tried - len(equivalent)
    score = caught / counted if counted else 0.0
    print(
        f"mutation score:    {caught}/{counted} = {score:.0%} of the non-equivalent mutants   "
        f"({caught}/{tried} = {caught / tried if tried else 0:.0%} of all tried; "
        f"{took:.0f} s wall)"
    )
    kinds = Counter(o.point.kind for o in outcomes if o.point)
    kinds_caught = Counter(o.point.kind for o in outcomes if o.point and o.caught)
    print("by kind: " + ", ".join(f"{k} {kinds_caught[k]}/{n}" for k, n in sorted(kinds.items())))
    blunt = [o for o in outcomes if o.verdict in ("crash", "timeout") and o.point]
    if blunt:
        print("\ncaught by crash or timeout:")
    for o in blunt:
        assert o.point is not None
        print(f"  {o.point.file}:{o.point.line}:{o.point.col} {o.point.kind}: {o.detail}")
    for title, group in (
        ("survivors (not equivalent)", [o for o in survivors if o not in equivalent]),
        ("equivalent mutants (left out of the score)", equivalent),
    ):
        if group:
            print(f"\n{title}:")
        for o in group:
            assert o.point is not None
            before, after = source_line(ROOT, o.point)
            print(f"  {o.point.file}:{o.point.line}:{o.point.col} {o.point.kind}")
            print(f"    - {before}")
            print(f"    + {after}")
            j = judged[o.point]
            print(f"    reason: {j[0]}: {j[1]}" if j else "    reason: ?")
    return 0


if __name__ == "__main__":
    sys.exit(main())
