"""Cluster provisioners: local processes, network namespaces, Docker containers, SSH hosts."""

from __future__ import annotations

import os
from typing import Any

from zablab.errors import UserError
from zablab.harness import leftovers

BACKENDS = ("local", "netns", "docker", "ssh")

# SshBackend keyword -> CLI flag, for the options below and their error messages
SSH_OPTIONS = {
    "user": "--ssh-user",
    "port": "--ssh-port",
    "key_file": "--ssh-key",
    "known_hosts": "--known-hosts",
    "ssh_config": "--ssh-config",
    "strict_host_keys": "--no-strict-host-keys",
}


def ssh_options(
    *,
    user: str | None = None,
    port: int | None = None,
    key_file: str | None = None,
    known_hosts: str | None = None,
    ssh_config: str | None = None,
    strict_host_keys: bool = True,
) -> dict[str, Any]:
    """SshBackend keywords from CLI flags, checked now so a typo is one line, not a traceback."""
    out: dict[str, Any] = {}
    if user:
        out["user"] = user
    if port is not None:
        if not 1 <= port <= 65535:
            raise UserError(f"--ssh-port {port} is not a TCP port (1..65535).")
        out["port"] = port
    for key, value in (
        ("key_file", key_file),
        ("known_hosts", known_hosts),
        ("ssh_config", ssh_config),
    ):
        if value:
            path = os.path.expanduser(value)
            if not os.path.isfile(path) or not os.access(path, os.R_OK):
                raise UserError(
                    f"{SSH_OPTIONS[key]} {value}: no readable file there; fix the path."
                )
            out[key] = path
    if not strict_host_keys:
        out["strict_host_keys"] = False
    return out


def get_backend(name: str, options: dict[str, Any]) -> Any:
    if name == "local":
        from zablab.harness.backends.local import LocalBackend

        return LocalBackend(seed=options.get("seed"))
    if name == "netns":
        from zablab.harness.backends.netns import NetnsBackend

        return NetnsBackend()
    if name == "docker":
        from zablab.harness.backends.docker import DockerBackend

        return DockerBackend(
            db=options.get("db", "zablab"), persistent=bool(options.get("persistent", False))
        )
    if name == "ssh":
        from zablab.harness.backends.ssh import SshBackend

        ssh = dict(options.get("ssh") or {})
        return SshBackend(options.get("nodes_file"), db=options.get("db", "zablab"), **ssh)
    raise UserError(f"unknown --backend {name!r}; choose one of: {', '.join(BACKENDS)}.")


def cleanup_runs(kinds: tuple[str, ...] = ("test",), include_live: bool = False) -> list[str]:
    """Undo what crashed runs left: their processes and dirs, and their backend's leftovers."""
    return leftovers.cleanup(kinds, include_live, undo=_undo_backend)


def _undo_backend(st: leftovers.RunState) -> None:
    if st.backend != "local":  # local runs leave nothing beyond processes and dirs
        get_backend(st.backend, {}).cleanup_leftovers()
