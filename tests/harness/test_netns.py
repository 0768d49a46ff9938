"""The netns backend: namespaces reachable over SSH, iptables faults, clock skew, no leftovers."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from zablab.errors import UserError
from zablab.harness.backends import netns as nb
from zablab.harness.control.remote import RemoteError

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="the netns backend needs root"),
    pytest.mark.skipif(shutil.which("ip") is None, reason="iproute2 is not installed"),
]

LISTEN = (
    "import socket,sys;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);"
    "s.bind(('{addr}',7777));s.listen();s.settimeout(20)\n"
    "while True:\n c,_=s.accept();c.sendall(b'hi');c.close()"
)
CONNECT = (
    "import socket,sys\ntry:\n s=socket.create_connection(('{addr}',7777),timeout=1.5);"
    "print(s.recv(2).decode())\nexcept OSError as e:\n print('blocked')"
)


@pytest.fixture(scope="module")
def cluster():
    backend = nb.NetnsBackend()
    try:
        nodes = backend.setup(3)
        py = nodes[0].meta["python"]
        pids = {}
        for n in nodes:
            script = LISTEN.format(addr=n.host)
            pids[n.name] = n.remote.spawn(
                f"{py} -c {sh_quote(script)}", log=f"{n.workdir}/listener.log"
            )
        time.sleep(0.5)
        yield backend, nodes, pids
    finally:
        backend.teardown()
    assert nb.leftovers() == []


def sh_quote(s: str) -> str:
    import shlex

    return shlex.quote(s)


def talk(src, dst) -> str:
    py = src.meta["python"]
    return src.remote.exec(f"{py} -c {sh_quote(CONNECT.format(addr=dst.host))}").out.strip()


def test_nodes_have_own_addresses_over_ssh(cluster):
    _, nodes, _ = cluster
    for n in nodes:
        out = n.remote.exec("ip -o -4 addr show dev eth0").out
        assert f"{n.host}/24" in out
        # no route out of the lab: only the bridge subnet
        routes = n.remote.exec("ip route").out
        assert "default" not in routes


def test_nodes_reach_each_other(cluster):
    _, nodes, _ = cluster
    assert talk(nodes[0], nodes[1]) == "hi"
    assert talk(nodes[2], nodes[0]) == "hi"


def test_partition_blocks_exactly_the_grudge_and_heal_removes_it(cluster):
    backend, nodes, _ = cluster
    net = backend.net()
    n1, n2, n3 = nodes
    net.partition({"n1": {"n2"}, "n2": {"n1"}})
    try:
        assert any(n2.host in r for r in net.rules("n1"))
        assert "ZABLAB" in n1.remote.exec("iptables -S").out
        assert talk(n1, n2) == "blocked"
        assert talk(n2, n1) == "blocked"
        assert talk(n1, n3) == "hi"
        assert talk(n3, n2) == "hi"
    finally:
        net.heal()
    for n in nodes:
        assert net.rules(n.name) == []
        assert "ZABLAB" not in n.remote.exec("iptables -S").out
    assert talk(n1, n2) == "hi"


def test_total_packet_loss_blocks_and_heals(cluster):
    backend, nodes, _ = cluster
    net = backend.net()
    net.loss(["n3"], 1.0)
    try:
        assert any("statistic" in r for r in net.rules("n3"))
        assert talk(nodes[0], nodes[2]) == "blocked"
    finally:
        net.heal()
    assert talk(nodes[0], nodes[2]) == "hi"


def test_bad_loss_probability_is_refused(cluster):
    backend, _, _ = cluster
    with pytest.raises(UserError):
        backend.net().loss(["n1"], 1.5)


def test_clock_bump_reaches_a_running_process(cluster):
    backend, nodes, _ = cluster
    clock = backend.clock()
    n = nodes[1]
    clock.prepare(n.name)
    env = clock.env(n.name)
    py = n.meta["python"]
    script = (
        "import time,select\nfor i in range(40):\n"
        " print(round(time.time()), flush=True); select.select([],[],[],0.1)"
    )
    pid = n.remote.spawn(f"{py} -u -c {sh_quote(script)}", log=f"{n.workdir}/clock.log", env=env)
    try:
        time.sleep(0.3)
        clock.bump(n.name, 3_600_000)
        time.sleep(2.5)
    finally:
        clock.reset([n.name])
        n.remote.signal(pid, "KILL")
    seen = [int(x) for x in n.remote.exec(f"cat {n.workdir}/clock.log").out.split()]
    now = time.time()
    assert any(abs(v - now) < 30 for v in seen), seen
    assert any(v - now > 3000 for v in seen), "the bump never reached the process"


def test_host_key_mismatch_is_refused(cluster, tmp_path):
    from zablab.harness.control.ssh import SshRemote, SshTarget

    _, nodes, _ = cluster
    # record n2's key under n1's address: connecting to n1 must be refused
    known = (backend_state() / "known_hosts").read_text().splitlines()
    n2_key = [ln for ln in known if ln.startswith(nodes[1].host + " ")][0].split(" ", 1)[1]
    bad = tmp_path / "known_hosts"
    bad.write_text(f"{nodes[0].host} {n2_key}\n")
    r = SshRemote(
        SshTarget(
            host=nodes[0].host, key_file=str(backend_state() / "client_key"), known_hosts=str(bad)
        )
    )
    with pytest.raises(UserError, match="does not match"):
        r.exec("true")


def backend_state():
    return nb.STATE_DIR


def test_remote_errors_name_host_and_command(cluster):
    _, nodes, _ = cluster
    with pytest.raises(RemoteError, match=nodes[0].host):
        nodes[0].remote.exec("exit 3")


def test_upload_download_round_trip(cluster, tmp_path):
    _, nodes, _ = cluster
    src = tmp_path / "d"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "f.txt").write_text("payload")
    n = nodes[0]
    n.remote.upload(str(src), f"{n.workdir}/up")
    n.remote.download(f"{n.workdir}/up", str(tmp_path / "back"))
    assert (tmp_path / "back" / "sub" / "f.txt").read_text() == "payload"


def test_cleanup_removes_a_leaked_setup():
    # a setup whose owner died without teardown: the next run's cleanup removes everything
    leaked = nb.NetnsBackend()
    leaked.setup(2)
    for n in leaked.nodes:
        n.remote.close()
    assert nb.leftovers() != []
    nb.NetnsBackend().cleanup_leftovers()
    assert nb.leftovers() == []
