"""docker/compose.yaml brought up for real (nodes only: the control image would need a registry),
then driven by the ssh backend through a nodes file, as a student on Docker Desktop would."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from zablab.harness.backends import docker_image

REPO = Path(__file__).resolve().parents[2]
COMPOSE = shutil.which("docker-compose")


CLIENT = docker_image.reachable_docker_client()
pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(CLIENT is None or COMPOSE is None, reason="needs Docker and docker-compose"),
    pytest.mark.skipif(os.geteuid() != 0, reason="building the image needs root"),
]


def test_compose_nodes_are_driven_by_the_ssh_backend(tmp_path):
    from zablab.harness.backends.docker import make_keypair
    from zablab.harness.backends.ssh import SshBackend

    base = docker_image.ensure_image("base", client=CLIENT, log=lambda m: None)
    had_image = docker_image.image_exists(CLIENT, "zablab-node:compose")
    key, pub = make_keypair(str(tmp_path))
    project = "zablabtest" + os.urandom(3).hex()
    env = {**os.environ, "ZABLAB_AUTHORIZED_KEY": pub, "ZABLAB_BASE": base}
    dc = [COMPOSE, "-f", str(REPO / "docker" / "compose.yaml"), "-p", project]
    try:
        up = subprocess.run(
            [*dc, "up", "-d", "--build", "n1", "n2", "n3"],
            env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert up.returncode == 0, up.stderr[-2000:]
        hosts, known = [], []
        for name in ("n1", "n2", "n3"):
            ctr = CLIENT.containers.get(f"{project}_{name}_1")
            assert ctr.labels["zablab.owner"] == "persistent"
            ip = next(iter(ctr.attrs["NetworkSettings"]["Networks"].values()))["IPAddress"]
            for _ in range(100):
                res = ctr.exec_run(["sh", "-c", "test -e /run/zablab-ready && cat /etc/ssh/*.pub"])
                if res.exit_code == 0:
                    break
            kind, k = res.output.decode().split()[:2]
            hosts.append(ip)
            known.append(f"{ip} {kind} {k}\n")
        (tmp_path / "nodes").write_text("\n".join(hosts) + "\n")
        (tmp_path / "known_hosts").write_text("".join(known))
        ssh = SshBackend(
            str(tmp_path / "nodes"), key_file=key, known_hosts=str(tmp_path / "known_hosts")
        )
        try:
            nodes = ssh.setup()
            assert [n.remote.exec("hostname").out.strip() for n in nodes] == ["n1", "n2", "n3"]
            assert nodes[0].remote.exec("getent hosts n2").out.split()[0] == hosts[1]
        finally:
            ssh.teardown()
    finally:
        subprocess.run([*dc, "down", "-v"], env=env, capture_output=True, timeout=120)
        if not had_image and docker_image.image_exists(CLIENT, "zablab-node:compose"):
            CLIENT.images.remove("zablab-node:compose", force=True)
    assert (
        CLIENT.containers.list(all=True, filters={"label": f"com.docker.compose.project={project}"})
        == []
    )
