"""The simulator's checks fail on traces and states that break ZAB."""

from zablab.node.replica import make_zxid
from zablab.sim import SimConfig, Simulation
from zablab.sim.checks import check_run, check_trace

Z1, Z2, Z3 = make_zxid(1, 1), make_zxid(1, 2), make_zxid(2, 1)


def ev(node, event, **kw):
    return {"node": node, "t": 0, "event": event, **kw}


def good():
    return [
        ev(1, "elected", epoch=1),
        ev(1, "broadcast", epoch=1, zxid=Z1, txn="a"),
        ev(1, "broadcast", epoch=1, zxid=Z2, txn="b"),
        ev(1, "deliver", zxid=Z1, pos=0, txn="a"),
        ev(2, "deliver", zxid=Z1, pos=0, txn="a"),
        ev(1, "deliver", zxid=Z2, pos=1, txn="b"),
    ]


def violated(trace):
    return {v.split(":", 1)[0] for v in check_trace(trace)}


def test_a_good_trace_passes():
    assert check_trace(good()) == []


def test_two_leaders_in_one_epoch():
    bad = check_trace(good() + [ev(2, "elected", epoch=1)])
    assert any(v.startswith("one-leader-per-epoch") and "leaders ['1', '2']" in v for v in bad)


def test_broadcast_without_leading():
    bad = check_trace(good() + [ev(2, "broadcast", epoch=2, zxid=Z3, txn="c")])
    assert any("without being established" in v for v in bad)


def test_integrity_agreement_and_order():
    assert "integrity" in violated(good() + [ev(3, "deliver", zxid=Z3, pos=0, txn="z")])
    assert "agreement" in violated(good() + [ev(2, "deliver", zxid=Z2, pos=0, txn="b")])
    assert "total-order" in violated(good() + [ev(2, "deliver", zxid=Z1, pos=1, txn="a")])


def test_a_restart_may_redeliver_the_same_txns():
    trace = good() + [ev(2, "restart", pos=0), ev(2, "deliver", zxid=Z1, pos=0, txn="a")]
    assert check_trace(trace) == []


def test_lost_and_divergent_writes_are_reported():
    sim = Simulation(3, SimConfig(nodes=3, fault_every_ms=10**6))
    r = sim.run()
    assert r.ok and r.acked
    final = {n: list(node.app.entries) for n, node in sim.nodes.items()}
    assert check_run(sim.outcome(final)) == []
    final[2] = final[2][:-1]
    assert any("divergent state" in v for v in check_run(sim.outcome(final)))
    lost = sim.nodes[1].app.entries[-1][1]
    for n in final:
        final[n] = [e for e in final[n] if e[1] != lost]
    assert any(f"lost write: {lost.decode()}" in v for v in check_run(sim.outcome(final)))
