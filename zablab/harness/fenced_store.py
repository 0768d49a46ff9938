"""A fenced storage service: the resource a leader works against in the election lab and the
election workload.

It refuses a write whose token is lower than the highest it has accepted (Kleppmann's fencing
tokens; Kafka's controller epoch), so a paused or cut-off leader that still believes it leads
cannot undo its successor's work. A write without a token is accepted unchecked, as a
resource that knows nothing of leaders would: that is the bug the checker must catch.

Protocol: one JSON object per line over TCP on 127.0.0.1, one reply line per request.
  {"op": "write", "token": 17 | null, "data": "...", "leader": "c1", "session": "0x..",
   "conn_state": "CONNECTED", "state_age_ms": 12, "term": ...}
  -> {"ok": true} | {"ok": false, "error": "stale-token", "max_token": 21}
  {"op": "read"} -> {"ok": true, "max_token": 21, "data": "...", "writes": 40}
Every decision is logged as a history op (`zablab.checkers.election` reads them) with the
store's own clock, so the log, not what the writers believe, is the evidence.
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from typing import Any

from zablab.history.jsonl import Op

MAX_LINE = 64 * 1024
MAX_LOG = 200_000  # decisions kept; beyond that the log says how many it dropped
_FIELDS = ("leader", "session", "conn_state", "state_age_ms", "term")


class FencedStore:
    """The service; `start()` binds 127.0.0.1 on a free port, `log` holds the decisions."""

    def __init__(self, clock: Callable[[], int] | None = None, fenced: bool = True):
        t0 = time.monotonic_ns()
        self.clock = clock or (lambda: time.monotonic_ns() - t0)
        self.fenced = fenced  # False: a plain store that ignores tokens (to test the checker)
        self.max_token: int | None = None
        self.data: Any = None
        self.log: list[Op] = []
        self.dropped = 0
        self._mu = threading.Lock()
        self._server: socketserver.ThreadingTCPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        assert self._server is not None, "start() the store first"
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> FencedStore:
        store = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                while True:
                    try:
                        line = self.rfile.readline(MAX_LINE + 1)
                    except OSError:
                        return
                    if not line:
                        return
                    reply = store.handle_line(line)
                    try:
                        self.wfile.write(json.dumps(reply).encode() + b"\n")
                    except OSError:
                        return

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fenced-store", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FencedStore:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the decision ------------------------------------------------------------------------

    def handle_line(self, line: bytes) -> dict[str, Any]:
        """One request line -> its reply; a malformed request is refused, never fatal."""
        if len(line) > MAX_LINE:
            return {"ok": False, "error": f"bad request: longer than {MAX_LINE} bytes"}
        try:
            req = json.loads(line)
        except (ValueError, UnicodeDecodeError) as exc:
            return {"ok": False, "error": f"bad request: not JSON ({exc})"}
        if not isinstance(req, dict):
            return {"ok": False, "error": "bad request: expected a JSON object"}
        if req.get("op") == "read":
            with self._mu:
                return {
                    "ok": True,
                    "max_token": self.max_token,
                    "data": self.data,
                    "writes": len(self.log),
                }
        if req.get("op") != "write":
            return {"ok": False, "error": "bad request: op must be write or read"}
        token = req.get("token")
        if token is not None and (not isinstance(token, int) or isinstance(token, bool)):
            return {"ok": False, "error": "bad request: token must be an integer or null"}
        return self.write(req.get("data"), token, **{k: req[k] for k in _FIELDS if k in req})

    def write(self, data: Any, token: int | None, **meta: Any) -> dict[str, Any]:
        with self._mu:
            stale = (
                self.fenced
                and token is not None
                and self.max_token is not None
                and token < self.max_token
            )
            if stale:
                reply: dict[str, Any] = {
                    "ok": False,
                    "error": "stale-token",
                    "max_token": self.max_token,
                }
            else:
                if token is not None and (self.max_token is None or token > self.max_token):
                    self.max_token = token
                self.data = data
                reply = {"ok": True}
            leader = meta.get("leader", "?")
            extra = {"token": token, **meta}
            if stale:
                extra["error"] = "stale-token"
            if len(self.log) < MAX_LOG:
                self.log.append(
                    Op(
                        len(self.log),
                        self.clock(),
                        "fail" if stale else "ok",
                        leader,
                        "write",
                        data,
                        extra,
                    )
                )
            else:
                self.dropped += 1
            return reply


class StoreClient:
    """A writer's connection to the store; reconnects once if the connection broke."""

    def __init__(self, address: tuple[str, int], timeout: float = 2.0, **meta: Any):
        self.address = address
        self.timeout = timeout
        self.meta = meta  # leader name etc., sent with every write
        self._sock: socket.socket | None = None
        self._rfile: Any = None
        self._mu = threading.Lock()

    def write(self, data: Any, token: int | None, **meta: Any) -> bool:
        """True if the store accepted the write, False if it refused it (stale token)."""
        reply = self.request({"op": "write", "data": data, "token": token, **self.meta, **meta})
        if not reply.get("ok") and reply.get("error") != "stale-token":
            raise ValueError(f"fenced store: {reply.get('error')}")
        return bool(reply.get("ok"))

    def read(self) -> dict[str, Any]:
        return self.request({"op": "read"})

    def request(self, req: dict[str, Any]) -> dict[str, Any]:
        line = json.dumps(req).encode() + b"\n"
        with self._mu:
            for attempt in (0, 1):
                try:
                    if self._sock is None:
                        self._sock = socket.create_connection(self.address, self.timeout)
                        self._rfile = self._sock.makefile("rb")
                    self._sock.sendall(line)
                    got = self._rfile.readline(MAX_LINE)
                    if not got:
                        raise ConnectionError("the fenced store closed the connection")
                    out: dict[str, Any] = json.loads(got)
                    return out
                except OSError:
                    self.close()
                    if attempt:
                        raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
        self._sock = None
        self._rfile = None
