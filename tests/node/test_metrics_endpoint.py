"""`/metrics` parses as the Prometheus text format and carries the names ZooKeeper's
PrometheusMetricsProvider exports, which exporter dashboards query."""

from __future__ import annotations

import urllib.request

from kazoo.client import KazooClient
from prometheus_client.parser import text_string_to_metric_families

from zablab.node.launcher import launch_node
from zablab.ports import free_port

DASHBOARD_NAMES = {
    "znode_count": "gauge",
    "watch_count": "gauge",
    "ephemerals_count": "gauge",
    "num_alive_connections": "gauge",
    "outstanding_requests": "gauge",
    "approximate_data_size": "gauge",
    "avg_latency": "gauge",
    "max_latency": "gauge",
    "min_latency": "gauge",
    "packets_received": "gauge",
    "packets_sent": "gauge",
    "open_file_descriptor_count": "gauge",
    "max_file_descriptor_count": "gauge",
    "uptime": "gauge",
    "global_sessions": "gauge",
    "readlatency": "summary",
    "updatelatency": "summary",
    "fsynctime": "summary",
    "bytes_received_count": "counter",
}


def test_metrics_parse_and_carry_zookeepers_names(tmp_path):
    port = free_port()
    cfg = (
        "metricsProvider.className="
        "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\n"
        f"metricsProvider.httpHost=127.0.0.1\nmetricsProvider.httpPort={port}\n"
    )
    node = launch_node(str(tmp_path / "data"), zoo_cfg=cfg)
    try:
        zk = KazooClient(hosts=node.address, timeout=10)
        zk.start(timeout=20)
        zk.create("/m", b"12345")
        for _ in range(5):
            zk.get("/m")
        zk.stop()
        zk.close()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            text = r.read().decode()
    finally:
        node.stop()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name, kind in DASHBOARD_NAMES.items():
        assert name in families, name
        assert families[name].type == kind, name
    samples = {s.name: s for f in families.values() for s in f.samples}
    assert samples["znode_count"].value == 6.0  # /, /zookeeper, quota, config, /m (+ root twice)
    assert samples["readlatency_count"].value >= 5
    assert samples["updatelatency_count"].value >= 1
    quantiles = {s.labels["quantile"] for s in families["readlatency"].samples if s.labels}
    assert quantiles == {"0.5", "0.9", "0.99"}
