"""ZAB properties: each flagged on a hand-built violating trace; correct runs pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import zablab.checkers
from zablab.checkers.zab import PROPERTIES, check_zab_trace, load_zab_trace
from zablab.errors import UserError

TRACES = Path(zablab.checkers.__file__).parent / "traces"


def z(epoch: int, n: int) -> int:
    return epoch << 32 | n


def ev(node: int, event: str, **kw: object) -> dict:
    return {"node": node, "event": event, **kw}


def violated(events: list[dict], **kw: object) -> set[str]:
    r = check_zab_trace(events, **kw)  # type: ignore[arg-type]
    assert r.valid is (not r.details["violated"])
    return set(r.details["violated"])


def healthy() -> list[dict]:
    """Leader 1 of epoch 1 broadcasts x, y; all three replicas deliver both."""
    t = [ev(1, "elected", epoch=1), ev(2, "follow", epoch=1, leader=1)]
    t += [ev(3, "follow", epoch=1, leader=1)]
    t += [ev(1, "broadcast", epoch=1, zxid=z(1, 1)), ev(1, "broadcast", epoch=1, zxid=z(1, 2))]
    for n in (1, 2, 3):
        t += [ev(n, "deliver", zxid=z(1, 1), pos=0), ev(n, "deliver", zxid=z(1, 2), pos=1)]
    return t


def test_healthy_trace_passes_every_property() -> None:
    r = check_zab_trace(healthy(), quiesced=True)
    assert r.valid is True
    assert [c.checker for c in r.children] == list(PROPERTIES)


def test_multipaxos_run_breaks_local_primary_order() -> None:
    bad = violated(load_zab_trace(TRACES / "multipaxos-c-b-d.jsonl"))
    assert "local-primary-order" in bad
    assert {"integrity", "total-order", "agreement", "one-leader-per-epoch"}.isdisjoint(bad)


def test_corresponding_zab_run_passes() -> None:
    r = check_zab_trace(load_zab_trace(TRACES / "zab-c-d.jsonl"), quiesced=True)
    assert r.valid is True, r.to_dict()


def test_integrity_delivery_without_broadcast() -> None:
    t = healthy() + [ev(2, "deliver", zxid=z(1, 3), pos=2)]
    assert "integrity" in violated(t)


def test_integrity_by_content() -> None:
    t = [ev(1, "elected", epoch=1), ev(1, "broadcast", epoch=1, zxid=z(1, 1), txn="h1")]
    t += [ev(1, "deliver", zxid=z(1, 1), txn="h1", pos=0)]
    assert violated(t) == set()
    t += [ev(2, "deliver", zxid=z(1, 1), txn="evil", pos=0)]
    assert "integrity" in violated(t)


def test_total_order_reversed_on_another_replica() -> None:
    t = healthy()[:-2] + [
        ev(3, "deliver", zxid=z(1, 2), pos=0),
        ev(3, "deliver", zxid=z(1, 1), pos=1),
    ]
    assert "total-order" in violated(t)


def _total_order_examples(events: list[dict]) -> list[str]:
    r = check_zab_trace(events)
    child = next(c for c in r.children if c.checker == "total-order")
    return list(child.details.get("examples", []))


def test_total_order_reversal_names_the_conflicting_pair() -> None:
    t = healthy()[:-2] + [
        ev(3, "deliver", zxid=z(1, 2), pos=0),
        ev(3, "deliver", zxid=z(1, 1), pos=1),
    ]
    assert (
        "node 1 delivered zxid 0x100000001 before zxid 0x100000002, node 3 the reverse"
        in _total_order_examples(t)
    )


def test_total_order_cycle_through_three_replicas_without_a_reversed_pair() -> None:
    """Each replica delivered two of x, y, w and no two disagree on a pair, yet no single
    order holds all three: x < y (node 1), y < w (node 2), w < x (node 3)."""
    x, y, w = z(1, 1), z(1, 2), z(1, 3)
    t = [ev(1, "elected", epoch=1)] + [ev(1, "broadcast", epoch=1, zxid=v) for v in (x, y, w)]
    for node, (a, b) in ((1, (x, y)), (2, (y, w)), (3, (w, x))):
        t += [ev(node, "deliver", zxid=a, pos=5), ev(node, "deliver", zxid=b, pos=6)]
    cycles = [
        e
        for e in _total_order_examples(t)
        if e.startswith("the replicas' delivery orders form a cycle: ")
    ]
    assert len(cycles) == 1, cycles
    for v in (x, y, w):
        assert f"zxid {v:#x}" in cycles[0]
    # the same deliveries in one consistent order are fine
    ok = [ev(1, "elected", epoch=1)] + [ev(1, "broadcast", epoch=1, zxid=v) for v in (x, y, w)]
    for node, (a, b) in ((1, (x, y)), (2, (y, w)), (3, (x, w))):
        ok += [ev(node, "deliver", zxid=a, pos=5), ev(node, "deliver", zxid=b, pos=6)]
    assert _total_order_examples(ok) == []


def test_total_order_position_redelivered_differently() -> None:
    t = healthy() + [ev(2, "restart"), ev(2, "deliver", zxid=z(1, 2), pos=0)]
    assert "total-order" in violated(t)


def test_agreement_diverging_sequences() -> None:
    t = [ev(1, "elected", epoch=1)]
    t += [ev(1, "broadcast", epoch=1, zxid=z(1, n)) for n in (1, 2, 3)]
    t += [ev(1, "deliver", zxid=z(1, 1), pos=0), ev(1, "deliver", zxid=z(1, 2), pos=1)]
    t += [ev(2, "deliver", zxid=z(1, 1), pos=0), ev(2, "deliver", zxid=z(1, 3), pos=1)]
    assert "agreement" in violated(t)


def test_agreement_prefix_is_fine_until_quiesced() -> None:
    t = healthy()[:-1]  # node 3 lags one txn behind
    assert violated(t) == set()
    assert violated(t, quiesced=True) == {"agreement"}


def test_local_primary_order_gap() -> None:
    t = healthy()[:-2] + [ev(3, "deliver", zxid=z(1, 2), pos=0)]
    assert "local-primary-order" in violated(t)


def test_snapshot_covers_the_prefix() -> None:
    t = healthy()[:-2] + [
        ev(3, "sync", mode="SNAP", leader=1, **{"from": 0, "to": z(1, 1)}, pos=1),
        ev(3, "deliver", zxid=z(1, 2), pos=1),
    ]
    assert violated(t, quiesced=True) == set()


def test_global_primary_order() -> None:
    t = [ev(1, "elected", epoch=1), ev(1, "broadcast", epoch=1, zxid=z(1, 1))]
    t += [ev(2, "elected", epoch=2), ev(2, "broadcast", epoch=2, zxid=z(2, 1))]
    # node 3 delivers the epoch-2 txn first: zxid order is also broken
    t += [ev(3, "deliver", zxid=z(2, 1), pos=0), ev(3, "deliver", zxid=z(1, 1), pos=1)]
    assert "global-primary-order" in violated(t)


def test_primary_integrity() -> None:
    t = [ev(1, "elected", epoch=1), ev(1, "broadcast", epoch=1, zxid=z(1, 1))]
    t += [ev(1, "deliver", zxid=z(1, 1), pos=0)]
    # node 2 becomes primary of epoch 2 and broadcasts before delivering z(1,1)
    t += [ev(2, "elected", epoch=2), ev(2, "broadcast", epoch=2, zxid=z(2, 1))]
    t += [ev(2, "deliver", zxid=z(1, 1), pos=0), ev(2, "deliver", zxid=z(2, 1), pos=1)]
    assert violated(t) == {"primary-integrity"}
    ok = [ev(1, "elected", epoch=1), ev(1, "broadcast", epoch=1, zxid=z(1, 1))]
    ok += [ev(1, "deliver", zxid=z(1, 1), pos=0), ev(2, "elected", epoch=2)]
    ok += [ev(2, "deliver", zxid=z(1, 1), pos=0), ev(2, "broadcast", epoch=2, zxid=z(2, 1))]
    ok += [ev(2, "deliver", zxid=z(2, 1), pos=1)]
    assert violated(ok) == set()


def test_one_leader_per_epoch() -> None:
    t = healthy() + [ev(2, "elected", epoch=1)]
    assert "one-leader-per-epoch" in violated(t)
    t = healthy() + [ev(3, "broadcast", epoch=1, zxid=z(1, 9))]
    assert "one-leader-per-epoch" in violated(t)
    t = healthy() + [ev(3, "follow", epoch=1, leader=2)]
    assert "one-leader-per-epoch" in violated(t)


def test_loader_reads_a_directory_of_node_files(tmp_path: Path) -> None:
    by_node: dict[int, list[dict]] = {}
    for e in healthy():
        by_node.setdefault(e["node"], []).append(e)
    for n, evs in by_node.items():
        d = tmp_path / "nodes" / f"n{n}"
        d.mkdir(parents=True)
        (d / "zab-trace.jsonl").write_text("".join(json.dumps(e) + "\n" for e in evs))
    assert check_zab_trace(load_zab_trace(tmp_path)).valid is True


def test_loader_names_the_bad_line(tmp_path: Path) -> None:
    f = tmp_path / "t.jsonl"
    f.write_text('{"node": 1, "event": "restart"}\n{oops\n')
    with pytest.raises(UserError, match=r"t.jsonl:2"):
        load_zab_trace(f)
    f.write_text('{"node": 1, "event": "deliver", "zxid": "x"}\n')
    with pytest.raises(UserError, match=r"t.jsonl:1"):
        check_zab_trace(load_zab_trace(f))
