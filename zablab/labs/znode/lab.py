"""The znode lab's parts, tests and points."""

from __future__ import annotations

from pathlib import Path

from zablab.labs.engine import Case, Lab, Part, Test

from . import hidden as hd
from . import integration as kz
from . import tests as t
from .differential import check_sequences


def serve(directory: Path, port: int) -> None:
    from .serve import serve as run

    run(directory, port)


def random_sequences(case: Case) -> None:
    """Random sequences of calls (creates that collide, versions one off, watches, multis,
    sessions that close) give the same replies, events and read results as the reference."""
    check_sequences(case, count=5, length=40)


PARTS = (
    Part("basics", "create, read, set and delete znodes; the Stat"),
    Part("sequential", "sequential and ephemeral nodes, sessions"),
    Part("watches", "one-shot data, exist and child watches, in ZooKeeper's order"),
    Part("multi", "atomic multi-op transactions"),
    Part("random", "random sequences compared with the reference"),
    Part("kazoo", "your tree serves a real zablab node; kazoo's recipes run on it"),
)

TESTS = (
    Test("api.signatures", "basics", 2, t.api_signatures, tags=("given",)),
    Test("basics.create_get", "basics", 4, t.basics_create_get),
    Test("basics.create_errors", "basics", 3, t.basics_create_errors),
    Test("basics.set_data", "basics", 3, t.basics_set_data),
    Test("basics.delete", "basics", 3, t.basics_delete),
    Test("stat.fields", "basics", 3, t.stat_fields),
    Test("stat.parent_on_create", "basics", 3, t.stat_parent_on_create),
    Test("stat.cversion_counts_deletes", "basics", 3, t.stat_cversion_counts_deletes),
    Test("sequential.suffix", "sequential", 4, t.sequential_suffix),
    Test("sequential.per_parent", "sequential", 3, t.sequential_per_parent),
    Test("ephemeral.owner", "sequential", 2, t.ephemeral_owner),
    Test("session.close_removes_ephemerals", "sequential", 4, t.session_close_removes_ephemerals),
    Test("watch.data", "watches", 3, t.watch_data),
    Test("watch.exists", "watches", 3, t.watch_exists),
    Test("watch.children", "watches", 3, t.watch_children),
    Test("watch.delete_order", "watches", 3, t.watch_delete_order),
    Test("watch.fired_before_reply", "watches", 4, t.watch_fired_before_reply),
    Test("watch.session_close", "watches", 2, t.watch_session_close),
    Test("multi.results", "multi", 3, t.multi_results),
    Test("multi.rollback", "multi", 5, t.multi_rollback),
    Test("multi.sees_own_writes", "multi", 2, t.multi_sees_own_writes),
    Test("random.sequences", "random", 6, random_sequences, seeds=4, hidden_points=6, timeout=20),
    Test("kazoo.lock", "kazoo", 4, kz.kazoo_lock, timeout=30),
    Test("kazoo.election", "kazoo", 4, kz.kazoo_election, timeout=30),
    Test("kazoo.queue", "kazoo", 3, kz.kazoo_queue, timeout=30),
    Test("kazoo.barrier", "kazoo", 3, kz.kazoo_barrier, timeout=30),
    Test("kazoo.counter", "kazoo", 3, kz.kazoo_counter, timeout=30),
    Test("random.long_sequences", "random", 6, hd.long_sequences, seeds=3, hidden=True, timeout=20),
    Test("watch.multi_order", "watches", 3, hd.watch_multi, hidden=True),
    Test("sequential.in_multi", "sequential", 3, hd.sequential_in_multi, hidden=True),
    Test("kazoo.watchers", "kazoo", 3, hd.kazoo_watchers, hidden=True),
)

LAB = Lab(
    name="znode",
    title="The znode data model",
    package="zablab.labs.znode",
    parts=PARTS,
    tests=TESTS,
    student_files=("znode_tree.py",),
    given_points=2,
    serve=serve,
    summary="ZooKeeper's znode tree: Stat, ephemeral and sequential nodes, watches, multi.",
)
