"""The ssh backend against sshd in network namespaces standing in for VMs (zs-h1..zs-h3).

The namespaces sit on a bridge zs-br0 in 10.78.0.0/24, with a blackhole route for 10.78.0.0/16
while the tests run, so no packet for the range leaves the machine. The fixture removes all of
it, also when a test fails, and starts by removing what an interrupted earlier run left.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from zablab.errors import UserError
from zablab.harness.backends import ssh as sshb

PREFIX = "zs-"
BRIDGE = "zs-br0"
SUBNET = "10.78.0"
GUARD = "10.78.0.0/16"
# bridged packets meet the host's FORWARD chain (br_netfilter is on for Docker, whose policy is
# DROP); this one rule lets the bridge's own traffic through and is removed with the rest
FORWARD_RULE = (
    "FORWARD",
    "-i",
    BRIDGE,
    "-o",
    BRIDGE,
    "-m",
    "comment",
    "--comment",
    "zablab-ssh-test",
    "-j",
    "ACCEPT",
)
HOSTS = 3


def sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(cmd, capture_output=True, text=True)
    if check and res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {res.stderr.strip()}")
    return res


def our_namespaces() -> list[str]:
    out = sh("ip", "netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(PREFIX + "h")]


def remove_all() -> None:
    for ns in our_namespaces():
        for pid in sh("ip", "netns", "pids", ns, check=False).stdout.split():
            sh("kill", "-9", pid, check=False)
        sh("ip", "netns", "del", ns, check=False)
    for link in our_links():  # netns deletion frees veths lazily; do not wait for it
        sh("ip", "link", "del", link, check=False)
    sh("ip", "route", "del", "blackhole", GUARD, check=False)
    while sh("iptables", "-w", "-D", *FORWARD_RULE, check=False).returncode == 0:
        pass


def our_links() -> list[str]:
    out = sh("ip", "-o", "link", "show", check=False).stdout
    names = [line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if ":" in line]
    return [n for n in names if n.startswith(PREFIX)]


def leftovers() -> list[str]:
    found = our_namespaces() + our_links()
    if GUARD.split("/")[0] in sh("ip", "route", "show", "type", "blackhole").stdout:
        found.append(GUARD)
    if sh("iptables", "-w", "-C", *FORWARD_RULE, check=False).returncode == 0:
        found.append("FORWARD rule")
    return found


SSHD_CONFIG = """\
ListenAddress {addr}
HostKey {d}/host_key
AuthorizedKeysFile {keys}
PidFile {d}/sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
MaxSessions 50
Subsystem sftp internal-sftp
"""


class Hosts:
    """What the fixture made: addresses, the client key, a known_hosts and a nodes file."""

    def __init__(self, root: Path):
        self.root = root
        self.addrs = [f"{SUBNET}.{i}" for i in range(1, HOSTS + 1)]
        self.key = str(root / "client_key")
        self.known_hosts = str(root / "known_hosts")
        self.nodes_file = str(root / "nodes")
        self.host_keys = [
            (root / f"h{i}" / "host_key.pub").read_text().split()[:2] for i in range(1, HOSTS + 1)
        ]

    def backend(self, **kw) -> sshb.SshBackend:
        kw.setdefault("key_file", self.key)
        kw.setdefault("known_hosts", self.known_hosts)
        kw.setdefault("workdir", str(self.root / "work" / "{name}"))
        return sshb.SshBackend(self.nodes_file, **kw)


pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(
        os.geteuid() != 0 or not os.path.exists("/usr/sbin/sshd") or not shutil.which("ip"),
        reason="needs root, sshd and iproute2",
    ),
]


@pytest.fixture(scope="module")
def hosts(tmp_path_factory):
    root = tmp_path_factory.mktemp("zs")
    root.chmod(0o755)
    remove_all()
    try:
        sh("ip", "route", "add", "blackhole", GUARD)
        sh("ip", "link", "add", BRIDGE, "type", "bridge", "nf_call_iptables", "0")
        sh("ip", "addr", "add", f"{SUBNET}.254/24", "dev", BRIDGE)
        sh("ip", "link", "set", BRIDGE, "up")
        sh("iptables", "-w", "-I", FORWARD_RULE[0], "1", *FORWARD_RULE[1:])
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / "client_key"))
        Path("/run/sshd").mkdir(exist_ok=True)
        lines, nodes = [], []
        for i in range(1, HOSTS + 1):
            ns, d, addr = f"{PREFIX}h{i}", root / f"h{i}", f"{SUBNET}.{i}"
            d.mkdir()
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "add", f"{ns}-h", "type", "veth", "peer", "name", f"{ns}-c")
            sh("ip", "link", "set", f"{ns}-c", "netns", ns)
            nsx = ("ip", "netns", "exec", ns)
            sh(*nsx, "ip", "link", "set", f"{ns}-c", "name", "eth0")
            sh(*nsx, "ip", "addr", "add", f"{addr}/24", "dev", "eth0")
            sh(*nsx, "ip", "link", "set", "eth0", "up")
            sh(*nsx, "ip", "link", "set", "lo", "up")
            sh("ip", "link", "set", f"{ns}-h", "master", BRIDGE, "up")
            sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "host_key"))
            cfg = SSHD_CONFIG.format(addr=addr, d=d, keys=root / "client_key.pub")
            (d / "sshd_config").write_text(cfg)
            sh(*nsx, "/usr/sbin/sshd", "-f", str(d / "sshd_config"), "-E", str(d / "sshd.log"))
            kind, key = (d / "host_key.pub").read_text().split()[:2]
            lines.append(f"{addr} {kind} {key}\n")
            nodes.append(f"{addr}   # host {i}\n")
        (root / "known_hosts").write_text("".join(lines))
        (root / "nodes").write_text("# nodes of the ssh backend test\n\n" + "".join(nodes))
        yield Hosts(root)
    finally:
        remove_all()
        assert leftovers() == []


@pytest.fixture
def backend(hosts):
    made: list[sshb.SshBackend] = []

    def make(**kw) -> sshb.SshBackend:
        b = hosts.backend(**kw)
        made.append(b)
        return b

    yield make
    for b in made:
        b.teardown()


def wait_ssh(b: sshb.SshBackend, count: int = HOSTS) -> list:
    deadline = time.monotonic() + 15
    while True:
        try:
            return b.setup(count)
        except UserError as e:
            if "cannot reach" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture(scope="module")
def cluster(hosts):
    b = hosts.backend()
    try:
        wait_ssh(b)
        yield b
    finally:
        b.teardown()


def test_hosts_of_the_nodes_file_become_nodes(hosts, cluster):
    nodes = cluster.nodes
    assert [(n.name, n.id, n.host) for n in nodes] == [
        (f"n{i}", i, a) for i, a in enumerate(hosts.addrs, 1)
    ]
    for n in nodes:
        # the command ran inside that host's namespace, as root
        assert n.host in n.remote.exec("ip -4 -o addr show eth0").out
        out = n.remote.exec(
            f"{n.meta['python']} -c 'import zablab.node, sys; print(sys.path[0] != \"\")'"
        )
        assert out.rc == 0
        assert n.meta["python"].startswith(n.workdir)


def test_fewer_hosts_than_nodes_is_a_user_error(backend):
    with pytest.raises(UserError, match="names only 3"):
        backend().setup(5)


def test_host_key_mismatch_is_refused(hosts, backend, tmp_path):
    wrong = tmp_path / "known_hosts"
    (k1, v1), (k2, v2), (k3, v3) = hosts.host_keys
    # n1's address claims n2's key: an impostor (or a rebuilt VM) must not be trusted
    wrong.write_text(
        f"{hosts.addrs[0]} {k2} {v2}\n{hosts.addrs[1]} {k2} {v2}\n{hosts.addrs[2]} {k3} {v3}\n"
    )
    b = backend(known_hosts=str(wrong))
    with pytest.raises(UserError, match=r"does not match.*refusing"):
        wait_ssh(b)
    assert b.nodes == []


def test_unknown_host_is_refused_by_default(hosts, backend, tmp_path):
    partial = tmp_path / "known_hosts"
    partial.write_text(Path(hosts.known_hosts).read_text().splitlines()[0] + "\n")
    with pytest.raises(UserError, match="is not in"):
        wait_ssh(backend(known_hosts=str(partial)), 2)


def test_partition_rules_live_inside_the_hosts(cluster):
    b = cluster
    nodes = b.nodes
    n1, n2, n3 = nodes
    server = "import socket\ns=socket.socket();s.bind(('0.0.0.0',7001));s.listen()\nwhile 1: s.accept()[0].close()"
    pid = n1.remote.spawn(f"python3 -c {shlex.quote(server)}", log=f"{n1.workdir}/srv.log")
    probe = (
        f"python3 -c \"import socket; socket.create_connection(('{n1.host}', 7001), timeout=1.5)\""
    )
    try:
        deadline = time.monotonic() + 10
        while n2.remote.exec(probe, check=False).rc != 0:
            assert time.monotonic() < deadline
        net = b.net()
        net.partition({"n1": {"n2"}})
        try:
            assert net.rules("n1") == [f"-A ZABLAB -s {n2.host}/32 -j DROP"]
            assert n2.remote.exec(probe, check=False).rc != 0
            assert n3.remote.exec(probe, check=False).rc == 0
        finally:
            net.heal()
        assert net.rules("n1") == []
        assert n2.remote.exec(probe, check=False).rc == 0
    finally:
        n1.remote.signal(pid, "KILL")


def test_missing_db_packages_are_named_when_install_is_off(backend, monkeypatch):
    monkeypatch.setitem(sshb.PRESENT, "zookeeper", "false")
    with pytest.raises(UserError, match="lacks zookeeper"):
        wait_ssh(backend(db="zookeeper", install=False))
