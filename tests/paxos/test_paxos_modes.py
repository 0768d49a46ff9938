"""The two ways to put the server on Paxos: deltas (the primary's txns) and commands (the
clients' requests, prepped at delivery). Both keep Paxos's own properties on random whole-node
seeds and in search; the mode is chosen by zoo.cfg or flags, and a mismatch fails loudly.
bench/paxos_seeds.py runs the 1,000-seed version of the seed test."""

from __future__ import annotations

import logging

import pytest

from zablab.checkers.result import Result
from zablab.errors import UserError
from zablab.node.commands import ModeMismatch, decode_command, encode_command, is_command
from zablab.node.config import NodeConfig, read_zoo_cfg, validate
from zablab.node.prep import Prep, WriteRequest
from zablab.node.protocol import Err, OpCode, SetDataRequest
from zablab.node.replica import Deliver, parse_paxos_mode
from zablab.node.server import ServerCore
from zablab.node.txn import CreateSessionTxn, ErrorTxn, Txn
from zablab.node.zab_replicator import ZabReplicator
from zablab.sim import wire
from zablab.sim.cluster import SimConfig
from zablab.sim.search import Bounds, search
from zablab.sim.whole import WholeConfig, simulate_whole

PAXOS_OWN = ("agreement", "integrity")


def leaves(r: Result) -> list[Result]:
    return [x for c in r.children for x in leaves(c)] if r.children else [r]


@pytest.mark.parametrize("mode", ["deltas", "commands"])
def test_whole_node_seeds_keep_agreement_and_integrity(mode):
    logging.getLogger("zablab.node").setLevel(logging.ERROR)
    for seed in range(10):
        r = simulate_whole(seed, WholeConfig(protocol="paxos", paxos_mode=mode))
        own = [x for x in leaves(r.result) if x.checker in PAXOS_OWN]
        assert len(own) == 2 and all(x.valid is True for x in own), r.summary()
        assert r.stats["ok"] > 20  # clients were served, so the checks saw txns
        wl = next(c for c in r.result.children if c.checker == "register")
        assert wl.valid is True, r.summary()


def test_commands_mode_replicates_requests_not_txns():
    """What Paxos decided are commands, and the servers' trees still agree byte for byte."""
    from zablab.sim.whole import WholeSim

    sim = WholeSim(3, WholeConfig(protocol="paxos", paxos_mode="commands", fault_every_ms=0))
    r = sim.run()
    assert r.valid is True and r.stats["ok"] > 20
    trees = {s.core.tree.serialize()[8:] for s in sim.servers.values() if s.core is not None}
    assert len(trees) == 1
    decided = [
        e.payload
        for s in sim.servers.values()
        if s.rep is not None
        for e in s.rep.replica.log.values()  # type: ignore[attr-defined]
        if not e.noop
    ]
    assert decided and all(is_command(p) for p in decided)


def test_a_server_in_the_other_mode_refuses_the_first_delivery():
    core = ServerCore()
    cmd = encode_command(1, WriteRequest(5, 1, OpCode.CREATE_SESSION, 4000))
    deltas = ZabReplicator(core, object(), mode="deltas", protocol="paxos")  # type: ignore[arg-type]
    with pytest.raises(ModeMismatch, match="is a command, not a txn"):
        deltas.handle([Deliver(1, cmd, 0)])
    txn = Txn(5, 1, 1, 0, OpCode.CREATE_SESSION, CreateSessionTxn(4000)).encode()
    commands = ZabReplicator(ServerCore(), object(), mode="commands", protocol="paxos")  # type: ignore[arg-type]
    with pytest.raises(ModeMismatch, match="is a txn, not a command"):
        commands.handle([Deliver(1, txn, 0)])
    commands.handle([Deliver(1, cmd, 0)])  # its own kind applies
    assert commands.core.tree.sessions == {5: 4000}


def test_search_finds_no_agreement_or_integrity_violation_on_three_nodes():
    only = tuple(p + ":" for p in PAXOS_OWN)
    res = search(
        SimConfig(protocol="paxos", nodes=3),
        "dfs",
        Bounds(ticks=True, time_limit=300, max_states=15_000),  # bound in states, not seconds
        only=only,
    )
    assert res.goal_reached and res.states >= 15_000
    assert res.violations == []


def test_a_filtered_search_counts_what_it_is_told_and_only_that():
    """A seeded bug's violation is still found when its property counts, and is not reported
    when only another does (the search then goes on instead of stopping there)."""
    cfg = SimConfig(bugs=("commit-without-quorum",))
    b = Bounds(max_depth=70, max_restarts=2, time_limit=120, max_states=2_000)
    found = search(cfg, "dfs", b)
    assert found.violations
    prop = found.violations[0].split(":")[0] + ":"
    again = search(cfg, "dfs", b, only=(prop,))
    assert again.violations and all(v.startswith(prop) for v in again.violations)
    other = search(cfg, "dfs", b, only=("no-such-property:",))
    assert other.violations == [] and other.states > found.states


def test_zoo_cfg_and_validation(tmp_path):
    cfg_file = tmp_path / "zoo.cfg"
    cfg_file.write_text(
        "dataDir=/tmp/x\nzablab.protocol=paxos\nzablab.paxos.mode=commands\n"
        "server.1=127.0.0.1:1:2\nserver.2=127.0.0.1:3:4\n"
    )
    cfg = read_zoo_cfg(str(cfg_file))
    assert (cfg.protocol, cfg.paxos_mode) == ("paxos", "commands")
    cfg.server_id = 1
    validate(cfg)
    bad = NodeConfig(data_dir="/tmp/x", paxos_mode="commands")  # zab
    with pytest.raises(UserError, match="needs the paxos protocol"):
        validate(bad)
    with pytest.raises(UserError, match="unknown Paxos mode 'txns'"):
        parse_paxos_mode("txns", "paxos")


def test_a_command_round_trips_and_a_txn_is_refused():
    raw = wire.set_data("/r", b"x", 3).body
    req = WriteRequest(5, 7, OpCode.SET_DATA, SetDataRequest("/r", b"x", 3), [], raw)
    wall, back = decode_command(encode_command(123, req))
    assert wall == 123 and (back.session_id, back.cxid, back.type) == (5, 7, OpCode.SET_DATA)
    assert back.body == SetDataRequest("/r", b"x", 3)
    with pytest.raises(ModeMismatch, match="same zablab.paxos.mode"):
        decode_command(b"\x01" * 40)


def test_commands_prep_reads_the_agreed_session_table():
    """At delivery every server must reach the same txn: a session the primary's tracker marks
    closing (expired there, its close not yet decided) is still live in the agreed table."""
    core = ServerCore()
    sid = 77
    core.tree.sessions[sid] = 4000
    core.tracker.add(sid, 4000, 0)
    core.tracker.set_closing(sid)
    core.tree.nodes["/r"] = core.tree.nodes["/"].__class__(b"", (), 0, 0, 0)
    req = WriteRequest(sid, 1, OpCode.SET_DATA, SetDataRequest("/r", b"x", -1))
    prep = Prep(core.tree, core.tracker)
    primary = prep.prep(req, 1, 0)
    assert isinstance(primary.body, ErrorTxn) and primary.body.err == Err.SESSIONEXPIRED
    prep.reset()
    agreed = prep.prep(req, 1, 0, agreed_sessions=True)
    assert agreed.type == OpCode.SET_DATA
    del core.tree.sessions[sid]
    prep.reset()
    gone = prep.prep(req, 2, 0, agreed_sessions=True)
    assert isinstance(gone.body, ErrorTxn) and gone.body.err == Err.SESSIONEXPIRED
