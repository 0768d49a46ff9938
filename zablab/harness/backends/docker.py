"""The `docker` backend: nodes n1..nN are containers with sshd on a network private to the run.

The harness drives the containers over SSH exactly as it drives network namespaces and VMs, so
a result means the same on all of them. Docker only provisions: one image (built locally, see
docker_image), one bridge network per run, containers with NET_ADMIN so iptables works inside.
Host keys are read through the Docker API (a channel SSH does not depend on) and pinned in a
known_hosts file of the run; the harness's key goes in through the environment.

Everything created is named `zablab-<run>-...` and labelled `zablab.run=<run>` and
`zablab.owner=<pid>:<start time>`, so teardown, and the next run after a crash, find all of it.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import glob
import io
import os
import secrets
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from typing import Any

import paramiko
import psutil

from zablab.errors import UserError
from zablab.harness.backends.base import Clock, Net, Node, close_remotes
from zablab.harness.backends.bundle import python_bundle
from zablab.harness.backends.docker_image import docker_client, ensure_image, flavor_for_db
from zablab.harness.control.ssh import SshRemote, SshTarget
from zablab.harness.faults.clock import NodeClock

LABEL_RUN = "zablab.run"
LABEL_OWNER = "zablab.owner"
PERSISTENT = "persistent"
PREFIX = "zablab-"
NODE_OPT = "/opt/zablab"  # the zablab code, bind-mounted read-only from the run's directory
NODE_LIB = f"{NODE_OPT}/lib"
NODE_WORKDIR = "/var/lib/zablab"
NODE_PYTHON = f"{NODE_OPT}/python"


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _owner_label() -> str:
    me = psutil.Process()
    return f"{me.pid}:{me.create_time():.3f}"


def _owner_alive(label: str) -> bool:
    try:
        pid_s, start_s = label.split(":")
        proc = psutil.Process(int(pid_s))
        return abs(proc.create_time() - float(start_s)) < 0.01
    except (ValueError, psutil.Error):
        return False


def make_keypair(directory: str) -> tuple[str, str]:
    """A fresh key for this run: (private key file, public key line)."""
    path = os.path.join(directory, "id_ed25519")
    if shutil.which("ssh-keygen"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "zablab", "-f", path],
            check=True,
            capture_output=True,
        )
        with open(path + ".pub") as f:
            return path, f.read().strip()
    path = os.path.join(directory, "id_rsa")
    key = paramiko.RSAKey.generate(2048)
    key.write_private_key_file(path)
    return path, f"{key.get_name()} {key.get_base64()} zablab"


def _wrap_tar(name: str, data: bytes, mode: int = 0o644) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = mode
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class DockerBackend:
    """Backend over the Docker SDK; see the module docstring for the why."""

    name = "docker"

    def __init__(
        self,
        db: str = "zablab",
        *,
        run_id: str | None = None,
        image: str | None = None,
        client: Any = None,
        ready_timeout: float = 60.0,
        log: Any = None,
        persistent: bool = False,
    ):
        self.db = db
        self.run_id = run_id or secrets.token_hex(4)
        self.image = image
        self._client = client
        self.ready_timeout = ready_timeout
        self.log = log or _stderr  # used only while the image is built
        # a `zablab cluster up` cluster outlives the command that made it: never an orphan
        self.persistent = persistent
        self.nodes: list[Node] = []
        self.workdir: str | None = None
        self.known_hosts: str | None = None
        self.key_file: str | None = None
        self._net: Net | None = None
        self._clock: Clock | None = None

    # -- names --------------------------------------------------------------------------------
    @property
    def network_name(self) -> str:
        return f"{PREFIX}{self.run_id}"

    def container_name(self, node: str) -> str:
        return f"{PREFIX}{self.run_id}-{node}"

    @property
    def labels(self) -> dict[str, str]:
        owner = PERSISTENT if self.persistent else _owner_label()
        return {LABEL_RUN: self.run_id, LABEL_OWNER: owner}

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = docker_client()
        return self._client

    # -- Backend ------------------------------------------------------------------------------
    def setup(self, count: int) -> list[Node]:
        if count < 1:
            raise UserError(f"a cluster needs at least one node, not {count}.")
        image = self.image or ensure_image(flavor_for_db(self.db), client=self.client, log=self.log)
        self.workdir = tempfile.mkdtemp(prefix=f"zablab-docker-{self.run_id}-")
        self.key_file, pub = make_keypair(self.workdir)
        self.known_hosts = os.path.join(self.workdir, "known_hosts")
        try:
            self._start(count, image, pub)
        except BaseException:
            self.teardown()
            raise
        return self.nodes

    def _start(self, count: int, image: str, pub: str) -> None:
        import docker.errors
        from docker.types import Mount

        c = self.client
        local = self._daemon_is_local()
        if local:
            self._write_opt()
        c.networks.create(self.network_name, driver="bridge", internal=True, labels=self.labels)
        # the DB's files on a real file system (fsync means something), not the overlay: an
        # anonymous volume, removed with the container
        mounts = [Mount(target=NODE_WORKDIR, source=None, type="volume", labels=self.labels)]
        if local:
            opt = os.path.join(self.workdir or "", "opt")
            mounts.append(Mount(target=NODE_OPT, source=opt, type="bind", read_only=True))

        def create(i: int) -> tuple[int, str, Any]:
            name = f"n{i}"
            try:
                ctr = c.containers.run(
                    image,
                    name=self.container_name(name),
                    hostname=name,
                    detach=True,
                    init=True,
                    cap_add=["NET_ADMIN"],
                    mounts=mounts,
                    network=self.network_name,
                    environment={"ZABLAB_AUTHORIZED_KEY": pub},
                    labels={**self.labels, "zablab.node": name},
                )
            except docker.errors.ImageNotFound:
                raise UserError(
                    f"Docker image {image} is missing; drop --image to build the default one."
                ) from None
            return i, name, ctr

        with cf.ThreadPoolExecutor(max_workers=min(8, count)) as pool:
            containers = list(pool.map(create, range(1, count + 1)))
        deadline = time.monotonic() + self.ready_timeout
        with cf.ThreadPoolExecutor(max_workers=min(8, count)) as pool:
            ready = list(pool.map(lambda t: self._wait_container(t[2], deadline), containers))
        addresses = {name: r[0] for (_, name, _), r in zip(containers, ready, strict=True)}
        with open(self.known_hosts or "", "w") as f:
            for ip, keys in ready:
                for line in keys.splitlines():
                    parts = line.split()
                    if len(parts) >= 2:
                        f.write(f"{ip} {parts[0]} {parts[1]}\n")
        hosts = "".join(f"{ip} {name}\n" for name, ip in addresses.items())
        for i, name, ctr in containers:
            remote = SshRemote(
                SshTarget(
                    host=addresses[name], key_file=self.key_file, known_hosts=self.known_hosts
                )
            )
            node = Node(
                name=name,
                id=i,
                host=addresses[name],
                remote=remote,
                workdir=NODE_WORKDIR,
                meta={
                    "container": ctr.name,
                    "container_id": ctr.id,
                    "python": NODE_PYTHON,
                    "shared_fs": False,
                },
            )
            self.nodes.append(node)

        def finish(t: tuple[int, str, Any]) -> None:
            i, name, ctr = t
            ctr.exec_run(["sh", "-c", 'printf "%s" "$1" >> /etc/hosts', "sh", hosts])
            if not local:
                self._stage_python(ctr)
            self._wait_ssh(self.nodes[i - 1], deadline)

        with cf.ThreadPoolExecutor(max_workers=min(8, count)) as pool:
            list(pool.map(finish, containers))

    def _daemon_is_local(self) -> bool:
        """A daemon on this machine's socket can bind-mount our files; a remote one cannot."""
        return str(getattr(self.client.api, "base_url", "")).startswith("http+docker://local")

    def _write_opt(self) -> None:
        opt = os.path.join(self.workdir or "", "opt")
        os.makedirs(os.path.join(opt, "lib"))
        with tarfile.open(fileobj=io.BytesIO(python_bundle()), mode="r:gz") as tar:
            tar.extractall(os.path.join(opt, "lib"), filter="data")
        with open(os.path.join(opt, "python"), "w") as f:
            f.write(f'#!/bin/sh\nPYTHONPATH={NODE_LIB} exec python3 "$@"\n')
        os.chmod(os.path.join(opt, "python"), 0o755)
        os.chmod(self.workdir or "", 0o755)

    def _stage_python(self, ctr: Any) -> None:
        """Without a shared file system (remote daemon): copy through the Docker API."""
        ctr.exec_run(["mkdir", "-p", NODE_LIB])
        ctr.put_archive(NODE_LIB, python_bundle())
        wrapper = f'#!/bin/sh\nPYTHONPATH={NODE_LIB} exec python3 "$@"\n'.encode()
        ctr.put_archive(NODE_OPT, _wrap_tar("python", wrapper, 0o755))

    def _wait_container(self, ctr: Any, deadline: float) -> tuple[str, str]:
        """The container's address and its host public keys, once its entrypoint made them."""
        while True:
            ctr.reload()
            if ctr.status == "exited":
                logs = ctr.logs(tail=5).decode(errors="replace").strip()
                raise UserError(f"container {ctr.name} exited at start: {logs}")
            if ctr.status == "running":
                res = ctr.exec_run(
                    ["sh", "-c", "test -e /run/zablab-ready && cat /etc/ssh/ssh_host_*_key.pub"]
                )
                if res.exit_code == 0:
                    ip = ctr.attrs["NetworkSettings"]["Networks"][self.network_name]["IPAddress"]
                    return ip, res.output.decode()
            if time.monotonic() > deadline:
                raise UserError(
                    f"container {ctr.name} did not start within {self.ready_timeout:g} s; "
                    "see `docker logs` for it."
                )
            time.sleep(0.1)

    def _wait_ssh(self, node: Node, deadline: float) -> None:
        while True:
            try:
                node.remote.exec("true", timeout=10)
                return
            except UserError:
                if time.monotonic() > deadline:
                    raise
                node.remote.close()
                time.sleep(0.2)

    def net(self) -> Net:
        if self._net is None:
            from zablab.harness.faults.iptables import IptablesNet

            self._net = IptablesNet(
                {n.name: n.remote for n in self.nodes}, {n.name: n.host for n in self.nodes}
            )
        return self._net

    def clock(self) -> Clock:
        if self._clock is None:
            self._clock = NodeClock(
                {n.name: n.remote for n in self.nodes}, {n.name: n.workdir for n in self.nodes}
            )
        return self._clock

    # -- teardown -----------------------------------------------------------------------------
    def teardown(self) -> None:
        close_remotes(self.nodes)
        self.nodes = []
        self._net = None
        self._clock = None
        if self._client is not None or self.workdir is not None:
            remove_run(self.client, self.run_id)
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def cleanup_leftovers(self, include_persistent: bool = False) -> None:
        """Remove containers and networks of zablab runs whose harness process is gone."""
        cleanup_orphans(self.client, include_persistent=include_persistent)


def remove_run(client: Any, run_id: str) -> None:
    """Remove one run's containers, then its network (docker refuses while endpoints remain)."""
    flt = {"label": f"{LABEL_RUN}={run_id}"}
    for ctr in client.containers.list(all=True, filters=flt):
        with contextlib.suppress(Exception):
            if ctr.status == "paused":
                ctr.unpause()
        with contextlib.suppress(Exception):
            ctr.remove(force=True, v=True)
    for net in client.networks.list(filters=flt):
        with contextlib.suppress(Exception):
            net.remove()
    # the run's key, known_hosts and mounted code (also of a run that crashed)
    for d in glob.glob(os.path.join(tempfile.gettempdir(), f"zablab-docker-{run_id}-*")):
        shutil.rmtree(d, ignore_errors=True)


def cleanup_orphans(client: Any, include_persistent: bool = False) -> list[str]:
    """Remove what runs whose owner process died left behind; returns their run ids.

    Persistent clusters (`zablab cluster up`) go only with include_persistent (`cluster down`).
    """
    runs: dict[str, str] = {}
    for obj in client.containers.list(all=True, filters={"label": LABEL_RUN}):
        runs[obj.labels[LABEL_RUN]] = obj.labels.get(LABEL_OWNER, "")
    for net in client.networks.list(filters={"label": LABEL_RUN}):
        labels = net.attrs.get("Labels") or {}
        runs.setdefault(labels.get(LABEL_RUN, ""), labels.get(LABEL_OWNER, ""))
    dead = [
        run
        for run, owner in runs.items()
        if run and not _owner_alive(owner) and (include_persistent or owner != PERSISTENT)
    ]
    for run in dead:
        remove_run(client, run)
    return dead
