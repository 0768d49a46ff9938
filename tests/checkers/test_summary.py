"""Verdict sentences: the numbers in each checker's summary come from what it found, an unknown
one says why, and every checker has its one-sentence explanation (shared with the docs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from zablab.checkers.faults import describe_grudge, describe_period, fault_periods
from zablab.checkers.fencing import check_fencing
from zablab.checkers.linearizable import check_linearizable
from zablab.checkers.models import CasRegister
from zablab.checkers.registry import CHECKERS
from zablab.checkers.result import Result, compose
from zablab.checkers.stats import check_errors, check_stats
from zablab.checkers.summary import EXPLAIN, annotate, explain, headline, summarize
from zablab.checkers.workloads import check_counter, check_queue, check_set, check_unique_ids
from zablab.checkers.zab import PROPERTIES, check_zab_trace
from zablab.checkers.zookeeper import check_zookeeper
from zablab.harness.workloads.session import check_sessions
from zablab.history.builder import HistoryBuilder
from zablab.history.jsonl import Op

S = 1_000_000_000
DOCS = Path(__file__).resolve().parents[2] / "docs" / "checkers.md"


def said(result: Result, b: HistoryBuilder) -> str:
    return annotate(result, b.ops()).summary


def halves(a: list[str], b: list[str]) -> dict[str, object]:
    grudge = {n: sorted(b) for n in a} | {n: sorted(a) for n in b}
    return {"shape": "halves", "grudge": grudge}


def lossy_set() -> HistoryBuilder:
    """Adds 0..9 one a second; a partition at 4.5 s; adds 6, 7, 9 vanish from the last read."""
    b = HistoryBuilder()
    for i in range(10):
        b.op(i % 3, "add", i, i * S, i * S + S // 10)
    b.nemesis("start-partition", 4 * S + S // 2, 4 * S + S // 2 + 1000, halves(["n1"], ["n2"]))
    b.nemesis("stop-partition", 8 * S, 8 * S + 1000, "healed")
    b.op(5, "read", None, 11 * S, 11 * S + 100, out=[0, 1, 2, 3, 4, 5, 8])
    return b


def test_lost_adds_are_counted_with_examples_and_the_fault_before_the_first() -> None:
    b = lossy_set()
    text = said(check_set(b.ops()), b)
    assert text.startswith("3 acknowledged adds were lost, e.g. 6, 7, 9")
    assert text.endswith("— first missing after the partition at 4.5 s")


def test_a_valid_set_says_what_was_checked_and_that_stale_reads_are_allowed() -> None:
    b = HistoryBuilder()
    for i in range(4):
        b.op(0, "add", i, i * S, i * S + 10)
    b.op(1, "read", None, 3 * S + 20, 3 * S + 30, out=[0, 1])  # misses acknowledged 2 and 3
    b.op(1, "read", None, 5 * S, 5 * S + 10, out=[0, 1, 2, 3])
    text = said(check_set(b.ops()), b)
    assert "no acknowledged add was lost: of 4 adds attempted, 4 acknowledged" in text
    assert "2 elements showed up late in reads (stale reads), which ZooKeeper allows" in text


def test_an_unknown_set_says_why() -> None:
    b = HistoryBuilder().op(0, "add", 1, 0, 10)
    assert said(check_set(b.ops()), b) == "unknown: no successful read"


def zk_history() -> HistoryBuilder:
    b = HistoryBuilder()
    b.op(0, "write", 1, 0, 1 * S, zxid=1)
    b.op(0, "write", 2, 2 * S, 3 * S, zxid=2)
    b.op(1, "read", None, 4 * S, 5 * S, out=1, zxid=1)  # stale: 2 was acknowledged before
    b.op(2, "read", None, 4 * S, 5 * S, out=2, zxid=2)
    return b


def test_zookeeper_valid_names_its_stale_reads_as_allowed() -> None:
    b = zk_history()
    text = said(check_zookeeper(b.ops()), b)
    assert text.startswith("ZooKeeper's guarantees hold: 2 writes (cas included)")
    assert "2 reads over 3 sessions" in text
    assert text.endswith(
        "1 stale read, which ZooKeeper allows (only writes are linearizable; reads may lag "
        "unless preceded by sync)"
    )


def test_zookeeper_invalid_counts_anomalies_by_kind() -> None:
    b = zk_history().op(3, "read", None, 6 * S, 7 * S, out=99, zxid=5)
    text = said(check_zookeeper(b.ops()), b)
    assert text == (
        "1 violation of ZooKeeper's guarantees (1 read-of-unwritten-value), "
        "e.g. read 99, which no op wrote; besides, 1 stale read, which ZooKeeper allows (only "
        "writes are linearizable; reads may lag unless preceded by sync)"
    )


def test_zookeeper_unknown_without_zxids_says_why() -> None:
    b = HistoryBuilder().op(0, "write", 1, 0, S).op(1, "read", None, 2 * S, 3 * S, out=1)
    text = said(check_zookeeper(b.ops()), b)
    assert text.startswith("unknown: the history records no zxids")


def cas_history() -> HistoryBuilder:
    b = HistoryBuilder().op(0, "write", 1, 0, S)
    b.op(1, "cas", [3, 4], 2 * S, 3 * S, type="fail")
    b.op(1, "cas", [1, 2], 4 * S, 5 * S)
    return b.op(2, "read", None, 6 * S, 7 * S, out=2)


def test_linearizable_counts_ops_and_explains_failed_cas() -> None:
    b = cas_history()
    text = said(check_linearizable(b.ops(), CasRegister()), b)
    assert text == (
        "the history is linearizable: 4 ops checked against the cas-register model "
        "(1 cas that failed its precondition: expected, not errors)"
    )


def test_not_linearizable_names_the_op_and_the_fault_before_it() -> None:
    b = cas_history().nemesis("kill", 7 * S + S // 2, 7 * S + S // 2 + 1000, ["n3"])
    b.op(2, "read", None, 8 * S, 9 * S, out=7)
    text = said(check_linearizable(b.ops(), CasRegister()), b)
    assert text.startswith("not linearizable: no order of the 5 ops explains read -> 7")
    assert "the longest explainable prefix has 4 ops" in text
    assert text.endswith("— invoked after the kill of n3 at 7.5 s")


def test_unknown_linearizable_and_composites_say_why() -> None:
    lin = {"checker": "linearizable", "valid": "unknown", "ops": 8527, "model": "cas-register"}
    lin["reason"] = "timed out after 60 s"
    assert (
        summarize(lin) == "unknown: timed out after 60 s (8,527 ops against the cas-register model)"
    )
    top = {"checker": "register", "valid": "unknown", "children": [lin]}
    top["children"].append({"checker": "zookeeper", "valid": True})
    assert summarize(top).startswith("unknown: linearizable could not decide: timed out after 60 s")
    assert summarize({"checker": "mystery", "valid": "unknown"}) == (
        "unknown: the checker gave no reason"
    )


def test_workload_checkers_put_their_numbers_in_the_sentence() -> None:
    b = HistoryBuilder()
    b.op(0, "add", 2, 0, 10).op(0, "add", 3, 20, 30)
    b.op(1, "read", None, 40, 50, out=99, final=True)
    assert said(check_counter(b.ops()), b) == (
        "1 of 1 read out of bounds, e.g. read 99 where 5–5 was possible (a final read)"
    )
    b = HistoryBuilder()
    for i, v in enumerate([1, 2, 2, 3, 3, 3]):
        b.op(i, "generate", None, i * 10, i * 10 + 5, out=v)
    assert said(check_unique_ids(b.ops()), b) == (
        "2 ids handed out more than once, e.g. 2 (2×), 3 (3×)"
    )
    b = HistoryBuilder()
    for i in range(5):
        b.op(0, "enqueue", i, i * S, i * S + 10)
    b.nemesis("kill", 2 * S + 50, 2 * S + 60, ["n1"])
    b.op(1, "dequeue", None, 6 * S, 6 * S + 10, out=0)
    b.op(1, "drain", None, 7 * S, 7 * S + 10, out=[1, 2])
    text = said(check_queue(b.ops()), b)
    assert text == (
        "2 acknowledged enqueues were lost (neither dequeued nor drained), e.g. 3, 4 "
        "— first missing after the kill of n1 at 2.0 s"
    )


def test_fencing_session_stats_and_errors_sentences() -> None:
    b = HistoryBuilder()
    b.op(0, "acquire", None, 0, 10, out=1).op(1, "acquire", None, 20, 30, out=2)
    b.op(1, "write", [2, "x"], 40, 50).op(0, "write", [1, "y"], 60, 70)
    text = said(check_fencing(b.ops()), b)
    assert text.startswith("1 writes accepted with a stale token, e.g. write with token 1")
    assert said(check_stats(b.ops()), b) == "4 ops: 4 ok, 0 failed, 0 of unknown outcome"
    b.op(2, "write", [3, "z"], 80, 90, type="info", exception="KeyError: 3")
    assert said(check_errors(b.ops()), b) == "1 unexpected exception in the clients: KeyError (1)"
    s = HistoryBuilder()
    s.op(0, "create", None, 0, 10, out="a", session=7)
    s.op(0, "read", None, 20, 30, out=[], session=7)
    assert said(check_sessions(s.ops()), s) == (
        "1 read contradict the session rule: 1 with ephemerals gone while their session was alive"
    )


def ev(node: int, event: str, **kw: object) -> dict[str, object]:
    return {"node": node, "event": event, **kw}


def test_zab_summaries_name_violated_properties() -> None:
    z1 = 1 << 32 | 1
    t = [ev(1, "elected", epoch=1), ev(2, "follow", epoch=1, leader=1)]
    t += [ev(1, "broadcast", epoch=1, zxid=z1), ev(1, "deliver", zxid=z1, pos=0)]
    t += [ev(2, "deliver", zxid=z1, pos=0)]
    r = annotate(check_zab_trace(t), [])
    assert (
        r.summary
        == "ZAB's 7 properties hold on the traces of 2 replicas: 1 broadcast, 2 deliveries"
    )
    r = annotate(check_zab_trace([*t, ev(2, "deliver", zxid=1 << 32 | 7, pos=1)]), [])
    assert r.summary.startswith("ZAB violated: integrity (1), e.g. node 2 delivered")
    assert r.children[0].summary.startswith("1 violation, e.g. node 2 delivered")


def test_headline_names_the_first_failing_checker() -> None:
    b = lossy_set()
    top = annotate(compose("zablab test", [check_set(b.ops()), check_stats(b.ops())]), b.ops())
    assert headline(top.to_dict()).startswith("set: 3 acknowledged adds were lost")
    ok = annotate(compose("zablab test", [check_stats(b.ops())]), b.ops())
    assert headline(ok.to_dict()).startswith("stats: 11 ops: 11 ok")


def test_every_checker_is_explained_in_one_sentence_and_the_docs_show_it() -> None:
    names = set(CHECKERS) | set(PROPERTIES) | {"session"}
    missing = [name for name in names if not explain(name)]
    assert not missing
    assert explain("linearizable key 3") == EXPLAIN["linearizable"]
    docs = re.sub(r"\s+", " ", DOCS.read_text())
    absent = [name for name, text in EXPLAIN.items() if text not in docs]
    assert not absent, f"docs/checkers.md lacks the sentences of {absent}"


@pytest.mark.parametrize(
    ("grudge", "text"),
    [
        (halves(["n1", "n2"], ["n3", "n4", "n5"])["grudge"], "{n1,n2} | {n3,n4,n5}"),
        ({"n1": ["n2", "n3"]}, "{n1} | {n2,n3}"),
        (
            {"n1": ["n4", "n5"], "n2": ["n4", "n5"], "n4": ["n1", "n2"], "n5": ["n1", "n2"]},
            "{n1,n2} | {n4,n5}, n3 hearing both sides",
        ),
    ],
)
def test_partitions_read_as_groups(grudge: dict[str, list[str]], text: str) -> None:
    nodes = ["n1", "n2", "n3", "n4", "n5"] if "n3 hearing" in text else ()
    assert describe_grudge(grudge, nodes) == text


def test_a_ring_of_majorities_reads_as_who_hears_whom() -> None:
    ring = {"n1": ["n3", "n4"], "n2": ["n4", "n5"], "n3": ["n5", "n1"], "n4": ["n1", "n2"]}
    ring["n5"] = ["n2", "n3"]
    assert describe_grudge(ring).startswith("n1 hears {n2,n5}; n2 hears {n1,n3}")


def test_fault_periods_read_as_sentences() -> None:
    b = HistoryBuilder().op(0, "read", None, 0, 40 * S)
    b.nemesis("start-partition", 12 * S, 12 * S + 5, halves(["n1", "n2"], ["n3", "n4", "n5"]))
    b.nemesis("stop-partition", 27 * S - 5, 27 * S, "healed")
    b.nemesis("kill", 30 * S + S // 10, 30 * S + S // 10 + 5, ["n3"])
    b.nemesis("restart", 35 * S, 35 * S + S // 5, ["n3"])
    b.nemesis("start-loss", 36 * S, 36 * S + 5, {"nodes": ["n2"], "probability": 0.2})
    lines = [describe_period(p) for p in fault_periods(b.ops())]
    assert lines == [
        "partition {n1,n2} | {n3,n4,n5} at 12.0–27.0 s",
        "kill n3 at 30.1 s, restarted 35.2 s",
        "packet loss 20% on n2 at 36.0 s, still in force when the history ends",
    ]


def test_faults_that_failed_and_clock_and_delay_faults_read_as_sentences() -> None:
    b = HistoryBuilder().op(0, "read", None, 0, 20 * S)
    b._add(1 * S, Op(-1, 1 * S, "invoke", "nemesis", "kill", None))
    b._add(1 * S + 5, Op(-1, 1 * S + 5, "info", "nemesis", "kill", None, {"error": "no pid"}))
    b.nemesis("start-clock", 2 * S, 2 * S + 5, {"bump_ms": -1500, "nodes": ["n2"]})
    b.nemesis("stop-clock", 4 * S, 4 * S + 5, "reset")
    b.nemesis("start-delay", 5 * S, 5 * S + 5, {"nodes": ["n1", "n4"], "ms": 250})
    b.nemesis("stop-partition", 6 * S, 6 * S + 5, "healed")  # one heal ends every network fault
    lines = [describe_period(p) for p in fault_periods(b.ops())]
    assert lines == [
        "kill at 1.0 s failed to apply: no pid",
        "clock of n2 moved -1.5 s at 2.0–4.0 s",
        "delay 250 ms on n1, n4 at 5.0–6.0 s",
    ]
