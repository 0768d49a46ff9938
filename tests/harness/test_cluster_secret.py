"""Each cluster the harness starts gets its own ensemble secret, passed to every node and, for
`zablab cluster up`, kept (owner-only) in the cluster's state file for nodes added by hand."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from zablab.cli import main
from zablab.harness.backends.base import Node
from zablab.harness.control.local import LocalRemote
from zablab.harness.db import get_db


def test_every_zablab_db_has_a_fresh_secret_in_its_nodes_env():
    node = Node("n1", 1, "127.0.0.1", LocalRemote())
    a, b = get_db("zablab"), get_db("zablab", env=lambda n: {"FAKETIME": "+0"})
    assert a.env(node)["ZABLAB_ENSEMBLE_SECRET"] != b.env(node)["ZABLAB_ENSEMBLE_SECRET"]
    assert len(a.env(node)["ZABLAB_ENSEMBLE_SECRET"]) >= 32
    assert b.env(node)["FAKETIME"] == "+0"  # the clock's env is kept beside it


def test_cluster_up_gives_its_nodes_one_secret_and_records_it(runtime_dir, capsys):
    try:
        assert main(["cluster", "up", "--db", "zablab", "--nodes", "3"]) == 0
        out = capsys.readouterr().out
        assert "ZABLAB_ENSEMBLE_SECRET" in out
        (state_file,) = runtime_dir.glob("cluster-*.json")
        assert stat.S_IMODE(os.stat(state_file).st_mode) == 0o600
        state = json.loads(state_file.read_text())
        secret = state["info"]["secret"]
        assert secret and secret not in out  # named where it is, not printed
        for p in state["procs"]:
            env = Path(f"/proc/{p['pid']}/environ").read_bytes().split(b"\0")
            assert f"ZABLAB_ENSEMBLE_SECRET={secret}".encode() in env
    finally:
        assert main(["cluster", "down"]) == 0
