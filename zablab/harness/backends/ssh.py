"""The `ssh` backend: machines that already exist (VMs from vagrant/, cloud hosts), named in a file.

The nodes file lists one host per line, as in Jepsen (`#` starts a comment; `host:port` sets a
port). Host keys are checked by default against the user's known_hosts (or the file given), so a
rebuilt or impostor host is refused rather than trusted. An OpenSSH config file (such as the one
`vagrant/nodes.sh` writes) may supply each host's user, port and key. The backend installs what
the DB needs on each host: the zablab package for `zablab`, the Debian zookeeper package and a
JRE for `zookeeper`, plus iptables and libfaketime for the faults.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import posixpath
import shlex
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

import paramiko

from zablab.errors import UserError
from zablab.harness.backends.base import Node, close_remotes
from zablab.harness.backends.bundle import python_bundle
from zablab.harness.control.ssh import SshRemote, SshTarget
from zablab.harness.faults.clock import NodeClock
from zablab.harness.faults.iptables import IptablesNet

DEFAULT_WORKDIR = "/var/lib/zablab"
FAULT_PACKAGES = ("iptables", "faketime", "procps")
DB_PACKAGES = {"zablab": ("python3",), "zookeeper": ("default-jre-headless", "zookeeper")}
# a command whose success means the package set is present
PRESENT = {
    "iptables": "command -v iptables",
    "faketime": "ls /usr/lib/*/faketime/libfaketimeMT.so.1",
    "procps": "command -v ps",
    "python3": "python3 -c 'import sys; assert sys.version_info >= (3, 11)'",
    "default-jre-headless": "command -v java",
    "zookeeper": "test -f /usr/share/java/zookeeper.jar",
}


@dataclass
class HostEntry:
    host: str
    port: int | None = None


def read_nodes_file(path: str) -> list[HostEntry]:
    """Hosts from a Jepsen-style nodes file; a UserError names what is wrong with it."""
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise UserError(
            f"cannot read the nodes file {path} ({e.strerror}); pass --nodes-file FILE."
        ) from None
    hosts: list[HostEntry] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if len(line.split()) != 1:
            raise UserError(f"{path}:{lineno}: one host per line, got {line!r}.")
        host, sep, port = line.rpartition(":")
        if sep and port.isdigit() and "]" not in port and host.count(":") == 0:
            hosts.append(HostEntry(host, int(port)))
        else:
            hosts.append(HostEntry(line.strip("[]")))
    if not hosts:
        raise UserError(f"the nodes file {path} names no hosts; write one host per line.")
    names = [h.host for h in hosts]
    dups = sorted({n for n in names if names.count(n) > 1 and all(h.port is None for h in hosts)})
    if dups:
        raise UserError(f"the nodes file {path} names {', '.join(dups)} more than once.")
    return hosts


class SshBackend:
    """Backend over existing hosts; see the module docstring."""

    name = "ssh"

    def __init__(
        self,
        nodes_file: str | None,
        *,
        db: str = "zablab",
        user: str = "root",
        port: int = 22,
        key_file: str | None = None,
        known_hosts: str | None = None,
        ssh_config: str | None = None,
        strict_host_keys: bool = True,
        workdir: str = DEFAULT_WORKDIR,
        install: bool = True,
    ):
        if not nodes_file:
            raise UserError("the ssh backend needs --nodes-file FILE naming one host per line.")
        self.nodes_file = nodes_file
        self.db = db
        self.user = user
        self.port = port
        self.key_file = key_file
        self.known_hosts = known_hosts
        self.ssh_config = ssh_config
        self.strict_host_keys = strict_host_keys
        self.workdir = workdir  # may contain {name}, e.g. when hosts share a file system
        self.install = install
        self.nodes: list[Node] = []
        self._net: IptablesNet | None = None
        self._clock: NodeClock | None = None

    def target(self, entry: HostEntry) -> SshTarget:
        """Connection settings: the nodes file, then the SSH config file, then the options."""
        host, port, user, key = entry.host, self.port, self.user, self.key_file
        if self.ssh_config:
            cfg = paramiko.SSHConfig.from_path(os.path.expanduser(self.ssh_config)).lookup(host)
            host = cfg.get("hostname", host)
            port = int(cfg.get("port", port))
            user = cfg.get("user", user)
            if key is None and cfg.get("identityfile"):
                key = os.path.expanduser(cfg["identityfile"][0])
        if entry.port is not None:
            port = entry.port
        return SshTarget(
            host=host,
            port=port,
            user=user,
            key_file=key,
            known_hosts=self.known_hosts,
            strict_host_keys=self.strict_host_keys,
        )

    def setup(self, count: int | None = None) -> list[Node]:
        entries = read_nodes_file(self.nodes_file)
        if count is None or count == 0:
            count = len(entries)
        if count > len(entries):
            raise UserError(
                f"{count} nodes requested but {self.nodes_file} names only {len(entries)}; "
                "add hosts or lower --nodes."
            )
        try:
            for i, entry in enumerate(entries[:count], 1):
                name = f"n{i}"
                target = self.target(entry)
                node = Node(
                    name=name,
                    id=i,
                    host=address_of(target.host),
                    remote=SshRemote(target),
                    workdir=self.workdir.format(name=name, id=i),
                    meta={"ssh_host": entry.host, "shared_fs": False},
                )
                self.nodes.append(node)
            with cf.ThreadPoolExecutor(max_workers=min(8, count)) as pool:
                list(pool.map(self._check_root, self.nodes))  # every host key before any change
                list(pool.map(self._prepare, self.nodes))
        except BaseException:
            self.teardown()
            raise
        remotes = {n.name: n.remote for n in self.nodes}
        self._net = IptablesNet(remotes, {n.name: n.host for n in self.nodes})
        self._clock = NodeClock(remotes, {n.name: n.workdir for n in self.nodes})
        return self.nodes

    def missing_packages(self, node: Node) -> list[str]:
        wanted = [*FAULT_PACKAGES, *DB_PACKAGES.get(self.db, ())]
        checks = " ; ".join(
            f"({PRESENT[p]}) >/dev/null 2>&1 || echo {shlex.quote(p)}" for p in wanted
        )
        return node.remote.exec(checks).out.split()

    def _check_root(self, node: Node) -> None:
        uid = node.remote.exec("id -u").out.strip()  # also proves the connection and host key
        if uid != "0":
            raise UserError(
                f"{node.meta['ssh_host']}: the ssh backend needs root there (iptables, signals); "
                "log in as root (--user root) or allow it with a key."
            )

    def _prepare(self, node: Node) -> None:
        r = node.remote
        missing = self.missing_packages(node)
        if missing:
            if not self.install:
                raise UserError(
                    f"{node.meta['ssh_host']} lacks {', '.join(missing)}; install them there."
                )
            r.exec(
                "export DEBIAN_FRONTEND=noninteractive; apt-get update -q && "
                "mkdir -p /usr/share/man/man1 && "
                f"apt-get install -y -q --no-install-recommends {' '.join(missing)}",
                timeout=900,
            )
        r.exec(f"mkdir -p {shlex.quote(node.workdir)}")
        if self.db == "zablab":
            node.meta["python"] = stage_python(node)

    def net(self) -> IptablesNet:
        assert self._net is not None, "setup() first"
        return self._net

    def clock(self) -> NodeClock:
        assert self._clock is not None, "setup() first"
        return self._clock

    def teardown(self) -> None:
        close_remotes(self.nodes)
        self.nodes = []
        self._net = None
        self._clock = None

    def cleanup_leftovers(self) -> None:
        """Heal rules and reset clocks an interrupted run left on the hosts (they stay up)."""
        if self._net is not None:
            self._net.heal()
        if self._clock is not None:
            self._clock.reset()


def address_of(host: str) -> str:
    """The IPv4 address peers and iptables rules use (a name as-is if it does not resolve here)."""
    try:
        return socket.gethostbyname(host)
    except OSError:
        return host


def stage_python(node: Node) -> str:
    """Copy this zablab (and the CLI's pure-Python deps) to the node; returns its python."""
    lib = posixpath.join(node.workdir, "lib")
    wrapper = posixpath.join(node.workdir, "python")
    fd, tmp = tempfile.mkstemp(prefix="zablab-bundle-", suffix=".tar.gz")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(python_bundle())
        remote_tar = posixpath.join(node.workdir, "zablab-bundle.tar.gz")
        node.remote.upload(tmp, remote_tar)
    finally:
        os.unlink(tmp)
    q = shlex.quote
    node.remote.exec(
        f"rm -rf {q(lib)} && mkdir -p {q(lib)} && tar -xzf {q(remote_tar)} -C {q(lib)} && "
        f"rm -f {q(remote_tar)} && "
        f"printf '#!/bin/sh\\nPYTHONPATH=%s exec python3 \"$@\"\\n' {q(lib)} > {q(wrapper)} && "
        f"chmod 755 {q(wrapper)}"
    )
    return wrapper
