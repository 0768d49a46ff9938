"""The servers' own view of a run: each node's `mntr` read at the end, before teardown.

Both systems under test answer mntr with ZooKeeper's key names (the same names their Prometheus
endpoints carry), so one panel in the report compares zablab and Apache ZooKeeper node by node:
what each served, how fast, and how far behind its followers were.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zablab.apache.fourletter import four_letter
from zablab.harness.backends.base import Node

FILE = "server-metrics.json"

#: the keys the report shows, in this order, with what each says (ZooKeeper's mntr names)
SHOWN: dict[str, str] = {
    "zk_server_state": "role at the end",
    "zk_znode_count": "znodes",
    "zk_ephemerals_count": "ephemeral znodes",
    "zk_watch_count": "watches",
    "zk_num_alive_connections": "client connections",
    "zk_packets_received": "requests received",
    "zk_packets_sent": "replies and events sent",
    "zk_avg_latency": "mean request latency (ms)",
    "zk_max_latency": "max request latency (ms)",
    "zk_outstanding_requests": "requests queued",
    "zk_approximate_data_size": "data size (bytes)",
    "zk_fsync_threshold_exceed_count": "slow fsyncs",
    "zk_followers": "followers (leader only)",
    "zk_synced_followers": "synced followers (leader only)",
}


def parse_mntr(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("\t")
        if sep and key.startswith("zk_"):
            out[key] = value.strip()
    return out


def collect(nodes: Sequence[Node], run_dir: Path, timeout: float = 2.0) -> dict[str, Any]:
    """Each node's mntr (or why it had none), written to the run directory."""
    found: dict[str, Any] = {}
    for n in nodes:
        if n.meta.get("paused"):
            found[n.name] = {"error": "paused"}
            continue
        try:
            found[n.name] = parse_mntr(four_letter(n.host, n.client_port, "mntr", timeout=timeout))
        except OSError as exc:
            found[n.name] = {"error": f"no answer ({exc.__class__.__name__})"}
    (run_dir / FILE).write_text(json.dumps(found, indent=1), encoding="utf-8")
    return found


def table(run_dir: Path) -> tuple[list[str], list[tuple[str, str, list[str]]]]:
    """(node names, rows of (key, meaning, one value per node)) for the report; empty when the
    run recorded none."""
    path = run_dir / FILE
    if not path.is_file():
        return [], []
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return [], []
    names = sorted(found)
    rows = []
    for key, meaning in SHOWN.items():
        values = [str(found[n].get(key, found[n].get("error", "—"))) for n in names]
        if any(v != "—" for v in values):
            rows.append((key, meaning, values))
    return names, rows
