"""`zablab cluster`: a long-lived local cluster (no fault proxy) recorded in a state file."""

from __future__ import annotations

import os
import tempfile
from typing import Any

from zablab.apache.classpath import cli_command
from zablab.harness import leftovers
from zablab.harness.backends import cleanup_runs
from zablab.harness.backends.base import Node
from zablab.harness.backends.local import LocalBackend
from zablab.harness.db import get_db
from zablab.harness.db.zablab import ZablabDB


def up(db_name: str, count: int, ready_timeout: float = 90.0) -> dict[str, Any]:
    from zablab.errors import UserError

    if count < 1:
        raise UserError("--nodes must be at least 1.")
    state = leftovers.RunState.create("cluster", "local")
    base = tempfile.mkdtemp(prefix="zablab-cluster-")
    state.add_dir(base)
    backend = LocalBackend(base_dir=base, proxy=False)
    ok = False
    try:
        nodes = backend.setup(count)
        db = get_db(db_name, on_spawn=lambda n, pid: state.add_proc(n.name, pid))
        db.setup(nodes)
        for n in nodes:
            db.start(n)
        db.await_ready(nodes, ready_timeout)
        connect = db.connection_string(nodes)
        state.info = {
            "db": db_name,
            "connect": connect,
            # a node joining this ensemble needs it in ZABLAB_ENSEMBLE_SECRET
            **({"secret": db.secret} if isinstance(db, ZablabDB) else {}),
            "nodes": [
                {"name": n.name, "host": n.host, "client_port": n.client_port} for n in nodes
            ],
        }
        state.save()
        ok = True
        return {
            "connect": connect,
            "leader": ", ".join(db.primaries(nodes)),
            "zkcli": " ".join(cli_command(nodes[0].client_address)),
            "state": state.path,
        }
    finally:
        if not ok:
            leftovers.kill_procs(state)
            backend.teardown()
            import shutil

            shutil.rmtree(base, ignore_errors=True)
            state.remove()


def down() -> list[str]:
    notes = cleanup_runs(("cluster",), include_live=True)
    notes += cleanup_runs(("test",))
    return notes or ["nothing to clean up."]


def status() -> list[dict[str, Any]]:
    from zablab.harness.control.local import LocalRemote

    rows = []
    for st in leftovers.load_all():
        if st.kind != "cluster" or not st.info:
            continue
        db = get_db(st.info["db"])
        alive = {p["node"]: p for p in st.procs if leftovers._alive(p)}
        nodes = []
        for d in st.info["nodes"]:
            n = Node(d["name"], 0, d["host"], LocalRemote(), client_port=d["client_port"])
            p = alive.get(d["name"])
            nodes.append(
                {
                    "name": d["name"],
                    "address": n.client_address,
                    "pid": p["pid"] if p else "-",
                    "mode": db.mode(n) if p else None,
                }
            )
        rows.append(
            {
                "db": st.info["db"],
                "connect": st.info["connect"],
                "state": "up" if alive else "down",
                "nodes": nodes,
                "file": os.path.basename(st.path),
            }
        )
    return rows
