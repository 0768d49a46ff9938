"""The report's server-metrics panel: each node's mntr read at the end of a run, shown side by
side, and a node that cannot answer named as such rather than left out."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from zablab.harness import server_metrics
from zablab.node.launcher import launch_node
from zablab.ports import free_port


@dataclass
class FakeNode:  # the fields of backends.base.Node that collect() reads
    name: str
    host: str
    client_port: int
    meta: dict[str, object] = field(default_factory=dict)


def test_mntr_lines_parse_into_zookeeper_keys():
    text = "zk_version\t3.8.0\nzk_znode_count\t7\nnot a metric\nzk_server_state\tleader\n"
    assert server_metrics.parse_mntr(text) == {
        "zk_version": "3.8.0",
        "zk_znode_count": "7",
        "zk_server_state": "leader",
    }


def test_collect_reads_a_live_node_and_names_the_silent_ones(tmp_path):
    node = launch_node(str(tmp_path / "data"), fsync=False)
    try:
        nodes = [
            FakeNode("n1", "127.0.0.1", node.port),
            FakeNode("n2", "127.0.0.1", free_port()),  # nothing listens there
            FakeNode("n3", "127.0.0.1", node.port, {"paused": True}),
        ]
        found = server_metrics.collect(nodes, tmp_path)  # type: ignore[arg-type]
    finally:
        node.stop()
    assert found["n1"]["zk_server_state"] == "standalone"
    assert int(found["n1"]["zk_znode_count"]) >= 2
    assert found["n2"]["error"].startswith("no answer")
    assert found["n3"] == {"error": "paused"}
    assert json.loads((tmp_path / server_metrics.FILE).read_text()) == found
    names, rows = server_metrics.table(tmp_path)
    assert names == ["n1", "n2", "n3"]
    by_key = {k: values for k, _, values in rows}
    assert by_key["zk_server_state"][0] == "standalone"
    assert by_key["zk_server_state"][1].startswith("no answer")


def test_a_run_without_metrics_has_an_empty_table(tmp_path):
    assert server_metrics.table(tmp_path) == ([], [])
