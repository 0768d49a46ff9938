"""A userspace TCP fault proxy for peer traffic on the local backend.

One listener per directed pair (src, dst): src's config names the listener as dst's peer
address. Because every byte between two nodes passes a listener we own, any grudge can be
expressed without root: a connection whose bytes would cross a cut is closed and new ones are
refused (a TCP stream with a hole in it is not a stream, so bytes are never silently dropped
mid-connection); loss resets a connection with a probability per chunk; delay holds each chunk.

ZooKeeper's election connections start with an InitialMessage naming the sender's own election
address, which the receiver may dial back directly; the proxy rewrites that address to the
listener for the reverse pair so the dial-back is faulted too.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

_ZK_INITIAL_VERSIONS = (-65536, -65535)
_CHUNK = 65536


@dataclass
class Link:
    """Listener for bytes from `src` to `dst`; connections opened here carry dst→src replies too."""

    src: str
    dst: str
    target: tuple[str, int]
    kind: str = "peer"
    port: int = 0
    advertise: str | None = None  # rewrite a ZooKeeper InitialMessage address to this
    server: asyncio.base_events.Server | None = None
    conns: set[_Conn] = field(default_factory=set)


@dataclass(eq=False)
class _Conn:
    link: Link
    writers: list[asyncio.StreamWriter]
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def abort(self) -> None:
        for w in self.writers:
            with contextlib.suppress(Exception):
                w.transport.abort()
        for t in self.tasks:
            t.cancel()


class FaultProxy:
    """Runs an asyncio loop in a daemon thread; all methods are called from other threads."""

    def __init__(self, host: str = "127.0.0.1", seed: int | None = None):
        self.host = host
        self._rng = random.Random(seed)
        self._links: dict[tuple[str, str, str], Link] = {}
        self._blocked: set[tuple[str, str]] = set()  # (from, to): bytes from→to are cut
        self._loss: dict[tuple[str, str], float] = {}
        self._delay: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self.stats = {"accepted": 0, "refused": 0, "reset": 0, "bytes": 0}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="fault-proxy", daemon=True
        )
        self._thread.start()
        self._closed = False

    # -- setup -------------------------------------------------------------------------------

    def add_link(self, src: str, dst: str, target: tuple[str, int], kind: str = "peer") -> int:
        """Listen for src→dst traffic forwarded to dst's real `target`; returns the port."""
        link = Link(src, dst, target, kind)
        self._call(self._listen(link))
        self._links[(src, dst, kind)] = link
        return link.port

    def set_advertise(self, src: str, dst: str, kind: str, address: str) -> None:
        self._links[(src, dst, kind)].advertise = address

    def port(self, src: str, dst: str, kind: str = "peer") -> int:
        return self._links[(src, dst, kind)].port

    def links(self) -> list[Link]:
        return list(self._links.values())

    async def _listen(self, link: Link) -> None:
        link.server = await asyncio.start_server(
            lambda r, w: self._accept(link, r, w), self.host, 0, reuse_address=True
        )
        link.port = link.server.sockets[0].getsockname()[1]

    # -- faults ------------------------------------------------------------------------------

    def set_blocked(self, pairs: set[tuple[str, str]]) -> None:
        """Cut bytes flowing a→b for each (a, b); connections crossing a cut are closed."""
        with self._lock:
            self._blocked = set(pairs)
        self._call(self._enforce())

    def set_loss(self, pairs: dict[tuple[str, str], float]) -> None:
        with self._lock:
            self._loss = dict(pairs)

    def set_delay(self, pairs: dict[tuple[str, str], float]) -> None:
        """Delay in seconds for bytes a→b."""
        with self._lock:
            self._delay = dict(pairs)

    def heal(self) -> None:
        with self._lock:
            self._blocked, self._loss, self._delay = set(), {}, {}

    def blocked(self) -> set[tuple[str, str]]:
        with self._lock:
            return set(self._blocked)

    def loss(self) -> dict[tuple[str, str], float]:
        with self._lock:
            return dict(self._loss)

    def delay(self) -> dict[tuple[str, str], float]:
        with self._lock:
            return dict(self._delay)

    def _cut(self, link: Link) -> bool:
        with self._lock:
            return (link.src, link.dst) in self._blocked or (link.dst, link.src) in self._blocked

    def _lose(self, a: str, b: str) -> bool:
        with self._lock:
            p = self._loss.get((a, b), 0.0)
            return p > 0 and self._rng.random() < p

    async def _enforce(self) -> None:
        for link in self._links.values():
            if self._cut(link):
                for c in list(link.conns):
                    self.stats["reset"] += 1
                    c.abort()
                    link.conns.discard(c)

    # -- forwarding --------------------------------------------------------------------------

    async def _accept(
        self, link: Link, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if self._cut(link) or self._lose(link.src, link.dst):
            self.stats["refused"] += 1
            writer.transport.abort()
            return
        try:
            up_r, up_w = await asyncio.wait_for(asyncio.open_connection(*link.target), 5)
        except (OSError, TimeoutError):
            writer.transport.abort()
            return
        self.stats["accepted"] += 1
        conn = _Conn(link, [writer, up_w])
        link.conns.add(conn)
        fwd = asyncio.ensure_future(self._pump(conn, reader, up_w, link.src, link.dst, True))
        back = asyncio.ensure_future(self._pump(conn, up_r, writer, link.dst, link.src, False))
        conn.tasks = [fwd, back]
        await asyncio.gather(fwd, back, return_exceptions=True)
        link.conns.discard(conn)
        conn.abort()

    async def _pump(
        self,
        conn: _Conn,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        a: str,
        b: str,
        first: bool,
    ) -> None:
        try:
            if first and conn.link.advertise:
                head = await _rewrite_initial(reader, conn.link.advertise)
                if head:
                    writer.write(head)
            while True:
                data = await reader.read(_CHUNK)
                if not data:
                    break
                if self._cut(conn.link) or self._lose(a, b):
                    self.stats["reset"] += 1
                    break
                with self._lock:
                    d = self._delay.get((a, b), 0.0)
                if d > 0:
                    await asyncio.sleep(d)
                self.stats["bytes"] += len(data)
                writer.write(data)
                await writer.drain()
            with contextlib.suppress(Exception):
                if writer.can_write_eof():
                    writer.write_eof()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            conn.abort()

    # -- lifecycle ---------------------------------------------------------------------------

    def _call(self, coro: object, timeout: float = 10.0) -> object:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)  # type: ignore[arg-type]

    def close(self) -> None:
        """Stop every listener and connection; safe to call twice."""
        if self._closed:
            return
        self._closed = True

        async def _shutdown() -> None:
            for link in self._links.values():
                if link.server:
                    link.server.close()
                for c in list(link.conns):
                    c.abort()
            await asyncio.sleep(0)

        with contextlib.suppress(Exception):
            self._call(_shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        with contextlib.suppress(Exception):
            self._loop.close()


async def _rewrite_initial(reader: asyncio.StreamReader, advertise: str) -> bytes:
    """Pass through anything but a ZooKeeper election InitialMessage, whose address is replaced."""
    head = await reader.readexactly(8)
    (version,) = struct.unpack(">q", head)
    if version not in _ZK_INITIAL_VERSIONS:
        return head
    rest = await reader.readexactly(12)
    (sid, length) = struct.unpack(">qi", rest)
    if length < 0 or length > 4096:
        return head + rest
    await reader.readexactly(length)
    addr = advertise.encode()
    return head + struct.pack(">qi", sid, len(addr)) + addr


def wait_until(pred: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()
