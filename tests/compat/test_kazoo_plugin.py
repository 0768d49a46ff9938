"""The stand-in cluster and the deselection rules of tests/kazoo_plugin.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

# loaded by path so that plain `pytest` (without the repository on sys.path) works as well
_spec = importlib.util.spec_from_file_location(
    "zablab_kazoo_plugin", Path(__file__).parents[1] / "kazoo_plugin.py"
)
assert _spec is not None and _spec.loader is not None
plugin = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(plugin)
DEFAULT_DESELECT, ExternalCluster = plugin.DEFAULT_DESELECT, plugin.ExternalCluster
is_deselected, read_deselect = plugin.is_deselected, plugin.read_deselect


def test_cluster_members_and_no_op_lifecycle():
    cluster = ExternalCluster("127.0.0.1:1, 127.0.0.1:2")
    assert [s.address for s in cluster] == ["127.0.0.1:1", "127.0.0.1:2"]
    assert cluster[0].running and len(cluster) == 2
    cluster.start()
    cluster.terminate()  # kazoo's tearDownClass: must not touch the external server
    assert cluster[1].running
    with pytest.raises(RuntimeError, match="deselect"):
        cluster[0].stop()


def test_deselect_matches_classes_and_tests_exactly():
    entries = [
        "kazoo.tests.test_client::TestSSLClient",
        "kazoo.tests.test_client::TestClient::test_a",
    ]
    assert is_deselected("kazoo.tests.test_client::TestSSLClient::test_create", entries)
    assert is_deselected("kazoo.tests.test_client::TestClient::test_a", entries)
    assert not is_deselected("kazoo.tests.test_client::TestClient::test_ab", entries)
    assert not is_deselected("kazoo.tests.test_client::TestSSLClientX::test", entries)


def test_deselect_list_only_names_allowed_reasons():
    """Only stop/restart, TLS, SASL and reconfig tests may be left out: the server does not offer them."""
    allowed = ("stop", "restart", "TLS", "SASL", "reconfiguration")
    for line in DEFAULT_DESELECT.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            assert "#" in line and any(word in line.split("#", 1)[1] for word in allowed), line
    assert len(read_deselect(DEFAULT_DESELECT)) == 6
