"""The docker backend on the real Docker Engine: containers reached over SSH, faults inside them.

Needs root (the image is built with debootstrap when missing) and a running Docker daemon.
Everything a test creates is removed by the fixture, and the leak check proves it.
"""

from __future__ import annotations

import os
import shlex
import time

import pytest

from zablab.errors import UserError
from zablab.harness.control.ssh import SshRemote, SshTarget

docker = pytest.importorskip("docker")

from zablab.harness.backends import docker as dockerb  # noqa: E402
from zablab.harness.backends import docker_image  # noqa: E402

CLIENT = docker_image.reachable_docker_client()
pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(CLIENT is None, reason="no Docker daemon"),
    pytest.mark.skipif(os.geteuid() != 0, reason="building the image needs root"),
]


def run_objects(run_id: str) -> list[str]:
    flt = {"label": f"{dockerb.LABEL_RUN}={run_id}"}
    return [c.name for c in CLIENT.containers.list(all=True, filters=flt)] + [
        n.name for n in CLIENT.networks.list(filters=flt)
    ]


@pytest.fixture(scope="module")
def cluster():
    backend = dockerb.DockerBackend("zablab", client=CLIENT)
    try:
        nodes = backend.setup(3)
        yield backend, nodes
    finally:
        backend.teardown()
        assert run_objects(backend.run_id) == []


TCP_SERVER = (
    "import socket\n"
    "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind(('0.0.0.0', 7000)); s.listen()\n"
    "while True:\n"
    "    c, _ = s.accept(); c.sendall(b'hi'); c.close()\n"
)


def can_connect(src, dst_host: str) -> bool:
    code = (
        "import socket,sys\n"
        f"s = socket.create_connection(({dst_host!r}, 7000), timeout=1.5)\n"
        "sys.exit(0 if s.recv(2) == b'hi' else 3)\n"
    )
    return src.remote.exec(f"python3 -c {shlex.quote(code)}", check=False).rc == 0


def test_nodes_are_containers_on_a_private_network(cluster):
    backend, nodes = cluster
    assert [n.name for n in nodes] == ["n1", "n2", "n3"]
    assert [n.id for n in nodes] == [1, 2, 3]
    net = CLIENT.networks.get(backend.network_name)
    assert net.attrs["Internal"] is True
    for n in nodes:
        ctr = CLIENT.containers.get(n.meta["container"])
        assert ctr.labels[dockerb.LABEL_RUN] == backend.run_id
        assert "NET_ADMIN" in ctr.attrs["HostConfig"]["CapAdd"]
        assert n.remote.exec("hostname").out.strip() == n.name
        # peers resolve by name, and the staged zablab package imports with the node's python
        assert n.remote.exec("getent hosts n3").out.split()[0] == nodes[2].host
        out = n.remote.exec(f"{n.meta['python']} -c 'import zablab.node; print(1)'").out
        assert out.strip() == "1"


def test_host_keys_are_pinned_and_a_wrong_one_is_refused(cluster, tmp_path):
    backend, nodes = cluster
    lines = open(backend.known_hosts).read().splitlines()
    assert {line.split()[0] for line in lines} == {n.host for n in nodes}
    # claim n2's key for n1's address: the connection must be refused, not trusted
    k2 = next(line for line in lines if line.startswith(nodes[1].host + " "))
    wrong = tmp_path / "known_hosts"
    wrong.write_text(nodes[0].host + " " + k2.split(" ", 1)[1] + "\n")
    remote = SshRemote(
        SshTarget(host=nodes[0].host, key_file=backend.key_file, known_hosts=str(wrong))
    )
    with pytest.raises(UserError, match="does not match"):
        remote.exec("true")
    remote.close()


def test_partition_by_iptables_inside_the_container(cluster):
    backend, nodes = cluster
    n1, n2, _ = nodes
    pid = n2.remote.spawn(f"python3 -c {shlex.quote(TCP_SERVER)}", log="/tmp/tcp.log")
    try:
        deadline = time.monotonic() + 10
        while not can_connect(n1, n2.host):
            assert time.monotonic() < deadline, "test server did not come up"
        net = backend.net()
        net.partition({"n2": {"n1"}})
        try:
            assert any(n1.host in r for r in net.rules("n2"))
            assert not can_connect(n1, n2.host)
            assert can_connect(nodes[2], n2.host)
        finally:
            net.heal()
        assert net.rules("n2") == []
        assert can_connect(n1, n2.host)
    finally:
        n2.remote.signal(pid, "KILL")


def test_kill_and_pause_by_signal_are_reaped(cluster):
    _, nodes = cluster
    r = nodes[0].remote
    pid = r.spawn("sleep 300", log="/tmp/sleep.log")
    assert r.alive(pid)
    assert r.signal(pid, "STOP")
    assert r.exec(f"ps -o stat= -p {pid}").out.strip().startswith("T")
    assert r.signal(pid, "CONT")
    assert r.signal(pid, "KILL")
    deadline = time.monotonic() + 5
    while r.alive(pid):  # docker's init reaps it: no zombie that looks alive
        assert time.monotonic() < deadline, "killed process still alive (zombie not reaped)"
        time.sleep(0.05)


def test_clock_bump_reaches_processes_started_with_its_env(cluster):
    backend, nodes = cluster
    clock = backend.clock()
    clock.prepare("n1")
    try:
        clock.bump("n1", 3_600_000)
        env = clock.env("n1")
        skewed = int(nodes[0].remote.exec("date +%s", env=env).out)
        real = int(nodes[0].remote.exec("date +%s").out)
        assert skewed - real >= 3590
    finally:
        clock.reset(["n1"])
    assert abs(int(nodes[0].remote.exec("date +%s", env=clock.env("n1")).out) - time.time()) < 60


def test_orphans_of_a_dead_run_are_removed_and_live_ones_kept(cluster):
    backend, _ = cluster
    image = docker_image.image_tag("base")
    run = "orphan" + os.urandom(3).hex()
    labels = {dockerb.LABEL_RUN: run, dockerb.LABEL_OWNER: "1:0.000"}  # pid 1, wrong start
    net = CLIENT.networks.create(f"zablab-{run}", internal=True, labels=labels)
    kept = "keep" + os.urandom(3).hex()  # a `zablab cluster up` cluster
    keep_labels = {dockerb.LABEL_RUN: kept, dockerb.LABEL_OWNER: dockerb.PERSISTENT}
    CLIENT.networks.create(f"zablab-{kept}", internal=True, labels=keep_labels)
    try:
        CLIENT.containers.run(
            image,
            ["sleep", "300"],
            name=f"zablab-{run}-n1",
            detach=True,
            labels=labels,
            network=net.name,
            init=True,
        )
        assert len(run_objects(run)) == 2
        removed = dockerb.cleanup_orphans(CLIENT)
        assert run in removed
        assert backend.run_id not in removed
        assert run_objects(run) == []
        assert run_objects(backend.run_id) != []
        assert run_objects(kept) != []
        assert kept in dockerb.cleanup_orphans(CLIENT, include_persistent=True)
        assert run_objects(kept) == []
    finally:
        dockerb.remove_run(CLIENT, run)
        dockerb.remove_run(CLIENT, kept)


def test_teardown_is_idempotent_and_removes_everything():
    backend = dockerb.DockerBackend("zablab", client=CLIENT)
    try:
        backend.setup(1)
        assert len(run_objects(backend.run_id)) == 2
        workdir = backend.workdir
    finally:
        backend.teardown()
    backend.teardown()
    assert run_objects(backend.run_id) == []
    assert workdir and not os.path.exists(workdir)
    assert docker_image.image_exists(CLIENT, docker_image.image_tag("base"))  # kept by tag


def test_ssh_backend_drives_the_containers_like_vms(cluster, tmp_path):
    """The compose path: the same containers through a nodes file, as on Docker Desktop."""
    from zablab.harness.backends.ssh import SshBackend

    backend, nodes = cluster
    nodes_file = tmp_path / "nodes"
    nodes_file.write_text("".join(f"{n.host}\n" for n in nodes))
    ssh = SshBackend(str(nodes_file), key_file=backend.key_file, known_hosts=backend.known_hosts)
    try:
        got = ssh.setup(3)
        assert [(n.name, n.host) for n in got] == [(n.name, n.host) for n in nodes]
        for n in got:
            out = n.remote.exec(f"{n.meta['python']} -c 'import zablab.node; print(2)'").out
            assert out.strip() == "2"
            assert n.remote.exec("hostname").out.strip() == n.name
    finally:
        ssh.teardown()
