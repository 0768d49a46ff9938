"""Client sessions (real kazoo) and how an op's outcome is classified.

The classification is the honest part: an op is `fail` only when it definitely did not happen
(ZooKeeper said no, or it was a read), `info` when it may have happened (connection lost, timed
out, session expired with the request in flight).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

from kazoo.client import KazooClient
from kazoo.exceptions import (
    BadVersionError,
    NodeExistsError,
    NoNodeError,
    NotEmptyError,
)
from kazoo.retry import KazooRetry

DEFINITE = (NoNodeError, NodeExistsError, BadVersionError, NotEmptyError)

logging.getLogger("kazoo").setLevel(logging.CRITICAL)


class Fail(Exception):
    """Raised by a workload when an op definitely did not take effect (e.g. cas mismatch)."""

    def __init__(self, error: str, value: Any = None):
        super().__init__(error)
        self.error = error
        self.value = value


class Client:
    """One kazoo session bound to one node, as Jepsen binds a process to a node."""

    def __init__(self, node: str, address: str, timeout: float, session_timeout: float = 10.0):
        self.node = node
        self.timeout = timeout
        self.zk = KazooClient(
            hosts=address,
            timeout=session_timeout,
            connection_retry=KazooRetry(max_tries=-1, delay=0.1, max_delay=1.0),
            command_retry=None,
        )

    def open(self, timeout: float = 5.0) -> Client:
        try:
            self.zk.start(timeout=timeout)
        except BaseException:
            self.close()
            raise
        return self

    @property
    def session(self) -> str | None:
        sid = self.zk.client_id
        return f"{sid[0]:#x}" if sid else None

    @property
    def last_zxid(self) -> int:
        return int(getattr(self.zk, "last_zxid", 0) or 0)

    def wait(self, async_result: Any) -> Any:
        """Result of a kazoo async call, or KazooTimeoutError after the op timeout."""
        return async_result.get(timeout=self.timeout)

    def close(self, linger: float = 0.0) -> None:
        """Stop in the background: stopping a client whose server is gone can block a while.

        A session is closed only by a closeSession the server receives; kazoo stopped while
        disconnected just gives up, and the session (with its ephemerals: a lock, a candidacy)
        lives on until it expires, which each leader change postpones. With `linger` the
        client first waits that long for its own reconnection, so the close reaches the server.
        """

        def stop() -> None:
            deadline = time.monotonic() + linger
            while not self.zk.connected and time.monotonic() < deadline:
                time.sleep(0.1)
            with contextlib.suppress(Exception):
                self.zk.stop()
            with contextlib.suppress(Exception):
                self.zk.close()

        threading.Thread(target=stop, daemon=True, name="kazoo-close").start()


def classify(exc: BaseException, read_only: bool) -> tuple[str, str]:
    """(type, error name) for an exception an op raised."""
    name = type(exc).__name__
    if isinstance(exc, Fail):
        return "fail", exc.error
    if read_only or isinstance(exc, DEFINITE):
        return "fail", name
    # anything else (connection loss, timeout, expiry, closed with the request in flight)
    # leaves the outcome unknown
    return "info", name
