"""The node image recipe: tags follow the recipe, docker/ is its rendering, both build paths work."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from zablab.errors import UserError
from zablab.harness.backends import docker_image

REPO = Path(__file__).resolve().parents[2]


def test_tag_is_stable_and_changes_with_the_recipe(monkeypatch):
    base, zk = docker_image.image_tag("base"), docker_image.image_tag("zookeeper")
    assert base == docker_image.image_tag("base")
    assert base.startswith("zablab-node:base-") and zk.startswith("zablab-node:zookeeper-")
    monkeypatch.setattr(docker_image, "BASE_PACKAGES", (*docker_image.BASE_PACKAGES, "curl"))
    assert docker_image.image_tag("base") != base
    monkeypatch.undo()
    monkeypatch.setattr(docker_image, "ENTRYPOINT_SCRIPT", docker_image.ENTRYPOINT_SCRIPT + "#\n")
    assert docker_image.image_tag("base") != base


def test_unknown_flavor_is_a_user_error():
    with pytest.raises(UserError, match="unknown image flavor"):
        docker_image.image_tag("alpine")


def test_db_picks_the_flavor():
    assert docker_image.flavor_for_db("zookeeper") == "zookeeper"
    assert docker_image.flavor_for_db("zablab") == "base"


def test_repository_docker_dir_is_the_rendered_recipe(tmp_path):
    docker_image.write_build_context(tmp_path)
    for name in ("Dockerfile", *docker_image.CONTEXT_FILES):
        assert (REPO / "docker" / name).read_text() == (tmp_path / name).read_text(), (
            f"docker/{name} is stale: regenerate it with "
            "python -c 'from zablab.harness.backends.docker_image import write_build_context as w; w(\"docker\")'"
        )
    text = (REPO / "docker" / "Dockerfile").read_text()
    for pkg in (*docker_image.BASE_PACKAGES, *docker_image.ZOOKEEPER_PACKAGES):
        assert pkg in text


def test_mirror_comes_from_the_environment_first(monkeypatch):
    monkeypatch.setenv("ZABLAB_DEBIAN_MIRROR", "http://mirror.invalid/debian")
    assert docker_image.debian_mirror() == "http://mirror.invalid/debian"
    monkeypatch.delenv("ZABLAB_DEBIAN_MIRROR")
    assert docker_image.debian_mirror().startswith("http")


@pytest.mark.root
@pytest.mark.skipif(
    os.geteuid() != 0 or docker_image.reachable_docker_client() is None,
    reason="needs root and Docker",
)
def test_dockerfile_builds_and_its_containers_answer_ssh():
    """The registry path, with the locally imported image standing in for debian:bookworm-slim."""
    from zablab.harness.backends.docker import DockerBackend

    client = docker_image.reachable_docker_client()
    base = docker_image.ensure_image("base", client=client, log=lambda m: None)
    tag = "zablab-node:dockerfile-test-" + os.urandom(3).hex()
    backend = DockerBackend(image=tag, client=client)
    try:
        docker_image._build_dockerfile(client, "base", lambda m: None, base=base, tag=tag)
        [node] = backend.setup(1)
        assert node.remote.exec("cat /etc/ssh/sshd_config.d/zablab.conf").out == (
            docker_image.SSHD_CONFIG
        )
    finally:
        backend.teardown()
        if docker_image.image_exists(client, tag):
            client.images.remove(tag, force=True)


def test_compose_file_is_valid_and_matches_the_nodes_file(tmp_path):
    import shutil
    import subprocess

    import yaml

    compose = REPO / "docker" / "compose.yaml"
    spec = yaml.safe_load(compose.read_text())
    nodes = (REPO / "docker" / "nodes").read_text().split()
    assert nodes == [f"n{i}" for i in range(1, 6)]
    for name in nodes:
        svc = spec["services"][name]
        assert svc["hostname"] == name and svc["init"] is True
        assert "NET_ADMIN" in svc["cap_add"] and svc["networks"] == ["nodes"]
    assert spec["networks"]["nodes"]["internal"] is True
    checker = shutil.which("check-jsonschema")
    if checker is None:
        pytest.skip("pip install check-jsonschema to validate against the compose spec")
    ok = subprocess.run([checker, "--builtin-schema", "vendor.compose-spec", str(compose)])
    assert ok.returncode == 0
    broken = tmp_path / "compose.yaml"
    broken.write_text(compose.read_text().replace("cap_add:", "cap_add_typo:", 1))
    bad = subprocess.run(
        [checker, "--builtin-schema", "vendor.compose-spec", str(broken)], capture_output=True
    )
    assert bad.returncode != 0


def test_unreachable_docker_is_one_clear_sentence(monkeypatch, tmp_path):
    pytest.importorskip("docker")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    with pytest.raises(UserError, match=r"Docker is not reachable .*start the Docker daemon"):
        docker_image.docker_client()
