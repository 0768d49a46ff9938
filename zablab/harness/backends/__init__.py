"""Cluster provisioners: local processes, network namespaces, Docker containers, SSH hosts."""

from __future__ import annotations

from typing import Any

from zablab.errors import UserError

BACKENDS = ("local", "netns", "docker", "ssh")


def get_backend(name: str, options: dict[str, Any]) -> Any:
    if name == "local":
        from zablab.harness.backends.local import LocalBackend

        return LocalBackend(seed=options.get("seed"))
    if name == "netns":
        from zablab.harness.backends.netns import NetnsBackend

        return NetnsBackend()
    if name == "docker":
        from zablab.harness.backends.docker import DockerBackend

        return DockerBackend(db=options.get("db", "zablab"))
    if name == "ssh":
        from zablab.harness.backends.ssh import SshBackend

        return SshBackend(options.get("nodes_file"), db=options.get("db", "zablab"))
    raise UserError(f"unknown --backend {name!r}; choose one of: {', '.join(BACKENDS)}.")
