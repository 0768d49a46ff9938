"""pytest plugin: run kazoo's own test modules against an already running server.

Usage (from the repository root):

    ZABLAB_KAZOO_HOSTS=127.0.0.1:2181 python -m pytest -p tests.kazoo_plugin \
        --pyargs kazoo.tests.test_client kazoo.tests.test_lock ...

kazoo's KazooTestHarness asks `kazoo.testing.harness.get_global_cluster()` for a cluster it
starts itself; we replace that function with a stand-in whose members are the given addresses.
The stand-in cannot stop or restart a server, so tests that need that (and TLS, SASL, reconfig)
are deselected by the list in ZABLAB_KAZOO_DESELECT (default: tests/compat/kazoo_deselect.txt).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

HOSTS_ENV = "ZABLAB_KAZOO_HOSTS"
DESELECT_ENV = "ZABLAB_KAZOO_DESELECT"
DEFAULT_DESELECT = Path(__file__).parent / "compat" / "kazoo_deselect.txt"


class ExternalServer:
    """One running server; kazoo reads `.address` and `.running`."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.running = True

    @property
    def secure_address(self) -> str:
        raise RuntimeError("the external server has no TLS port; deselect TLS tests")

    def run(self) -> None:
        """Already running: nothing to do."""

    def stop(self) -> None:
        raise RuntimeError("cannot stop an external server; deselect this test")

    def get_logs(self, num_lines: int = 100) -> list[str]:
        return []


class ExternalCluster:
    """Stand-in for kazoo.testing.common.ZookeeperCluster over existing servers."""

    def __init__(self, hosts: str) -> None:
        self._servers = [ExternalServer(h.strip()) for h in hosts.split(",") if h.strip()]

    def __getitem__(self, k: int) -> ExternalServer:
        return self._servers[k]

    def __iter__(self) -> Iterator[ExternalServer]:
        return iter(self._servers)

    def __len__(self) -> int:
        return len(self._servers)

    # kazoo calls start() when a member is not running and terminate() in tearDownClass; the
    # servers belong to whoever started them, so both are no-ops.
    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def terminate(self) -> None:
        pass

    def reset(self) -> None:
        pass

    def get_logs(self) -> list[str]:
        return []

    def get_ssl_client_configuration(self) -> dict[str, bytes]:
        raise RuntimeError("the external server has no TLS configuration; deselect TLS tests")


def read_deselect(path: Path) -> list[str]:
    """Entries `module::Class[::test]`; `#` starts a comment (the reason)."""
    entries = []
    for line in path.read_text().splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry:
            entries.append(entry)
    return entries


def item_id(item: pytest.Item) -> str:
    """`kazoo.tests.test_x::Class::test`, independent of where kazoo is installed."""
    module = getattr(item, "module", None)
    name = module.__name__ if module is not None else item.nodeid.split("::", 1)[0]
    return "::".join([name, *item.nodeid.split("::")[1:]])


def is_deselected(ident: str, entries: list[str]) -> bool:
    return any(
        ident == e or ident.startswith(e + "::") or ident.startswith(e + "[") for e in entries
    )


def pytest_configure(config: pytest.Config) -> None:
    hosts = os.environ.get(HOSTS_ENV)
    if not hosts:
        raise pytest.UsageError(f"set {HOSTS_ENV}=host:port to the server kazoo's tests should use")
    import kazoo.testing.harness as harness

    cluster = ExternalCluster(hosts)
    harness.get_global_cluster = lambda: cluster  # type: ignore[assignment]
    harness.CLUSTER = cluster  # type: ignore[assignment]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    path = Path(os.environ.get(DESELECT_ENV, DEFAULT_DESELECT))
    entries = read_deselect(path) if path.is_file() else []
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        (drop if is_deselected(item_id(item), entries) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
