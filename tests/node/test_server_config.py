"""zoo.cfg parsing, myid, and `zablab node` errors a user can cause."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from kazoo.client import KazooClient

from zablab.errors import UserError
from zablab.node.config import read_myid, read_zoo_cfg, validate
from zablab.node.launcher import NodeProcess


def write(tmp_path, text: str):
    p = tmp_path / "zoo.cfg"
    p.write_text(text)
    return str(p)


def test_reads_zookeeper_keys(tmp_path):
    cfg = read_zoo_cfg(
        write(
            tmp_path,
            "# comment\n"
            "tickTime=500\ninitLimit=7\nsyncLimit=3\ndataDir=/var/zab\nclientPort=2999\n"
            "clientPortAddress=127.0.0.1\nmaxClientCnxns=9\n"
            "server.1=10.0.0.1:2888:3888\nserver.2=10.0.0.2:2889:3889:participant;2182\n"
            "4lw.commands.whitelist=*\nautopurge.purgeInterval=1\nforceSync=no\n",
        )
    )
    assert (cfg.tick_time, cfg.init_limit, cfg.sync_limit) == (500, 7, 3)
    assert (cfg.data_dir, cfg.client_port, cfg.client_port_address) == (
        "/var/zab",
        2999,
        "127.0.0.1",
    )
    assert cfg.max_client_cnxns == 9 and cfg.fsync is False
    assert cfg.servers[1].host == "10.0.0.1" and cfg.servers[1].peer_port == 2888
    assert cfg.servers[2].election_port == 3889 and cfg.servers[2].client_port == 2182


@pytest.mark.parametrize(
    "text,words",
    [
        ("tickTime=fast\n", "tickTime='fast' is not an integer"),
        ("bogusKey=1\n", "unknown key 'bogusKey'"),
        ("server.1=hostonly\n", "host:peerPort:electionPort"),
        ("just a line\n", "expected key=value"),
    ],
)
def test_bad_config_is_one_clear_sentence(tmp_path, text, words):
    with pytest.raises(UserError) as info:
        read_zoo_cfg(write(tmp_path, text))
    assert words in str(info.value) and "zoo.cfg:1" in str(info.value)


def test_missing_file_and_missing_data_dir(tmp_path):
    with pytest.raises(UserError, match="cannot read config file"):
        read_zoo_cfg(str(tmp_path / "nope.cfg"))
    with pytest.raises(UserError, match="no data directory"):
        validate(read_zoo_cfg(write(tmp_path, "clientPort=1\n")))


def test_myid(tmp_path):
    assert read_myid(str(tmp_path)) is None
    (tmp_path / "myid").write_text("3\n")
    assert read_myid(str(tmp_path)) == 3
    (tmp_path / "myid").write_text("three")
    with pytest.raises(UserError, match="myid"):
        read_myid(str(tmp_path))


def test_node_runs_from_a_zoo_cfg(tmp_path):
    data = tmp_path / "data"
    cfg = write(
        tmp_path, f"tickTime=300\ndataDir={data}\nclientPort=0\nclientPortAddress=127.0.0.1\n"
    )
    node = NodeProcess(str(tmp_path), str(tmp_path / "node.log"), ["--config", cfg]).start()
    try:
        zk = KazooClient(hosts=node.address)
        zk.start()
        zk.create("/from-cfg")
        assert zk.exists("/from-cfg")
        zk.stop()
        zk.close()
        assert b"tickTime=300" in _four(node.address, b"conf")
    finally:
        node.stop()
    assert node.proc is not None and node.proc.returncode == 0


def _four(address: str, word: bytes) -> bytes:
    host, port = address.split(":")
    with socket.create_connection((host, int(port))) as s:
        s.sendall(word)
        out = b""
        while chunk := s.recv(4096):
            out += chunk
        return out


def test_port_in_use_is_a_one_line_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "zablab", "node", "--data-dir", str(tmp_path / "d")]
            + ["--port", str(port), "--client-port-address", "127.0.0.1"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert proc.returncode == 255
    err = proc.stderr.strip().splitlines()[-1]
    assert err.startswith("zablab: error: cannot listen on") and "--port" in err
    assert "Traceback" not in proc.stderr


def test_ensemble_member_needs_its_id_among_the_servers(tmp_path):
    cfg = read_zoo_cfg(
        write(tmp_path, "dataDir=/d\nserver.1=127.0.0.1:1:2\nserver.2=127.0.0.1:3:4\n")
    )
    with pytest.raises(UserError, match="not among the server.N lines"):
        validate(cfg)
    cfg.server_id = 2
    validate(cfg)


def test_busy_peer_port_is_a_one_line_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        cfg = write(
            tmp_path,
            f"dataDir={tmp_path / 'd'}\nclientPort=0\nclientPortAddress=127.0.0.1\n"
            f"server.1=127.0.0.1:{busy}:1\nserver.2=127.0.0.1:2:3\n",
        )
        proc = subprocess.run(
            [sys.executable, "-m", "zablab", "node", "--config", cfg, "--id", "1"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert proc.returncode == 255
    err = proc.stderr.strip().splitlines()[-1]
    assert f"127.0.0.1:{busy} (zab port of server.1)" in err and "Traceback" not in proc.stderr


def test_reads_the_server_feature_keys(tmp_path):
    cfg = read_zoo_cfg(
        write(
            tmp_path,
            "extendedTypesEnabled=true\nenforceQuota=true\n"
            "znode.container.checkIntervalMs=250\nznode.container.maxNeverUsedIntervalMs=9000\n"
            "4lw.commands.whitelist=srvr, mntr\n"
            "admin.enableServer=true\nadmin.serverAddress=127.0.0.1\nadmin.serverPort=8181\n"
            "admin.commandURL=/cmds/\n"
            "metricsProvider.className="
            "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\n"
            "metricsProvider.httpHost=127.0.0.1\nmetricsProvider.httpPort=7001\n"
            "zablab.secretFile=/etc/zablab/secret\n",
        )
    )
    s = cfg.server
    assert (s.extended_types, s.enforce_quota) == (True, True)
    assert (s.container_check_ms, s.container_max_never_used_ms) == (250, 9000)
    assert s.four_letter_whitelist == frozenset({"srvr", "mntr"})
    assert (s.admin_enabled, s.admin_address, s.admin_port) == (True, "127.0.0.1", 8181)
    assert s.admin_command_url == "/cmds"
    assert (s.metrics_enabled, s.metrics_host, s.metrics_port) == (True, "127.0.0.1", 7001)
    assert cfg.secret_file == "/etc/zablab/secret"


@pytest.mark.parametrize(
    "line, words",
    [
        ("enforceQuota=maybe", "must be true or false"),
        ("admin.serverPort=70000", "is not a TCP port"),
        ("metricsProvider.className=com.example.Nope", "is not one zablab has"),
        ("znode.container.checkIntervalMs=0", "must be at least 1"),
    ],
)
def test_bad_feature_values_are_one_line_errors(tmp_path, line, words):
    with pytest.raises(UserError, match=words) as e:
        read_zoo_cfg(write(tmp_path, line + "\n"))
    assert "\n" not in str(e.value) and "zoo.cfg:1" in str(e.value)


def test_extended_types_need_a_server_id_below_255(tmp_path):
    cfg = read_zoo_cfg(write(tmp_path, "extendedTypesEnabled=true\ndataDir=/x\n"))
    cfg.server_id = 255
    with pytest.raises(UserError, match="above 254"):
        validate(cfg)
