"""Every seeded bug in zablab, in one registry, and the one parser that turns names into switches.

A seeded bug is a deliberate defect a lab or a test switches on to show that a checker bites.
Each has a layer (the code that carries it), the checker that must catch it, a seed bound for
the bugs the simulator or the harness finds by search, and the historical ticket it reproduces.
Layers do not test strings: they receive a frozen dataclass of booleans (``ZabBugs``,
``ClientBugs``) built by ``parse_bugs``, so a misspelt switch is an AttributeError (and a mypy
error) at the line that reads it, never a bug silently left off. Every entry point
(``zablab node --bug``, zoo.cfg ``zablab.bugs``, ``zablab sim --bug``, ``zablab test --db-args``
and ``--client-bug``) parses names here, so an unknown name gives the same one-line error.

The bug zoo: an entry with a ``history`` (``zoo()`` lists them) reproduces a historical
ZooKeeper bug as one switch at its protocol point in the replica. Its ``History`` says what
the ticket reported (trigger, consequence, the fix and the release that carried it), the
property it breaks, and where its scripted schedule lies: a simulator trace file that must
fail with the switch on (``reproduce``) and pass with it off (``control``), and the start of a
bounded search that finds it (``search``). The commands are shell lines run from the root of
a zablab checkout (the trace files live in examples/bugs/); ``zablab bugs --json`` prints them
and docs/bugs/ holds a page per ticket generated from them.

An entry with a ``harness`` is also caught on real processes: ``harness_commands`` are the
``zablab test`` lines (bug on: invalid within a few seeds; clean: valid under the same nemesis
and seed) that its harness test runs and its page shows.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import ClassVar, Self

from zablab.errors import UserError


class Layer(StrEnum):
    ZAB = "zab"  # the ZAB replica (zablab/node/zab)
    PAXOS = "paxos"  # the Multi-Paxos replica
    SERVER = "server"  # the client-facing server, as a client sees it
    STORAGE = "storage"  # log and snapshots
    CLIENT = "client"  # the harness's client workers


ZOO_DIR = "examples/bugs"  # the zoo's trace files, relative to a checkout's root


@dataclass(frozen=True)
class History:
    """What a historical ticket reported, and how the zoo reproduces it in the simulator."""

    trigger: str  # the schedule that exposes it, in the ticket's terms
    consequence: str  # what a user saw
    fix: str  # what the fix changed
    fixed_in: str  # the first releases carrying the fix, e.g. "3.9.3"
    property: str  # the property the simulator reports violated (a violation line's head)
    search_states: int  # dfs from the schedule's start finds it within this many states
    search_args: str = "--max-depth 40 --max-crashes 2 --max-restarts 2 --max-writes 1"


@dataclass(frozen=True)
class Harness:
    """A reproduction on real processes: ``zablab test`` on a zablab cluster with the bug
    switched on (``--db-args "--bug NAME"``), under the nemesis that lands its fault."""

    nemesis: str  # --nemesis and its timing
    seed: int = 1  # the first seed; --until-invalid tries ``tries`` of them
    tries: int = 3
    concurrency: str = "6"
    root: bool = True  # lose-unfsynced and crash-point mount a FUSE filesystem

    def command(self, bug: str | None) -> str:
        """With ``bug``: seeds until one run is invalid (exit 1); without: the first seed's run
        on the clean build (exit 0)."""
        cmd = (
            f"zablab test --db zablab --nodes 3 --workload set --concurrency {self.concurrency} "
            f"{self.nemesis} --seed {self.seed}"
        )
        if bug is None:
            return cmd
        return cmd + f" --test-count {self.tries} --until-invalid --db-args '--bug {bug}'"


#: the sync-phase bugs' schedule on real processes: a paused follower falls behind, the leader
#: dies as it resumes, the follower stops at NEWLEADER of the next epoch and the ensemble loses
#: power there (zablab/node/crashpoint.py, the crash-point nemesis)
CRASH_POINT = Harness(
    # a bug's ensemble may not take the truncated node back: its final reads wait 15 s, not 90
    "--nemesis crash-point --nemesis-interval 1 --time-limit 6 --ready-timeout 15"
)


@dataclass(frozen=True)
class SeededBug:
    name: str
    layer: Layer
    summary: str
    checker: str  # what catches it: "sim" (simulator + ZAB trace checker), "zookeeper", ...
    # ("zoo": the simulator's checks on the entry's scripted schedule and bounded search)
    seeds: int  # caught within this many random seeds (0: not by random seeds: a fixed
    # program, or a zoo entry whose bound is its search's)
    ticket: str | None = None  # the historical bug it reproduces, if any
    history: History | None = None  # set for the zoo's entries (those need a ticket)
    harness: Harness | None = None  # set where it is also caught on real processes

    def describe(self) -> str:
        return f"{self.summary} ({self.ticket})" if self.ticket else self.summary

    # -- the zoo's commands (only for entries with a history) ------------------------------

    @property
    def schedule(self) -> str:
        """The scripted minimal schedule: a trace file with this bug in its config."""
        return f"{ZOO_DIR}/{self.ticket}.json"

    @property
    def search_start(self) -> str:
        """Where the search starts: a prefix of the schedule, before the faults."""
        return f"{ZOO_DIR}/{self.ticket}.start.json"

    def commands(self) -> dict[str, str]:
        """``reproduce`` (exits 1), ``control`` (the same schedule, bug off: exits 0) and
        ``search`` (finds a violation from the schedule's start within its bound: exits 1)."""
        h = self.history
        if h is None:
            return {}
        return {
            "reproduce": f"zablab sim --replay {self.schedule}",
            "control": f"zablab sim --replay {self.schedule} --without-bugs",
            "search": f"zablab sim --search dfs --from {self.search_start} --bug {self.name} "
            f"{h.search_args} --max-states {h.search_states}",
        }

    def harness_commands(self) -> dict[str, str]:
        """``harness`` (a ``zablab test`` that is invalid with the bug: exits 1) and
        ``harness_control`` (the clean build under the same nemesis and seed: exits 0)."""
        if self.harness is None:
            return {}
        return {
            "harness": self.harness.command(self.name),
            "harness_control": self.harness.command(None),
        }

    def to_json(self) -> dict[str, object]:
        """The entry as ``zablab bugs --json`` prints it."""
        out: dict[str, object] = {
            "name": self.name,
            "ticket": self.ticket,
            "layer": str(self.layer),
            "summary": self.summary,
            "checker": self.checker,
            "property": self.history.property if self.history else self.checker,
        }
        if self.history is not None:
            h = self.history
            out.update(
                trigger=h.trigger,
                consequence=h.consequence,
                fix=h.fix,
                fixed_in=h.fixed_in,
                schedule=self.schedule,
                search_start=self.search_start,
                **self.commands(),
            )
        out.update(self.harness_commands())
        return out


BUGS: dict[str, SeededBug] = {
    b.name: b
    for b in (
        SeededBug(
            "ack-before-fsync",
            Layer.ZAB,
            "followers ACK (and the leader counts itself) before the log is synced",
            "sim",
            150,
            harness=Harness("--nemesis lose-unfsynced --nemesis-interval 1 --time-limit 6", seed=4),
        ),
        SeededBug(
            "diff-without-trunc",
            Layer.ZAB,
            "DIFF a diverged follower without the TRUNC it needs",
            "sim",
            150,
            ticket="ZOOKEEPER-1154",
            history=History(
                trigger="the leader logs a txn its followers never receive and the whole "
                "ensemble crashes; the followers elect a new leader, which commits txns of a "
                "new epoch; the old leader restarts, replays its txn from the log and reports "
                "it as its last zxid, and the new leader, which never had that zxid, answers "
                "with a DIFF instead of a TRUNC",
                consequence="the txn exists on the old leader only: the replicas diverge (a "
                "phantom write that some clients read and others never see)",
                fix="the leader sends a TRUNC back to the last zxid both hold whenever the "
                "follower's last zxid is not in the leader's history",
                fixed_in="3.3.4, 3.4.0",
                property="agreement",
                search_states=8_000,
            ),
        ),
        SeededBug(
            "commit-without-quorum",
            Layer.ZAB,
            "the leader commits on its own ACK, without waiting for a quorum",
            "sim",
            150,
            harness=Harness(
                "--nemesis partition-leader --nemesis-interval 3 --time-limit 15",
                seed=100,
                concurrency="2n",
                root=False,
            ),
        ),
        SeededBug(
            "election-ignores-zxid",
            Layer.ZAB,
            "votes compare (epoch, id) only and the leader skips the 'follower ahead' check "
            "in discovery",
            "sim",
            150,
        ),
        SeededBug(
            "retained-db-zxid",
            Layer.ZAB,
            "a follower that kept its in-memory database reports its last applied zxid, not "
            "its last logged one",
            "zoo",
            0,
            ticket="ZOOKEEPER-2845",
            history=History(
                trigger="a leader logs a txn (its own ACK) and loses its quorum before anyone "
                "else has it; the others elect a new leader; the old leader, which kept its "
                "in-memory database instead of reloading it, reports the zxid that database "
                "last applied, lower than its log's, so the new leader DIFFs it instead of "
                "truncating the txn",
                consequence="the old leader keeps and applies a txn no one else has: a znode "
                "that exists on that server only",
                fix="a server that rejoins reports, and is synced from, the last zxid of its "
                "log (the database is reloaded to match it)",
                fixed_in="3.4.12, 3.5.4, 3.6.0",
                property="agreement",
                search_states=1_000,
                search_args="--max-depth 40 --max-crashes 0 --max-restarts 0 --max-writes 1",
            ),
        ),
        SeededBug(
            "zxid-before-apply",
            Layer.ZAB,
            "on DIFF a follower takes the leader's zxid as its own before the txns arrive",
            "zoo",
            0,
            ticket="ZOOKEEPER-2355",
            history=History(
                trigger="during a DIFF sync the follower sets lastProcessedZxid to the "
                "leader's zxid before it has applied the txns; the connection breaks before "
                "they arrive (a socket timeout reading a PROPOSAL), and when the follower "
                "rejoins it reports that zxid, so the leader sends it nothing",
                consequence="the follower never applies the txns it skipped (in the ticket a "
                "closeSession: an ephemeral node that is never deleted on that follower)",
                fix="the follower's zxid advances only as the txns are applied",
                fixed_in="3.4.11, 3.5.4, 3.6.0",
                property="agreement",
                search_states=2_000,
            ),
        ),
        SeededBug(
            "snap-not-persisted",
            Layer.ZAB,
            "a learner keeps a SNAP's state in memory only and takes the snapshot at NEWLEADER",
            "zoo",
            0,
            ticket="ZOOKEEPER-3642",
            history=History(
                trigger="the leader crashes after sending a SNAP and before NEWLEADER: the "
                "learner holds the snapshot in memory only but has advanced its zxid to it; "
                "the next leader syncs it by DIFF from that zxid, which takes no snapshot, "
                "and the learner restarts",
                consequence="the learner silently loses every txn up to the snapshot; with "
                "its new currentEpoch it can lead and truncate them from the others",
                fix="the learner persists the state a SNAP gave it before it goes on",
                fixed_in="3.5.10, 3.6.3, 3.7.0",
                property="lost write",
                search_states=1_000,
            ),
        ),
        SeededBug(
            "diff-logged-after-uptodate",
            Layer.ZAB,
            "a follower ACKs NEWLEADER at once and logs the DIFF's proposals only after UPTODATE",
            "zoo",
            0,
            ticket="ZOOKEEPER-3911",
            history=History(
                trigger="in a DIFF sync the followers ACK NEWLEADER before they persist the "
                "sync's proposals, which they log only after UPTODATE; the leader serves "
                "once a quorum ACKed, and then the quorum crashes",
                consequence="txns a quorum had committed are lost when the followers form a "
                "new quorum without the old leader",
                fix="followers persist the DIFF's proposals before they ACK NEWLEADER (the "
                "logging stayed asynchronous: see ZOOKEEPER-4646)",
                fixed_in="3.5.9, 3.6.3, 3.7.0",
                property="lost write",
                search_states=1_000,
            ),
            harness=CRASH_POINT,
        ),
        SeededBug(
            "epoch-before-persist",
            Layer.ZAB,
            "a follower writes currentEpoch on NEWLEADER before the sync's txns are on disk",
            "zoo",
            0,
            ticket="ZOOKEEPER-4643",
            history=History(
                trigger="on NEWLEADER the follower updates currentEpoch and crashes before "
                "the txns of the sync reach its disk; it restarts with the new epoch over a "
                "log that lacks them, so its vote beats servers that hold them",
                consequence="elected with the short log, it truncates committed txns from "
                "the others: they are lost",
                fix="on NEWLEADER the follower persists the txns, then writes currentEpoch, "
                "then ACKs",
                fixed_in="3.9.3",
                property="lost write",
                search_states=1_000,
            ),
            harness=CRASH_POINT,
        ),
        SeededBug(
            "newleader-ack-before-sync",
            Layer.ZAB,
            "a follower ACKs NEWLEADER while the sync's txns still wait in its log-sync queue",
            "zoo",
            0,
            ticket="ZOOKEEPER-4646",
            history=History(
                trigger="the follower hands the sync's txns to its asynchronous "
                "SyncRequestProcessor and ACKs NEWLEADER before they are fsynced; the leader "
                "establishes the epoch with that ACK, and the follower crashes before the "
                "queued sync lands",
                consequence="txns the new epoch counts as held by a quorum are lost; the "
                "follower's new currentEpoch lets it lead without them",
                fix="the follower ACKs NEWLEADER only once the txns are on disk (logged "
                "synchronously at NEWLEADER)",
                fixed_in="3.9.3",
                property="lost write",
                search_states=8_000,
            ),
            harness=CRASH_POINT,
        ),
        SeededBug(
            "epoch-at-uptodate",
            Layer.ZAB,
            "a follower sets currentEpoch on UPTODATE instead of before ACKing NEWLEADER",
            "zoo",
            0,
            ticket="ZOOKEEPER-1282",
            history=History(
                trigger="the follower ACKs NEWLEADER but leaves its currentEpoch at the old "
                "epoch until UPTODATE; the leader establishes the epoch (leaving out a txn "
                "of the old epoch) and proposes in it, and the leader and that follower "
                "crash before UPTODATE lands; the follower's old epoch lets a server holding "
                "the left-out txn win the next election",
                consequence="a txn the established epoch had left out comes back: the new "
                "epoch's primary had already broadcast without it",
                fix="the learner writes currentEpoch when it receives NEWLEADER, before "
                "ACKing it (Zab 1.0)",
                fixed_in="3.3.4, 3.4.0",
                property="primary-integrity",
                search_states=6_000,
            ),
        ),
        SeededBug(
            "unsynced-dropped-on-rejoin",
            Layer.ZAB,
            "a follower ACKs NEWLEADER before its queued log sync, and drops the queue when it "
            "loses the leader",
            "zoo",
            0,
            ticket="ZOOKEEPER-4785",
            history=History(
                trigger="in a DIFF sync the follower writes currentEpoch and ACKs NEWLEADER "
                "while the sync's txns are still queued for its disk; the leader goes away, "
                "the follower's partial shutdown drops the queue and fast-forwards its "
                "database to the log it has, and it runs for leader with the new epoch",
                consequence="elected for its newer epoch without ever crashing, it syncs the "
                "others to its log: txns a quorum had committed are lost",
                fix="on NEWLEADER the follower persists the txns synchronously, then writes "
                "currentEpoch, then ACKs",
                fixed_in="3.8.5, 3.9.2",
                property="agreement",
                search_states=1_000,
            ),
        ),
        SeededBug(
            "zxid-counter-wraps",
            Layer.ZAB,
            "the leader lets the zxid counter roll over into the epoch bits",
            "zoo",
            0,
            ticket="ZOOKEEPER-1277",
            history=History(
                trigger="a leader proposes past the largest counter its epoch's zxids hold; "
                "the low 32 bits roll over and the carry lands in the epoch bits, so the txn "
                "carries a zxid of the next epoch",
                consequence="servers stop serving: the zxid order no longer matches the "
                "epochs, and the next leader's zxids collide with the ones already used",
                fix="the leader throws XidRolloverException on the last counter and shuts "
                "down, so that a new election starts a new epoch",
                fixed_in="3.3.5, 3.4.4",
                property="agreement",
                search_states=1_000,
                search_args="--max-depth 40 --max-crashes 0 --max-restarts 1 --max-writes 1",
            ),
        ),
        SeededBug(
            "diff-across-gap",
            Layer.ZAB,
            "the leader DIFFs a follower from behind its committed log, skipping a gap",
            "zoo",
            0,
            ticket="ZOOKEEPER-2418",
            history=History(
                trigger="a follower is further behind than the leader's in-memory committed "
                "log reaches; the leader queues the older txns from its txn log, which ends "
                "before the committed log begins, and goes on with the committed log without "
                "noticing the gap",
                consequence="the follower never receives the txns in the gap and applies the "
                "later ones without them",
                fix="the leader checks that the txn log reaches the committed log's start "
                "and falls back to a SNAP where it does not",
                fixed_in="3.6.0",
                property="agreement",
                search_states=1_000,
                search_args="--max-depth 40 --max-crashes 1 --max-restarts 1 --max-writes 3",
            ),
        ),
        SeededBug(
            "sync-outlives-shutdown",
            Layer.ZAB,
            "a follower that leaves its leader keeps its sync processor running: queued txns "
            "reach the log after the next leader's TRUNC",
            "zoo",
            0,
            ticket="ZOOKEEPER-4712",
            history=History(
                trigger="a follower loses its leader with txns of that leader still queued "
                "in its SyncRequestProcessor, which Follower.shutdown() leaves running; the "
                "next leader truncates those txns, and the processor then writes them to the "
                "log behind the TRUNC",
                consequence="after a restart the follower replays txns the ensemble "
                "truncated: its history is no longer a prefix of the others' (data "
                "inconsistency)",
                fix="shutting a follower down shuts its sync processor down and the database "
                "is reloaded from what the log holds",
                fixed_in="3.9.3",
                property="agreement",
                search_states=3_000,
            ),
        ),
        SeededBug(
            "lost-write",
            Layer.CLIENT,
            "the client acknowledges some writes without sending them",
            "linearizable",
            3,
        ),
        SeededBug(
            "stale-read",
            Layer.CLIENT,
            "the client answers some reads from an earlier answer",
            "zookeeper",
            3,
        ),
        SeededBug(
            "no-fencing",
            Layer.CLIENT,
            "an elected leader works on while cut off and writes without its fencing token "
            "(the zombie leader of CURATOR-696's class)",
            "election",
            3,
        ),
        # Test doubles of a server as a client sees it; tests/compat/test_differential.py runs
        # them beside Apache ZooKeeper (they are programs, not switches of zablab's server).
        SeededBug(
            "ignores-versions",
            Layer.SERVER,
            "setData and delete ignore the expected version",
            "differential",
            0,
        ),
        SeededBug(
            "drops-watches", Layer.SERVER, "exists() never leaves a watch behind", "differential", 0
        ),
        SeededBug(
            "swaps-owners",
            Layer.SERVER,
            "ephemeral nodes are reported as owned by the next session",
            "differential",
            0,
        ),
        SeededBug(
            "reorders-zxids",
            Layer.SERVER,
            "mzxid is reported older than czxid",
            "differential",
            0,
        ),
    )
}


def zoo() -> list[SeededBug]:
    """The entries that reproduce a historical bug, by ticket."""
    return sorted((b for b in BUGS.values() if b.history is not None), key=lambda b: b.ticket or "")


def known(layers: Iterable[Layer] | None = None) -> list[str]:
    wanted = set(Layer if layers is None else layers)
    return sorted(n for n, b in BUGS.items() if b.layer in wanted)


def parse_bugs(names: Iterable[str], layers: Iterable[Layer] | None = None) -> frozenset[str]:
    """Bug names (repeats and comma lists allowed) checked against the registry, or against the
    bugs of ``layers``: an unknown name is one UserError line that lists the known ones."""
    allowed = known(layers)
    out = {n.strip() for name in names for n in name.split(",") if n.strip()}
    for name in sorted(out):
        if name not in allowed:
            raise UserError(
                f"unknown seeded bug {name!r}; known bugs: {', '.join(allowed)} "
                "(see zablab/bugs.py)."
            )
    return frozenset(out)


def bugs_in_args(args: str) -> frozenset[str]:
    """The ``--bug`` values inside a node's extra command line (``zablab test --db-args``),
    parsed as ``zablab node`` will, so a typo stops the harness before a cluster starts."""
    words = shlex.split(args)
    names: list[str] = []
    for i, w in enumerate(words):
        if w == "--bug":
            if i + 1 >= len(words):
                raise UserError("--db-args: --bug needs a bug name after it.")
            names.append(words[i + 1])
        elif w.startswith("--bug="):
            names.append(w.removeprefix("--bug="))
    return parse_bugs(names, NODE_LAYERS)


NODE_LAYERS = (Layer.ZAB, Layer.PAXOS)  # the layers a `zablab node` can switch bugs on in


@dataclass(frozen=True)
class _Switches:
    """A layer's bugs as booleans: field ``a_b`` is bug ``a-b`` of ``LAYER``."""

    LAYER: ClassVar[Layer]

    @classmethod
    def of(cls, names: Iterable[str]) -> Self:
        chosen = parse_bugs(names, [cls.LAYER])
        return cls(**{n.replace("-", "_"): True for n in chosen})

    @property
    def names(self) -> frozenset[str]:
        return frozenset(f.name.replace("_", "-") for f in fields(self) if getattr(self, f.name))


@dataclass(frozen=True)
class ZabBugs(_Switches):
    LAYER: ClassVar[Layer] = Layer.ZAB
    ack_before_fsync: bool = False
    diff_without_trunc: bool = False
    commit_without_quorum: bool = False
    election_ignores_zxid: bool = False
    retained_db_zxid: bool = False
    zxid_before_apply: bool = False
    snap_not_persisted: bool = False
    diff_logged_after_uptodate: bool = False
    epoch_before_persist: bool = False
    newleader_ack_before_sync: bool = False
    epoch_at_uptodate: bool = False
    unsynced_dropped_on_rejoin: bool = False
    zxid_counter_wraps: bool = False
    diff_across_gap: bool = False
    sync_outlives_shutdown: bool = False


@dataclass(frozen=True)
class ClientBugs(_Switches):
    LAYER: ClassVar[Layer] = Layer.CLIENT
    lost_write: bool = False
    stale_read: bool = False
    no_fencing: bool = False


SWITCHES: tuple[type[_Switches], ...] = (ZabBugs, ClientBugs)
