"""The `netns` backend: one Linux network namespace per node, driven over SSH like a real host.

Each node n<i> lives in namespace zl-n<i> with address 10.77.0.<i>. The nodes' veths meet on a
bridge inside a hub namespace zl-hub, which the host joins through one veth (zl-host,
10.77.0.254). Keeping the bridge out of the host namespace means the host's iptables (Docker sets
FORWARD to DROP, and br_netfilter sends bridged frames through it) never see node-to-node
traffic, and the backend adds no rule to the host. An sshd started inside each namespace, with a host key and a client key made for
the run, is the control channel, so faults are injected exactly as on VMs (iptables in the node,
signals, libfaketime). A blackhole route for 10.77.0.0/16 guarantees that no packet for the range
can leave the machine, and the namespaces have no default route.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from zablab.errors import UserError
from zablab.harness.backends.base import Node, close_remotes
from zablab.harness.control.ssh import SshRemote, SshTarget
from zablab.harness.faults.clock import FaketimeClock
from zablab.harness.faults.iptables import IptablesNet

PREFIX = "zl-"
HUB = "zl-hub"
HOST_IF = "zl-host"
SUBNET = "10.77.0"
GUARD = "10.77.0.0/16"
STATE_DIR = Path(os.environ.get("ZABLAB_NETNS_DIR", "/tmp/zablab-netns"))
MAX_NODES = 200


def _run(cmd: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(cmd, capture_output=True, text=True)
    if check and res.returncode != 0:
        raise UserError(f"`{' '.join(cmd)}` failed: {res.stderr.strip() or res.stdout.strip()}")
    return res


def namespace(i: int) -> str:
    return f"{PREFIX}n{i}"


def address(i: int) -> str:
    return f"{SUBNET}.{i}"


def our_namespaces() -> list[str]:
    res = _run(["ip", "netns", "list"], check=False)
    names = [line.split()[0] for line in res.stdout.splitlines() if line.strip()]
    return [n for n in names if n.startswith(PREFIX + "n") or n == HUB]


def _sshd_config(i: int, d: Path) -> str:
    return "\n".join(
        [
            f"ListenAddress {address(i)}",
            "Port 22",
            f"HostKey {d / 'host_key'}",
            f"AuthorizedKeysFile {STATE_DIR / 'client_key.pub'}",
            f"PidFile {d / 'sshd.pid'}",
            "PermitRootLogin prohibit-password",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no",
            "UseDNS no",
            "MaxSessions 100",
            "MaxStartups 100:30:200",
            "Subsystem sftp internal-sftp",
            "",
        ]
    )


class NetnsBackend:
    """Backend for root on Linux; see the module docstring for the layout."""

    name = "netns"

    def __init__(self, state_dir: Path = STATE_DIR):
        self.state_dir = state_dir
        self.nodes: list[Node] = []
        self._net: IptablesNet | None = None
        self._clock: FaketimeClock | None = None

    # -- checks -----------------------------------------------------------------------------
    @staticmethod
    def check_host() -> None:
        if os.geteuid() != 0:
            raise UserError("the netns backend needs root; run as root or use --backend local")
        for tool in ("ip", "iptables", "ssh-keygen"):
            if shutil.which(tool) is None:
                raise UserError(
                    f"the netns backend needs `{tool}`; install iproute2/iptables/openssh"
                )
        if not os.path.exists("/usr/sbin/sshd"):
            raise UserError("the netns backend needs sshd; install the openssh-server package")

    # -- lifecycle --------------------------------------------------------------------------
    def setup(self, count: int) -> list[Node]:
        self.check_host()
        if not 1 <= count <= MAX_NODES:
            raise UserError(f"the netns backend supports 1..{MAX_NODES} nodes, not {count}")
        self.cleanup_leftovers()
        try:
            self._setup(count)
        except BaseException:
            self.teardown()
            raise
        return self.nodes

    def _setup(self, count: int) -> None:
        sd = self.state_dir
        sd.mkdir(parents=True, exist_ok=True)
        (sd / "owner").write_text(f"{os.getpid()}\n")
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(sd / "client_key")])
        _run(["ip", "route", "add", "blackhole", GUARD])
        hub = ["ip", "netns", "exec", HUB]
        _run(["ip", "netns", "add", HUB])
        _run(hub + ["ip", "link", "add", "br0", "type", "bridge"])
        _run(hub + ["ip", "link", "set", "br0", "up"])
        _run(["ip", "link", "add", HOST_IF, "type", "veth", "peer", "name", "zl-uplink"])
        _run(["ip", "link", "set", "zl-uplink", "netns", HUB])
        _run(hub + ["ip", "link", "set", "zl-uplink", "master", "br0", "up"])
        _run(["ip", "addr", "add", f"{SUBNET}.254/24", "dev", HOST_IF])
        _run(["ip", "link", "set", HOST_IF, "up"])
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)
        with cf.ThreadPoolExecutor(max_workers=min(8, count)) as pool:
            list(pool.map(self._setup_node, range(1, count + 1)))
        known = sd / "known_hosts"
        known.write_text(
            "".join(
                f"{address(i)} {(sd / f'n{i}' / 'host_key.pub').read_text().split()[0]} "
                f"{(sd / f'n{i}' / 'host_key.pub').read_text().split()[1]}\n"
                for i in range(1, count + 1)
            )
        )
        remotes = {}
        for i in range(1, count + 1):
            target = SshTarget(
                host=address(i),
                user="root",
                key_file=str(sd / "client_key"),
                known_hosts=str(known),
            )
            remotes[f"n{i}"] = SshRemote(target)
        with cf.ThreadPoolExecutor(max_workers=min(8, count)) as pool:
            list(pool.map(self._wait_ssh, remotes.values()))
        self.nodes = [
            Node(
                name=f"n{i}",
                id=i,
                host=address(i),
                remote=remotes[f"n{i}"],
                workdir=str(sd / f"n{i}" / "work"),
                meta={"python": sys.executable, "shared_fs": True, "namespace": namespace(i)},
            )
            for i in range(1, count + 1)
        ]
        addrs = {n.name: n.host for n in self.nodes}
        self._net = IptablesNet(remotes, addrs, exempt=(f"{SUBNET}.254",))
        self._clock = FaketimeClock(remotes, {n.name: n.workdir for n in self.nodes})

    def _setup_node(self, i: int) -> None:
        ns, d = namespace(i), self.state_dir / f"n{i}"
        (d / "work").mkdir(parents=True, exist_ok=True)
        host_if, node_if = f"{ns}-h", f"{ns}-c"
        _run(["ip", "netns", "add", ns])
        _run(["ip", "link", "add", host_if, "type", "veth", "peer", "name", node_if])
        _run(["ip", "link", "set", node_if, "netns", ns])
        nsx = ["ip", "netns", "exec", ns]
        _run(nsx + ["ip", "link", "set", node_if, "name", "eth0"])
        _run(nsx + ["ip", "addr", "add", f"{address(i)}/24", "dev", "eth0"])
        _run(nsx + ["ip", "link", "set", "eth0", "up"])
        _run(nsx + ["ip", "link", "set", "lo", "up"])
        _run(["ip", "link", "set", host_if, "netns", HUB])
        _run(["ip", "netns", "exec", HUB, "ip", "link", "set", host_if, "master", "br0", "up"])
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "host_key")])
        (d / "sshd_config").write_text(_sshd_config(i, d))
        _run(nsx + ["/usr/sbin/sshd", "-f", str(d / "sshd_config"), "-E", str(d / "sshd.log")])

    @staticmethod
    def _wait_ssh(remote: SshRemote, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                remote.exec("true", timeout=5)
                return
            except UserError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def net(self) -> IptablesNet:
        assert self._net is not None, "setup() first"
        return self._net

    def clock(self) -> FaketimeClock:
        assert self._clock is not None, "setup() first"
        return self._clock

    def teardown(self) -> None:
        close_remotes(self.nodes)
        self.nodes = []
        self.cleanup_leftovers()

    def cleanup_leftovers(self) -> None:
        """Kill everything in our namespaces and remove namespaces, bridge, route, state."""
        for ns in our_namespaces():
            pids = _run(["ip", "netns", "pids", ns], check=False).stdout.split()
            for pid in pids:
                _run(["kill", "-9", pid], check=False)
            _run(["ip", "netns", "del", ns], check=False)
        # host-side veths vanish with their peers; remove stragglers and the bridge
        links = _run(["ip", "-o", "link", "show"], check=False).stdout
        for line in links.splitlines():
            name = line.split(":")[1].strip().split("@")[0] if ":" in line else ""
            if name.startswith(PREFIX):
                _run(["ip", "link", "del", name], check=False)
        _run(["ip", "route", "del", "blackhole", GUARD], check=False)
        if self.state_dir.exists():
            shutil.rmtree(self.state_dir, ignore_errors=True)


def leftovers() -> list[str]:
    """What of ours exists now (for leak checks)."""
    found = [f"namespace {n}" for n in our_namespaces()]
    links = _run(["ip", "-o", "link", "show"], check=False).stdout
    for line in links.splitlines():
        name = line.split(":")[1].strip().split("@")[0] if ":" in line else ""
        if name.startswith(PREFIX):
            found.append(f"link {name}")
    routes = _run(["ip", "route", "show", "type", "blackhole"], check=False).stdout
    if GUARD.split("/")[0] in routes:
        found.append(f"route blackhole {GUARD}")
    return found
