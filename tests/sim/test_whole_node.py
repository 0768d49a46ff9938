"""The whole node under the simulator: clients' histories checked, faults, determinism."""

from __future__ import annotations

import logging

import pytest

from zablab.sim.whole import WholeConfig, WholeResult, failing, simulate_whole


@pytest.fixture(autouse=True)
def _quiet_servers() -> None:
    logging.getLogger("zablab.node").setLevel(logging.ERROR)


def _child(r: WholeResult, *path: str) -> object:
    res = r.result
    for name in path:
        res = next(c for c in res.children if c.checker == name)
    return res.valid


def test_register_seeds_are_valid_with_checked_ops_and_faults() -> None:
    crashes = partitions = pauses = infos = 0
    for seed in range(6):
        r = simulate_whole(seed, WholeConfig())
        assert r.valid is True, r.summary()
        assert r.stats["ok"] > 20, r.summary()  # a verdict on real operations
        assert _child(r, "register", "linearizable") is True
        assert _child(r, "final-reads") is True
        crashes += r.stats["crashes"]
        partitions += r.stats["partitions"]
        pauses += r.stats["pauses"]
        infos += r.stats["info"]
    assert crashes and partitions and pauses and infos  # faults happened, clients saw them


def test_history_has_jepsen_fields_and_final_reads_on_every_node() -> None:
    r = simulate_whole(1, WholeConfig())
    ops = [o for o in r.history if o.is_client]
    assert {o.type for o in ops} >= {"invoke", "ok"}
    assert all(isinstance(o.process, int) and o.extra["node"].startswith("n") for o in ops)
    oks = [o for o in ops if o.type == "ok" and o.f in ("read", "write")]
    assert all("zxid" in o.extra and "session" in o.extra for o in oks)
    finals = {o.extra["node"] for o in ops if o.type == "ok" and o.extra.get("final")}
    assert finals == {"n1", "n2", "n3"}
    times = [o.time for o in r.history]
    assert times == sorted(times)
    assert [o.index for o in r.history] == list(range(len(r.history)))
    # a lost connection or a timeout during a write is indeterminate, and the client moves on
    # as a new process
    info = [o for o in ops if o.type == "info"]
    assert info and all(o.extra.get("error") for o in info)
    for o in info:
        later = [x for x in ops if x.process == o.process and x.index > o.index]
        assert not later, f"process {o.process} went on after an info"


def test_same_seed_same_history_byte_for_byte() -> None:
    a = simulate_whole(7, WholeConfig())
    b = simulate_whole(7, WholeConfig())
    assert a.history_jsonl() == b.history_jsonl()
    assert a.history_hash == b.history_hash and a.trace_hash == b.trace_hash
    assert simulate_whole(8, WholeConfig()).history_hash != a.history_hash


def test_commit_without_quorum_fails_linearizability() -> None:
    r = simulate_whole(11, WholeConfig(bugs=("commit-without-quorum",)))
    assert r.valid is False
    assert _child(r, "register", "linearizable") is False
    assert _child(r, "zab") is False
    assert any("linearizable" in line for line in failing(r.result))
    assert "--bug commit-without-quorum" in r.summary()


def test_set_workload_valid_and_loses_elements_under_the_bug() -> None:
    ok = simulate_whole(2, WholeConfig(workload="set"))
    assert ok.valid is True, ok.summary()
    assert any(o.f == "add" and o.type == "ok" for o in ok.history)
    bad = simulate_whole(0, WholeConfig(workload="set", bugs=("commit-without-quorum",)))
    assert _child(bad, "set") is False


def test_nothing_checked_is_unknown_not_valid() -> None:
    # every request times out before any reply can arrive: no op completes
    r = simulate_whole(0, WholeConfig(op_timeout_ms=1, max_delay_ms=8, duration_ms=1000))
    assert r.stats["ok"] == 0
    assert r.valid == "unknown"


def test_five_nodes_run_valid() -> None:
    r = simulate_whole(3, WholeConfig(nodes=5))
    assert r.valid is True, r.summary()
    assert _child(r, "final-reads") is True


def test_session_workload_ephemerals_end_with_their_sessions() -> None:
    r = simulate_whole(1, WholeConfig(workload="session"))
    assert r.valid is True, r.summary()
    created = [o for o in r.history if o.f == "create" and o.type == "ok"]
    finals = [o for o in r.history if o.type == "ok" and o.extra.get("final")]
    assert created and len(finals) == 3 and all(o.value == [] for o in finals)
    # the same history with one ephemeral still listed by a final read must be rejected
    from zablab.checkers.ephemerals import check_sessions

    finals[0].value = [created[0].value]
    assert check_sessions(r.history).valid is False


def test_same_seed_same_history_in_other_processes() -> None:
    """Nothing depends on Python's per-process hash seed (set order, id())."""
    import os
    import subprocess
    import sys

    code = (
        "import logging; logging.getLogger('zablab.node').setLevel(logging.ERROR)\n"
        "from zablab.sim.whole import WholeConfig, simulate_whole\n"
        "print(simulate_whole(5, WholeConfig(workload='session')).history_hash)\n"
    )
    want = simulate_whole(5, WholeConfig(workload="session")).history_hash
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == want


def test_a_restarted_server_recovers_from_what_its_disk_synced() -> None:
    r = simulate_whole(0, WholeConfig())
    assert r.stats["crashes"] > 0
    restarts = [e for e in r.trace if e.get("event") == "restart"]
    # the first start of each server finds an empty disk; a restart after a crash finds the
    # log it synced (SimDisk drops only what was never fsynced)
    recovered = [e for e in restarts[3:] if e.get("last_zxid", 0) > 0]
    assert recovered, restarts


def test_a_paused_server_answers_nothing_until_it_resumes() -> None:
    checked = 0
    for seed in range(12):
        r = simulate_whole(seed, WholeConfig())
        ms = 1_000_000
        nem = [o for o in r.history if o.process == "nemesis" and o.type == "info"]
        for p in (o for o in nem if o.f == "pause"):
            node = p.value[0]
            end = next(
                (o.time for o in nem if o.f == "resume" and o.value == [node] and o.time > p.time),
                None,
            )
            if end is None or end - p.time < 50 * ms:
                continue
            answered = [
                o
                for o in r.history
                if o.is_client
                and o.type == "ok"
                and o.extra["node"] == node
                and p.time + 10 * ms < o.time < end
            ]
            assert not answered, f"seed {seed}: {node} answered while paused: {answered[0]}"
            checked += 1
    assert checked >= 3


def test_a_run_cut_short_by_its_event_bound_is_unknown() -> None:
    r = simulate_whole(1, WholeConfig(max_events=1500))
    assert r.stats["ok"] > 0  # what was checked passed, but the run did not finish
    assert r.valid == "unknown"
    assert any("max-events" in line for line in failing(r.result))


@pytest.mark.parametrize(
    ("workload", "nodes"), [("register", 3), ("set", 5), ("session", 5), ("lock", 3)]
)
def test_a_process_never_has_two_ops_in_flight(workload: str, nodes: int) -> None:
    for seed in range(4):
        r = simulate_whole(seed, WholeConfig(workload=workload, nodes=nodes))
        open_: dict[int, int] = {}
        for o in r.history:
            if not o.is_client:
                continue
            if o.type == "invoke":
                assert o.process not in open_, f"seed {seed}: process {o.process} at {o.index}"
                open_[o.process] = o.index
            else:
                assert open_.pop(o.process, None) is not None, f"seed {seed}: {o}"


def test_lock_workload_fences_writes_with_its_tokens() -> None:
    r = simulate_whole(1, WholeConfig(workload="lock"))
    assert r.valid is True, r.summary()
    ok = [o for o in r.history if o.type == "ok"]
    acquired = [o.value for o in ok if o.f == "acquire"]
    writes = [o for o in ok if o.f == "write"]
    assert len(writes) >= 5 and acquired == sorted(acquired)  # tokens grow with each holder
    assert "final-reads" not in {c.checker for c in r.result.children}  # lock has none
    # the same history with the last accepted write carrying the first holder's token: stale
    from zablab.checkers.fencing import check_fencing

    last = writes[-1]
    inv = next(o for o in reversed(r.history[: last.index]) if o.process == last.process)
    inv.value = last.value = writes[0].value
    assert check_fencing(r.history).valid is False
