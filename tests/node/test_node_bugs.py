"""`zablab node --bug` / `zablab.bugs=`: seeded bugs reach the replica, loudly; typos are errors."""

from __future__ import annotations

import logging

import pytest

from zablab.bugs import NODE_LAYERS, parse_bugs
from zablab.cli import main
from zablab.errors import UserError
from zablab.node.config import NodeConfig, Peer, read_zoo_cfg, validate


def _ensemble_cfg(tmp_path, bugs=frozenset()) -> NodeConfig:
    servers = {i: Peer(i, "127.0.0.1", 1, 2) for i in (1, 2, 3)}
    return NodeConfig(data_dir=str(tmp_path / "d"), server_id=1, servers=servers, bugs=bugs)


def test_parse_bugs_accepts_repeats_and_comma_lists():
    got = parse_bugs(["commit-without-quorum", "ack-before-fsync, diff-without-trunc"], NODE_LAYERS)
    assert got == {"commit-without-quorum", "ack-before-fsync", "diff-without-trunc"}


def test_unknown_bug_is_a_one_line_error(tmp_path, capsys):
    rc = main(["node", "--data-dir", str(tmp_path), "--bug", "commit-without-quorun"])
    err = capsys.readouterr().err
    assert rc == 255
    assert "unknown seeded bug 'commit-without-quorun'" in err and "commit-without-quorum" in err
    assert len(err.strip().splitlines()) == 1


def test_zoo_cfg_key_sets_bugs(tmp_path):
    p = tmp_path / "zoo.cfg"
    p.write_text(
        "dataDir=/tmp/x\nserver.1=127.0.0.1:1:2\nserver.2=127.0.0.1:3:4\n"
        "zablab.bugs=commit-without-quorum,election-ignores-zxid\n"
    )
    assert read_zoo_cfg(str(p)).bugs == {"commit-without-quorum", "election-ignores-zxid"}
    p.write_text("dataDir=/tmp/x\nzablab.bugs=nope\n")
    with pytest.raises(UserError, match="unknown seeded bug 'nope'"):
        read_zoo_cfg(str(p))


def test_bugs_need_an_ensemble(tmp_path):
    cfg = NodeConfig(data_dir=str(tmp_path), bugs=frozenset({"commit-without-quorum"}))
    with pytest.raises(UserError, match="configure an ensemble"):
        validate(cfg)
    validate(_ensemble_cfg(tmp_path, frozenset({"commit-without-quorum"})))


@pytest.mark.parametrize("bugs", [frozenset(), frozenset({"commit-without-quorum"})])
def test_ensemble_replica_gets_the_bugs_with_a_warning(tmp_path, caplog, bugs):
    from zablab.node.ensemble import EnsembleRuntime

    caplog.set_level(logging.WARNING, logger="zablab.node")
    rt = EnsembleRuntime(_ensemble_cfg(tmp_path, bugs))
    try:
        assert rt.replica.bugs.names == bugs  # type: ignore[attr-defined]
        assert rt.replica.bugs.commit_without_quorum == bool(bugs)  # type: ignore[attr-defined]
        warned = [r.getMessage() for r in caplog.records if "SEEDED BUGS ON" in r.getMessage()]
        assert warned == (
            [
                "SEEDED BUGS ON: commit-without-quorum; this server is deliberately "
                "broken and may lose data"
            ]
            if bugs
            else []
        )
    finally:
        rt.storage.close()
        rt._disk.shutdown(wait=True)


def test_zoo_cfg_key_chooses_the_replica_protocol(tmp_path):
    p = tmp_path / "zoo.cfg"
    p.write_text("dataDir=/tmp/x\nserver.1=127.0.0.1:1:2\nzablab.protocol=zab\n")
    assert read_zoo_cfg(str(p)).protocol == "zab"
    p.write_text("dataDir=/tmp/x\nserver.1=127.0.0.1:1:2\nzablab.protocol=paxos\n")
    assert read_zoo_cfg(str(p)).protocol == "paxos"
    p.write_text("dataDir=/tmp/x\nzablab.protocol=raft\n")
    with pytest.raises(UserError) as e:
        read_zoo_cfg(str(p))
    assert str(e.value) == (
        f"{p}:2: unknown replication protocol 'raft'; known protocols: zab, paxos."
    )
