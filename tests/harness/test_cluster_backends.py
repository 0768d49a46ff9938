"""`cluster up --backend docker` keeps its containers (persistent) and `cluster down` removes
exactly the clusters this user's state files name, plus persistent leftovers; without such a
state file Docker is not touched at all (no daemon needed for these tests)."""

from __future__ import annotations

import pytest

from zablab.harness import command, leftovers
from zablab.harness.backends import docker, get_backend


class FakeDocker:
    calls: list[tuple[str, object]] = []

    def __init__(self, *args: object, persistent: bool = False, **kw: object) -> None:
        self.persistent = persistent
        self.client = "client"

    def cleanup_leftovers(self, include_persistent: bool = False) -> None:
        FakeDocker.calls.append(("cleanup_leftovers", include_persistent))


@pytest.fixture
def fake_docker(monkeypatch):
    FakeDocker.calls = []
    monkeypatch.setattr(docker, "DockerBackend", FakeDocker)
    monkeypatch.setattr(
        docker, "remove_run", lambda client, run: FakeDocker.calls.append(("remove_run", run))
    )
    return FakeDocker.calls


def test_cluster_backend_is_persistent(fake_docker):
    assert get_backend("docker", {"db": "zablab", "persistent": True}).persistent is True
    assert get_backend("docker", {"db": "zablab"}).persistent is False


def test_down_leaves_docker_alone_without_a_docker_cluster(fake_docker, runtime_dir):
    assert command._docker_cluster_down() == []
    assert fake_docker == []


def test_down_removes_the_recorded_docker_cluster(fake_docker, runtime_dir):
    st = leftovers.RunState.create(command.DOCKER_CLUSTER, "docker")
    st.info = {"run": "abcd1234", "db": "zablab"}
    st.save()
    assert command._docker_cluster_down() == ["removed docker cluster abcd1234."]
    assert fake_docker == [("remove_run", "abcd1234"), ("cleanup_leftovers", True)]
    assert not list(runtime_dir.glob("*.json"))
