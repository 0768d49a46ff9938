"""The AdminServer against Apache ZooKeeper's (Debian's, with the servlet API on its classpath)
in the same state: for every command zablab offers, the same JSON fields, nested ones too;
and the commands zablab does not offer, each with its reason (docs/compat.md).
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from kazoo.client import KazooClient
from pair import zookeeper_and_zablab
from test_monitor_commands import make_state, reason_for

from zablab.apache import LocalZooKeeper
from zablab.node.admin import COMMANDS
from zablab.node.launcher import launch_node
from zablab.ports import free_port

pytestmark = pytest.mark.zookeeper

NOT_OFFERED = {
    "get_trace_mask": "ZooKeeper's request-trace mask: zablab has no request trace log",
    "set_trace_mask": "ZooKeeper's request-trace mask: zablab has no request trace log",
    "initial_configuration": "the zoo.cfg text is not kept by the running node",
    "last_snapshot": "the snapshot list lives in storage, which the server core does not see",
    "observers": "zablab has no observers",
    "observer_connection_stat_reset": "zablab has no observers",
    "system_properties": "Java system properties: zablab runs no JVM",
    "voting_view": "the member list lives in the ensemble runtime, not the server core",
}
# fields that cannot match: the JVM's in environment (zablab gives python.* instead)
JVM_FIELD = re.compile(r"^(java\.|os\.memory\.)")
PYTHON_FIELD = re.compile(r"^python\.")
SKIP_RUN = ("connection_stat_reset", "stat_reset", "set_trace_mask")


def get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_http(port: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            get(port, "/commands")
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def collect(hosts: str, admin_port: int) -> tuple[list[str], dict[str, object]]:
    wait_http(admin_port)
    zk = KazooClient(hosts=hosts, timeout=10)
    zk.start(timeout=20)
    try:
        make_state(zk)
        status, index = get(admin_port, "/commands")
        assert status == 200
        names = re.findall(r'href="/commands/(\w+)"', index.decode())
        out = {}
        for n in names:
            if n not in SKIP_RUN:
                out[n] = json.loads(get(admin_port, f"/commands/{n}")[1])
        return names, out
    finally:
        zk.stop()
        zk.close()


@pytest.fixture(scope="module")
def both(zookeeper_installed: None) -> Iterator[tuple[tuple, tuple]]:
    theirs_port, ours_port = free_port(), free_port()
    cfg = f"admin.enableServer=true\nadmin.serverAddress=127.0.0.1\nadmin.serverPort={ours_port}"
    zk = LocalZooKeeper(admin_port=theirs_port, force_sync=False)
    with zookeeper_and_zablab(zk, cfg) as (zk, node):
        yield collect(node.address, ours_port), collect(zk.hosts, theirs_port)


def shape(value: object, path: str = "") -> set[str]:
    """Every field path in a JSON value (list items merged, map keys that are ids dropped)."""
    out: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            key = "<id>" if re.fullmatch(r"[/\w.-]*\d[\w.-]*|/[\w/]*", k) and path else k
            out.add(f"{path}/{key}")
            out |= shape(v, f"{path}/{key}")
    elif isinstance(value, list):
        for v in value:
            out |= shape(v, f"{path}[]")
    return out


def test_commands_offered_are_zookeepers_or_left_out_with_a_reason(both):
    (our_names, _), (their_names, _) = both
    assert set(our_names) <= set(their_names)
    assert set(our_names) == set(COMMANDS)
    assert sorted(set(their_names) - set(our_names)) == sorted(NOT_OFFERED)


def test_every_command_answers_with_zookeepers_fields(both):
    (_, ours), (_, theirs) = both
    for name, answer in ours.items():
        a, b = shape(answer), shape(theirs[name])
        if name == "environment":
            a = {k for k in a if not PYTHON_FIELD.match(k[1:])}
            b = {k for k in b if not JVM_FIELD.match(k[1:])}
        if name == "monitor":
            b = {k for k in b if reason_for("zk_" + k[1:]) is None}
        # ServerStats' counts of connections refused for lacking mTLS: zablab has no TLS
        b = {
            k
            for k in b
            if not k.endswith(("/non_mtlsremote_conn_count", "/non_mtlslocal_conn_count"))
        }
        if name == "hash" and not theirs[name]["digests"]:
            # ZooKeeper logged no digest yet: its entries are ZxidDigest's getters
            assert a - b == {"/digests[]/zxid", "/digests[]/digest_version", "/digests[]/digest"}
            continue
        assert a == b, (name, sorted(a ^ b))


def test_admin_alias_and_unknown_on_zablab(tmp_path):
    port = free_port()
    cfg = tmp_path / "zoo.cfg"
    cfg.write_text(
        f"admin.enableServer=true\nadmin.serverAddress=127.0.0.1\nadmin.serverPort={port}\n"
    )
    node = launch_node(str(tmp_path / "data"), fsync=False, extra_args=["--config", str(cfg)])
    try:
        wait_http(port)
        status, body = get(port, "/commands/mntr")
        assert status == 200 and json.loads(body)["command"] == "monitor"
        status, body = get(port, "/commands/nonesuch")
        assert status == 404 and "Unknown command" in json.loads(body)["error"]
        import socket

        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"\x00\xffgarbage\r\n\r\n")
            assert s.recv(100).startswith(b"HTTP/1.1 400")
        status, body = get(port, "/commands/ruok")  # still serving
        assert status == 200 and json.loads(body) == {"command": "ruok", "error": None}
    finally:
        node.stop()
