"""asyncio transport between ensemble members: authenticated, framed, one-way FIFO links.

Each server dials a peer for its own outgoing messages (one link per peer and channel,
"election" or "zab") and accepts the peer's links for incoming ones, so there is never a
duplicate connection to settle. A link is dialled when the first message for it is sent;
messages wait while it connects and are dropped if it fails, as a lossy network would (the
replica retries on its own timers). When a ZAB link breaks, either way, the owner is told
with `on_break(peer)`, which the replica sees as `on_disconnect`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Callable
from typing import Any

from zablab.errors import UserError

from .config import Peer
from .replica.codec import Codec, CodecError, FrameDecoder
from .replica.handshake import Handshake, HandshakeError
from .zab.codec import CODEC as ZAB_CODEC
from .zab.messages import channel_of as zab_channel_of

Message = Any  # a record of the replica protocol's message table

log = logging.getLogger("zablab.node.peers")

CONNECT_TIMEOUT = 2.0
MAX_QUEUED = 100_000


class _Link:
    __slots__ = ("peer", "channel", "writer", "queue", "task", "closed")

    def __init__(self, peer: int, channel: str) -> None:
        self.peer = peer
        self.channel = channel
        self.writer: asyncio.StreamWriter | None = None
        self.queue: list[bytes] = []
        self.task: asyncio.Task[None] | None = None
        self.closed = False


class PeerNet:
    def __init__(
        self,
        my_id: int,
        peers: dict[int, Peer],
        secret: bytes,
        on_message: Callable[[int, Message], None],
        on_break: Callable[[int], None],
        codec: Codec = ZAB_CODEC,
        channel_of: Callable[[Any], str] = zab_channel_of,
    ) -> None:
        """``codec`` and ``channel_of`` are the replica protocol's (ZAB unless told)."""
        self.codec = codec
        self.channel_of = channel_of
        self.my_id = my_id
        self.peers = peers
        self.members = set(peers)
        self.secret = secret
        self.on_message = on_message
        self.on_break = on_break
        self.out: dict[tuple[int, str], _Link] = {}
        self.inbound: dict[tuple[int, str], asyncio.StreamWriter] = {}
        self.servers: list[asyncio.Server] = []
        # peers refused since their last good handshake: a refusal is logged once, not on
        # every retry of the dialler
        self.refused: set[object] = set()

    def _refuse(self, who: object, text: str, *args: object) -> None:
        level = logging.DEBUG if who in self.refused else logging.WARNING
        self.refused.add(who)
        log.log(level, text, *args)

    async def start(self, listen_host: str = "") -> None:
        me = self.peers[self.my_id]
        host = listen_host or me.host
        for port, channel in ((me.peer_port, "zab"), (me.election_port, "election")):
            handler = functools.partial(self._accept, channel=channel)
            try:
                srv = await asyncio.start_server(handler, host, port, reuse_address=True)
            except OSError as exc:
                raise UserError(
                    f"cannot listen on {host}:{port} ({channel} port of server.{self.my_id}): "
                    f"{exc.strerror}; fix the server.{self.my_id} line or free the port."
                ) from None
            self.servers.append(srv)
        log.info("peer ports %s:%d (zab) and %d (election)", host, me.peer_port, me.election_port)

    def close(self) -> None:
        for srv in self.servers:
            srv.close()
        for link in list(self.out.values()):
            self._drop(link, notify=False)
        for w in list(self.inbound.values()):
            w.close()
        self.inbound.clear()

    # ---- sending ------------------------------------------------------------------------------

    def send(self, to: int, msg: Message) -> None:
        if to not in self.peers or to == self.my_id:
            return
        ch = self.channel_of(msg)
        link = self.out.get((to, ch))
        if link is None:
            link = self.out[(to, ch)] = _Link(to, ch)
            link.task = asyncio.get_running_loop().create_task(self._dial(link))
        data = self.codec.encode(msg)
        if link.writer is not None:
            link.writer.write(data)
        elif len(link.queue) < MAX_QUEUED:
            link.queue.append(data)

    def close_zab(self, peer: int) -> None:
        """The replica dropped the ZAB connection to `peer` (the peer sees it break)."""
        link = self.out.get((peer, "zab"))
        if link is not None:
            self._drop(link, notify=False)
        w = self.inbound.pop((peer, "zab"), None)
        if w is not None:
            w.close()

    def _drop(self, link: _Link, notify: bool) -> None:
        if link.closed:
            return
        link.closed = True
        if self.out.get((link.peer, link.channel)) is link:
            del self.out[(link.peer, link.channel)]
        if link.writer is not None:
            link.writer.close()
        elif link.task is not None:
            link.task.cancel()
        if notify and link.channel == "zab":
            self.on_break(link.peer)

    async def _dial(self, link: _Link) -> None:
        p = self.peers[link.peer]
        port = p.peer_port if link.channel == "zab" else p.election_port
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(p.host, port), CONNECT_TIMEOUT
            )
        except (TimeoutError, OSError):
            self._drop(link, notify=True)
            return
        try:
            hs = Handshake(self.my_id, self.secret, self.members, os.urandom(16), peer_id=link.peer)
            writer.write(hs.start())
            await _complete(hs, reader, writer)
        except (TimeoutError, OSError, HandshakeError) as exc:
            if isinstance(exc, HandshakeError):
                self._refuse(link.peer, "refused peer %d (%s:%d): %s", link.peer, p.host, port, exc)
            writer.close()
            self._drop(link, notify=True)
            return
        self.refused.discard(link.peer)
        if link.closed:
            writer.close()
            return
        link.writer = writer
        for data in link.queue:
            writer.write(data)
        link.queue.clear()
        # the link is one-way; reading only tells us when it breaks
        try:
            while await reader.read(4096):
                pass
        except OSError:
            pass
        self._drop(link, notify=True)

    # ---- receiving ----------------------------------------------------------------------------

    async def _accept(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, channel: str
    ) -> None:
        addr = writer.get_extra_info("peername")
        peer_addr = f"{addr[0]}:{addr[1]}" if addr else "?"
        hs = Handshake(self.my_id, self.secret, self.members, os.urandom(16))
        try:
            await _complete(hs, reader, writer)
        except (TimeoutError, OSError, HandshakeError) as exc:
            if isinstance(exc, HandshakeError):
                self._refuse(
                    addr and addr[0], "refused peer connection from %s: %s", peer_addr, exc
                )
            elif hs.peer_id is not None and not isinstance(exc, TimeoutError):
                # it hung up after our challenge: it found our proof wrong
                self._refuse(
                    hs.peer_id,
                    "refused by peer %d (%s): it rejected our proof of the shared secret; "
                    "give every member the same ZABLAB_ENSEMBLE_SECRET",
                    hs.peer_id,
                    peer_addr,
                )
            writer.close()
            return
        peer = hs.peer_id
        assert peer is not None
        self.refused.discard(peer)
        old = self.inbound.get((peer, channel))
        if old is not None:
            old.close()
        self.inbound[(peer, channel)] = writer
        dec = FrameDecoder(self.codec)
        try:
            data = hs.leftover
            while True:
                if data:
                    for msg in dec.feed(data):
                        self.on_message(peer, msg)
                data = await reader.read(65536)
                if not data:
                    break
        except (OSError, CodecError) as exc:
            if isinstance(exc, CodecError):
                log.warning("peer %d sent a bad frame: %s", peer, exc)
        finally:
            writer.close()
            if self.inbound.get((peer, channel)) is writer:
                del self.inbound[(peer, channel)]
                if channel == "zab":
                    self.on_break(peer)


async def _complete(
    hs: Handshake, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Feed the (sans-IO) handshake until it is done, both ways; it raises on a bad peer."""
    while not hs.done:
        data = await asyncio.wait_for(reader.read(4096), CONNECT_TIMEOUT)
        if not data:
            raise ConnectionResetError("closed during the handshake")
        writer.write(hs.receive(data))
