"""The sans-IO server core: connection events in, bytes to send and connections to close out.

The runtime (asyncio) or the simulator calls `open`, `data`, `closed`, `tick` and the replicator
calls `deliver`; after each call the driver collects `take_output()`. No sockets, threads or
clocks in here: the driver sets `now` (monotonic ms) and `wall` (epoch ms) before calling in.

Ordering, as ZooKeeper's CommitProcessor: a session's reads wait behind its earlier writes; the
watch events a txn fires are queued before the reply of the write that made it.
"""

from __future__ import annotations

import logging
import struct
from collections import deque
from collections.abc import Callable

from . import acl as acls
from .acl import KeeperError
from .datatree import DataTree, Node, Result
from .fourletter import FOUR_LETTER_WORDS, four_letter
from .jute import INT, MAX_BUFFER, REPLY_HEADER, JuteError, Reader, Writer
from .prep import Prep, WriteRequest
from .protocol import (
    ACL,
    AddWatchRequest,
    AuthPacket,
    ConnectRequest,
    DeleteRequest,
    Err,
    Event,
    Id,
    MultiRequest,
    Op,
    PathRequest,
    PathWatchRequest,
    Perm,
    RemoveWatchesRequest,
    SetWatches,
    Xid,
    decode_body,
    encode_connect_response,
    encode_event,
    write_acl,
)
from .replication import Replicator
from .sessions import SessionTracker, password_for
from .txn import CreateSessionTxn, Txn
from .watches import PERSISTENT, RECURSIVE, Watches

log = logging.getLogger("zablab.node")

READ_OPS = frozenset(
    {
        Op.EXISTS,
        Op.GET_DATA,
        Op.GET_CHILDREN,
        Op.GET_CHILDREN2,
        Op.GET_ACL,
        Op.SYNC,
        Op.PING,
        Op.SET_WATCHES,
        Op.SET_WATCHES2,
        Op.MULTI_READ,
        Op.CHECK_WATCHES,
        Op.REMOVE_WATCHES,
        Op.GET_ALL_CHILDREN_NUMBER,
        Op.GET_EPHEMERALS,
        Op.WHO_AM_I,
        Op.ADD_WATCH,
    }
)
SUBMIT_OPS = frozenset(
    {
        Op.CREATE,
        Op.CREATE2,
        Op.CREATE_CONTAINER,
        Op.CREATE_TTL,
        Op.DELETE,
        Op.SET_DATA,
        Op.SET_ACL,
        Op.CHECK,
        Op.MULTI,
        Op.RECONFIG,
        Op.CLOSE_SESSION,
    }
)

NEW, WAIT_SESSION, OPEN, CLOSED = range(4)
MULTI_HEADER = struct.Struct(">i?i")
MULTI_END = MULTI_HEADER.pack(-1, True, -1)
NULL_BUFFER = INT.pack(-1)


class Pending:
    """One request of a session waiting for its turn (reads) or its txn (writes)."""

    __slots__ = ("xid", "op", "body", "write", "reply", "t0")

    def __init__(self, xid: int, op: int, body: object, write: bool, t0: int) -> None:
        self.xid = xid
        self.op = op
        self.body = body
        self.write = write
        self.reply: bytes | None = None
        self.t0 = t0


class Conn:
    __slots__ = (
        "id",
        "peer",
        "ip",
        "buf",
        "state",
        "session_id",
        "timeout",
        "auth",
        "queue",
        "out",
        "deferred",
        "with_ro",
        "recv",
        "sent",
        "closing",
    )

    def __init__(self, cid: int, peer: str, ip: str) -> None:
        self.id = cid
        self.peer = peer
        self.ip = ip
        self.buf = bytearray()
        self.state = NEW
        self.session_id = 0
        self.timeout = 0
        self.auth: list[Id] = [Id("ip", ip)]
        self.queue: deque[Pending] = deque()
        self.out: list[bytes] = []
        self.deferred: list[bytes] = []
        self.with_ro = True
        self.recv = 0
        self.sent = 0
        self.closing = False


class Stats:
    __slots__ = (
        "received", "sent", "lat_min", "lat_max", "lat_total", "lat_count", "started", "wakeups"
    )

    def __init__(self) -> None:
        self.received = 0
        self.sent = 0
        # watch events delivered per session (the `wevs` word): how many clients a change woke
        self.wakeups: dict[int, int] = {}
        self.reset_latency()
        self.started = 0

    def reset_latency(self) -> None:
        self.lat_min = 0
        self.lat_max = 0
        self.lat_total = 0
        self.lat_count = 0

    def latency(self, ms: int) -> None:
        if self.lat_count == 0 or ms < self.lat_min:
            self.lat_min = ms
        if ms > self.lat_max:
            self.lat_max = ms
        self.lat_total += ms
        self.lat_count += 1


class ServerCore:
    def __init__(
        self,
        tree: DataTree | None = None,
        *,
        tick_ms: int = 2000,
        server_id: int = 0,
        min_session_timeout: int = 0,
        max_session_timeout: int = 0,
        max_client_cnxns: int = 60,
        now: int = 0,
        wall: int = 0,
        info: Callable[[], dict[str, str]] | None = None,
    ) -> None:
        self.tree = tree or DataTree()
        self.tick_ms = tick_ms
        self.min_timeout = min_session_timeout or 2 * tick_ms
        self.max_timeout = max_session_timeout or 20 * tick_ms
        self.max_cnxns = max_client_cnxns
        self.now = now
        self.wall = wall
        self.tracker = SessionTracker(tick_ms, server_id, wall)
        for sid, timeout in self.tree.sessions.items():
            self.tracker.add(sid, timeout, now)
        self.prep = Prep(self.tree, self.tracker)
        self.watches = Watches()
        self.conns: dict[int, Conn] = {}
        self.session_conn: dict[int, Conn] = {}
        self.per_ip: dict[str, int] = {}
        self.dirty: dict[int, Conn] = {}
        self.to_close: list[int] = []
        self.stats = Stats()
        self.replicator: Replicator | None = None
        self.info = info or (lambda: {})
        self.on_apply: Callable[[Txn], None] | None = None
        self.expire_sessions = True
        # replicated mode: a server without a leader refuses clients, and a follower collects
        # the sessions its clients touch so the leader's tracker hears of them
        self.serving = True
        self.record_touches = False
        self.touched: set[int] = set()
        # ZooKeeper's ContainerManager: every interval, delete containers that had children
        # and have none left (checkIntervalMs, default 60 s)
        self.container_interval = 60_000
        self._next_container_check = now + self.container_interval
        # ZAB: a client's sync waits until the leader's pending proposals are delivered here;
        # the driver calls sync_barrier(token) and later synced(token)
        self.sync_barrier: Callable[[int], None] | None = None
        self._syncs: dict[int, tuple[Conn, Pending]] = {}
        self._sync_token = 0

    # ---- driver API -----------------------------------------------------------------------------

    def open(self, cid: int, peer: str, ip: str) -> bool:
        """A client connected; False (and the driver closes it) if its IP has too many."""
        n = self.per_ip.get(ip, 0)
        if self.max_cnxns and n >= self.max_cnxns:
            log.warning("Too many connections from %s - max is %d", ip, self.max_cnxns)
            return False
        self.per_ip[ip] = n + 1
        self.conns[cid] = Conn(cid, peer, ip)
        return True

    def closed(self, cid: int) -> None:
        """The driver saw the connection end (either side)."""
        c = self.conns.pop(cid, None)
        if c is None:
            return
        if c.buf and not c.closing:
            need = INT.unpack_from(c.buf, 0)[0] + 4 if len(c.buf) >= 4 else 4
            log.warning(
                "Connection from %s ended in the middle of a frame (%d of %d bytes)",
                c.peer,
                len(c.buf),
                need,
            )
        c.state = CLOSED
        self.watches.drop_watcher(cid)
        if self.session_conn.get(c.session_id) is c:
            del self.session_conn[c.session_id]
        n = self.per_ip.get(c.ip, 1) - 1
        if n <= 0:
            self.per_ip.pop(c.ip, None)
        else:
            self.per_ip[c.ip] = n
        self.dirty.pop(cid, None)

    def data(self, cid: int, data: bytes | bytearray | memoryview) -> None:
        """Bytes from the connection. Whole frames are parsed straight from `data` (which is
        not kept, so a driver may reuse its buffer); only an incomplete tail is copied."""
        c = self.conns.get(cid)
        if c is None or c.closing:
            return
        keep = c.buf
        if keep:
            keep += data
            buf: bytes | bytearray | memoryview = keep
        else:
            buf = data
        pos = 0
        end = len(buf)
        while end - pos >= 4:
            if c.state == NEW and pos == 0 and bytes(buf[0:4]) in FOUR_LETTER_WORDS:
                self._four_letter(c, bytes(buf[0:4]).decode("ascii"))
                return
            n = INT.unpack_from(buf, pos)[0]
            if n < 0 or n > MAX_BUFFER:
                self._abort(c, f"frame length {n} outside 0..{MAX_BUFFER} (jute.maxbuffer)")
                return
            if end - pos - 4 < n:
                break
            payload = bytes(buf[pos + 4 : pos + 4 + n])
            pos += 4 + n
            c.recv += 1
            self.stats.received += 1
            try:
                self._frame(c, payload)
            except (JuteError, KeeperError, UnicodeDecodeError) as exc:
                self._abort(c, f"malformed request: {exc}")
                return
            if c.closing:
                return
        if buf is keep:
            if pos:
                del keep[:pos]
        elif pos < end:
            keep += buf[pos:]
        if c.state == OPEN and c.session_id:
            self.tracker.touch(c.session_id, self.now)
            if self.record_touches:
                self.touched.add(c.session_id)

    def tick(self) -> None:
        """Expire sessions whose deadline passed (call at least every tick_ms).

        Only the primary expires sessions (`expire_sessions`); a ZAB follower turns it off.
        """
        if not self.expire_sessions:
            return
        for sid in self.tracker.expired(self.now):
            log.info("Expiring session 0x%x, timeout exceeded", sid & 0xFFFFFFFFFFFFFFFF)
            self._submit(WriteRequest(sid, 0, Op.CLOSE_SESSION, None))
        if self.now >= self._next_container_check:
            self._next_container_check = self.now + self.container_interval
            nodes = self.tree.nodes
            for path in sorted(self.tree.containers):
                n = nodes.get(path)
                if n is not None and n.cversion > 0 and not n.children:
                    req = DeleteRequest(path, -1)
                    self._submit(WriteRequest(0, 0, Op.DELETE_CONTAINER, req, [], path.encode()))

    def take_output(self) -> list[tuple[int, bytes, bool]]:
        """(connection, bytes to write, close afterwards) for every connection with news."""
        out: list[tuple[int, bytes, bool]] = []
        if self.dirty:
            for cid, c in self.dirty.items():
                if c.out:
                    data = b"".join(c.out) if len(c.out) > 1 else c.out[0]
                    c.out.clear()
                    out.append((cid, data, False))
            self.dirty.clear()
        if self.to_close:
            for cid in self.to_close:
                out.append((cid, b"", True))
                self.closed(cid)
            self.to_close.clear()
        return out

    # ---- framing ----------------------------------------------------------------------------------

    def _send(self, c: Conn, data: bytes) -> None:
        c.out.append(data)
        c.sent += 1
        self.stats.sent += 1
        self.dirty[c.id] = c

    def _reply(
        self, c: Conn, xid: int, err: int, body: bytes = b"", zxid: int | None = None
    ) -> None:
        z = self.tree.last_zxid if zxid is None else zxid
        self._send(c, INT.pack(16 + len(body)) + REPLY_HEADER.pack(xid, z, err) + body)

    def _close(self, c: Conn) -> None:
        if not c.closing:
            c.closing = True
            self.dirty[c.id] = c
            self.to_close.append(c.id)

    def _abort(self, c: Conn, reason: str) -> None:
        log.warning("Closing connection from %s: %s", c.peer, reason)
        self._close(c)

    def _four_letter(self, c: Conn, word: str) -> None:
        text = four_letter(self, word)
        self._send(c, text.encode("utf-8"))
        self._close(c)

    def _frame(self, c: Conn, payload: bytes) -> None:
        st = c.state
        if st == OPEN:
            self._request(c, payload)
        elif st == NEW:
            self._connect(c, payload)
        else:  # waiting for the createSession txn: hold requests back
            c.deferred.append(payload)

    # ---- sessions ----------------------------------------------------------------------------------

    def _connect(self, c: Conn, payload: bytes) -> None:
        req = ConnectRequest.decode(Reader(payload))
        c.with_ro = req.has_read_only
        if not self.serving:
            self._abort(c, "this server is not serving (no leader yet); try another server")
            return
        if req.last_zxid_seen > self.tree.last_zxid:
            self._abort(
                c,
                f"client has seen zxid 0x{req.last_zxid_seen:x}, our last zxid is "
                f"0x{self.tree.last_zxid:x}; client must try another server",
            )
            return
        timeout = min(max(req.timeout, self.min_timeout), self.max_timeout)
        c.timeout = timeout
        if req.session_id == 0:
            sid = self.tracker.next_id()
            self.tracker.add(sid, timeout, self.now)
            c.session_id = sid
            c.state = WAIT_SESSION
            self.session_conn[sid] = c
            self._submit(WriteRequest(sid, 0, Op.CREATE_SESSION, timeout))
            return
        sid = req.session_id
        old = self.session_conn.get(sid)
        if old is not None and old is not c:
            self._abort(old, f"session 0x{sid & 0xFFFFFFFFFFFFFFFF:x} reconnected from {c.peer}")
            del self.session_conn[sid]
        if req.passwd == password_for(sid) and self.tracker.touch(sid, self.now, timeout):
            s = self.tracker.sessions[sid]
            s.timeout = timeout
            c.session_id = sid
            c.state = OPEN
            self.session_conn[sid] = c
            self._send(
                c, _framed(encode_connect_response(timeout, sid, password_for(sid), c.with_ro))
            )
        else:
            log.info(
                "Invalid session 0x%x for client %s, probably expired", sid & (2**64 - 1), c.peer
            )
            self._send(c, _framed(encode_connect_response(0, 0, bytes(16), c.with_ro)))
            self._close(c)

    def _session_open(self, c: Conn) -> None:
        c.state = OPEN
        sid = c.session_id
        self._send(
            c, _framed(encode_connect_response(c.timeout, sid, password_for(sid), c.with_ro))
        )
        deferred, c.deferred = c.deferred, []
        for p in deferred:
            if c.closing:
                return
            try:
                self._request(c, p)
            except (JuteError, KeeperError, UnicodeDecodeError) as exc:
                self._abort(c, f"malformed request: {exc}")
                return

    # ---- requests -------------------------------------------------------------------------------------

    def _submit(self, req: WriteRequest) -> None:
        assert self.replicator is not None, "no replicator attached"
        self.replicator.submit(req)

    def _request(self, c: Conn, payload: bytes) -> None:
        r = Reader(payload)
        xid = r.int()
        op = r.int()
        if op == Op.SYNC and self.sync_barrier is not None:
            body = decode_body(op, r)
            p = Pending(xid, op, body, True, self.now)
            c.queue.append(p)
            self._sync_token += 1
            self._syncs[self._sync_token] = (c, p)
            self.sync_barrier(self._sync_token)
        elif op in READ_OPS:
            body = decode_body(op, r)
            if c.queue:
                c.queue.append(Pending(xid, op, body, False, self.now))
            else:
                self._read(c, xid, op, body)
        elif op in SUBMIT_OPS:
            body = decode_body(op, r)
            c.queue.append(Pending(xid, op, body, True, self.now))
            self._submit(WriteRequest(c.session_id, xid, op, body, list(c.auth), payload[8:]))
        elif op == Op.AUTH:
            body = decode_body(op, r)
            assert isinstance(body, AuthPacket)
            self._auth(c, xid, body)
        else:
            log.warning("Received packet of unknown type %d from %s", op, c.peer)
            self._reply(c, xid, Err.UNIMPLEMENTED)
            self._close(c)

    def _auth(self, c: Conn, xid: int, a: AuthPacket) -> None:
        if a.scheme == "digest":
            ident = Id("digest", acls.digest(a.auth.decode("utf-8", "replace")))
            if ident not in c.auth:
                c.auth.append(ident)
            self._reply(c, xid, Err.OK, zxid=0)
        elif a.scheme == "ip":
            self._reply(c, xid, Err.OK, zxid=0)
        else:
            log.warning("Authentication failed for scheme: %s", a.scheme)
            self._reply(c, xid, Err.AUTHFAILED, zxid=0)
            self._close(c)

    def _drain(self, c: Conn) -> None:
        q = c.queue
        while q:
            p = q[0]
            if p.write:
                if p.reply is None:
                    return
                q.popleft()
                self._send(c, p.reply)
                self.stats.latency(self.now - p.t0)
            else:
                q.popleft()
                self._read(c, p.xid, p.op, p.body)

    # ---- reads ----------------------------------------------------------------------------------------

    def _read(self, c: Conn, xid: int, op: int, body: object) -> None:
        try:
            if op == Op.PING:
                self._reply(c, Xid.PING, Err.OK)
                return
            if op == Op.GET_DATA:
                assert isinstance(body, PathWatchRequest)
                n = self._readable(body.path, c)
                if body.watch:
                    self.watches.data.add(body.path, c.id)
                d = n.data
                if d is None:
                    self._reply(c, xid, 0, NULL_BUFFER + n.stat())
                else:
                    self._reply(c, xid, 0, INT.pack(len(d)) + d + n.stat())
            elif op == Op.EXISTS:
                assert isinstance(body, PathWatchRequest)
                if body.watch:
                    self.watches.data.add(body.path, c.id)
                en = self.tree.nodes.get(body.path)
                if en is None:
                    raise KeeperError(Err.NONODE)
                self._reply(c, xid, 0, en.stat())
            elif op in (Op.GET_CHILDREN, Op.GET_CHILDREN2):
                assert isinstance(body, PathWatchRequest)
                n = self._readable(body.path, c)
                if body.watch:
                    self.watches.child.add(body.path, c.id)
                w = Writer().strings(sorted(n.children))
                if op == Op.GET_CHILDREN2:
                    w.raw(n.stat())
                self._reply(c, xid, 0, bytes(w.buf))
            elif op == Op.GET_ACL:
                assert isinstance(body, PathRequest)
                self._reply(c, xid, 0, self._get_acl(body.path, c))
            elif op == Op.SYNC:
                assert isinstance(body, PathRequest)
                self._reply(c, xid, 0, Writer().ustring(body.path).bytes())
            elif op in (Op.SET_WATCHES, Op.SET_WATCHES2):
                assert isinstance(body, SetWatches)
                self._set_watches(c, body)
                self._reply(c, xid, 0)
            elif op == Op.MULTI_READ:
                assert isinstance(body, MultiRequest)
                self._reply(c, xid, 0, self._multi_read(c, body))
            elif op in (Op.CHECK_WATCHES, Op.REMOVE_WATCHES):
                assert isinstance(body, RemoveWatchesRequest)
                self._remove_watches(c, body, remove=op == Op.REMOVE_WATCHES)
                self._reply(c, xid, 0)
            elif op == Op.GET_ALL_CHILDREN_NUMBER:
                assert isinstance(body, PathRequest)
                self._readable(body.path, c)
                prefix = "/" if body.path == "/" else body.path + "/"
                cnt = sum(1 for p in self.tree.nodes if p.startswith(prefix) and p != "/")
                self._reply(c, xid, 0, INT.pack(cnt))
            elif op == Op.GET_EPHEMERALS:
                assert isinstance(body, PathRequest)
                mine = sorted(self.tree.ephemerals.get(c.session_id, ()))
                prefix = body.path
                out = mine if prefix == "/" else [p for p in mine if p.startswith(prefix)]
                self._reply(c, xid, 0, Writer().strings(out).bytes())
            elif op == Op.WHO_AM_I:
                w = Writer()
                ids = [i for i in c.auth]
                w.int(len(ids))
                for i in ids:
                    w.ustring(i.scheme).ustring(i.id)
                self._reply(c, xid, 0, w.bytes())
            elif op == Op.ADD_WATCH:
                assert isinstance(body, AddWatchRequest)
                if body.mode == 0:
                    self.watches.data.add(body.path, c.id, PERSISTENT)
                    self.watches.child.add(body.path, c.id, PERSISTENT)
                elif body.mode == 1:
                    self.watches.data.add(body.path, c.id, RECURSIVE)
                else:
                    raise KeeperError(Err.MARSHALLINGERROR)
                self._reply(c, xid, 0, INT.pack(0))  # an ErrorResponse(0), as ZooKeeper sends
        except KeeperError as e:
            self._reply(c, xid, e.code)

    def _readable(self, path: str, c: Conn) -> Node:
        n = self.tree.nodes.get(path)
        if n is None:
            raise KeeperError(Err.NONODE)
        acl = n.acl
        if not (len(acl) == 1 and acl[0].id.scheme == "world" and acl[0].perms & Perm.READ):
            acls.check(acl, Perm.READ, c.auth)
        return n

    def _get_acl(self, path: str, c: Conn) -> bytes:
        n = self.tree.nodes.get(path)
        if n is None:
            raise KeeperError(Err.NONODE)
        acls.check(n.acl, Perm.READ | Perm.ADMIN, c.auth)
        acl: list[ACL] = list(n.acl)
        if not acls.allowed(n.acl, Perm.ADMIN, c.auth):
            acl = [
                ACL(a.perms, Id(a.id.scheme, a.id.id.split(":", 1)[0] + ":x"))
                if a.id.scheme == "digest"
                else a
                for a in acl
            ]
        return Writer().vector(acl, write_acl).raw(n.stat()).bytes()

    def _multi_read(self, c: Conn, m: MultiRequest) -> bytes:
        w = Writer()
        for typ, body in m.ops:
            assert isinstance(body, PathWatchRequest)
            try:
                n = self._readable(body.path, c)
                if typ == Op.GET_CHILDREN:
                    w.raw(MULTI_HEADER.pack(typ, False, 0)).strings(sorted(n.children))
                else:
                    w.raw(MULTI_HEADER.pack(typ, False, 0)).buffer(n.data).raw(n.stat())
            except KeeperError as e:
                w.raw(MULTI_HEADER.pack(Op.ERROR, False, e.code)).int(e.code)
        w.raw(MULTI_END)
        return w.bytes()

    def _set_watches(self, c: Conn, sw: SetWatches) -> None:
        nodes = self.tree.nodes
        rel = sw.relative_zxid
        for path in sw.data:
            n = nodes.get(path)
            if n is None:
                self._send(c, encode_event(Event.NODE_DELETED, path))
            elif n.mzxid > rel:
                self._send(c, encode_event(Event.NODE_DATA_CHANGED, path))
            else:
                self.watches.data.add(path, c.id)
        for path in sw.exist:
            if path in nodes:
                self._send(c, encode_event(Event.NODE_CREATED, path))
            else:
                self.watches.data.add(path, c.id)
        for path in sw.child:
            n = nodes.get(path)
            if n is None:
                self._send(c, encode_event(Event.NODE_DELETED, path))
            elif n.pzxid > rel:
                self._send(c, encode_event(Event.NODE_CHILDREN_CHANGED, path))
            else:
                self.watches.child.add(path, c.id)
        for path in sw.persistent:  # re-armed silently, as ZooKeeper does
            self.watches.data.add(path, c.id, PERSISTENT)
            self.watches.child.add(path, c.id, PERSISTENT)
        for path in sw.recursive:
            self.watches.data.add(path, c.id, RECURSIVE)

    def _remove_watches(self, c: Conn, req: RemoveWatchesRequest, remove: bool) -> None:
        w = self.watches
        # WatcherType of ZooKeeper 3.8: 1 children, 2 data, 3 any; others do not decode
        if req.type not in (1, 2, 3):
            raise KeeperError(Err.MARSHALLINGERROR)
        tables = {1: [w.child], 2: [w.data], 3: [w.child, w.data]}[req.type]
        found = False
        for t in tables:
            if t.has(req.path, c.id):
                found = True
                if remove:
                    t.remove(req.path, c.id)
        if not found:
            raise KeeperError(Err.NOWATCHER)

    # ---- replication hooks ------------------------------------------------------------------------------

    def synced(self, token: int) -> None:
        """The sync barrier `token` passed: answer that client's sync in its turn."""
        entry = self._syncs.pop(token, None)
        if entry is None:
            return
        c, p = entry
        if c.state == CLOSED:
            return
        assert isinstance(p.body, PathRequest)
        body = Writer().ustring(p.body.path).bytes()
        p.reply = INT.pack(16 + len(body)) + REPLY_HEADER.pack(p.xid, self.tree.last_zxid, 0) + body
        self._drain(c)

    def take_touched(self) -> set[int]:
        out, self.touched = self.touched, set()
        return out

    def install_tree(self, tree: DataTree) -> None:
        """Replace the data tree (a ZAB SNAP sync); pending prep state no longer applies."""
        self.tree = tree
        self.prep.tree = tree
        self.prep.reset()
        for sid, timeout in tree.sessions.items():
            if sid not in self.tracker.sessions:
                self.tracker.add(sid, timeout, self.now)
        for sid in [s for s in self.tracker.sessions if s not in tree.sessions]:
            self.tracker.remove(sid)

    def drop_clients(self, reason: str) -> None:
        """Close every client connection (ZooKeeper does so when the leader changes); clients
        see connection loss, reconnect and resume their sessions."""
        for c in list(self.conns.values()):
            if not c.closing:
                log.info("Closing connection from %s: %s", c.peer, reason)
                self._close(c)
        self.prep.reset()

    def snapshot(self) -> tuple[int, bytes]:
        """The Application interface of the ZAB replica: delivered state as bytes."""
        return self.tree.last_zxid, self.tree.serialize()

    # ---- committed txns -------------------------------------------------------------------------------

    def deliver(self, txn: Txn, payload: bytes = b"") -> None:
        """A committed txn, in zxid order: apply, fire watches, answer the local session."""
        self.prep.committed(txn.zxid)
        trig: list = []
        rc = self.tree.apply(txn, trig)
        if trig:
            conns = self.conns
            for w, ev, path in self.watches.trigger(trig):
                wc = conns.get(w)  # type: ignore[call-overload]
                if wc is not None and not wc.closing:
                    self._send(wc, encode_event(ev, path))
                    n = self.stats.wakeups
                    if len(n) < 100_000 or wc.session_id in n:
                        n[wc.session_id] = n.get(wc.session_id, 0) + 1
        if self.on_apply is not None:
            self.on_apply(txn)
        typ = txn.type
        sid = txn.client_id
        c = self.session_conn.get(sid)
        if typ == Op.CREATE_SESSION:
            if sid not in self.tracker.sessions:  # a session made at another replica
                assert isinstance(txn.body, CreateSessionTxn)
                self.tracker.add(sid, txn.body.timeout, self.now)
            if c is not None and c.state == WAIT_SESSION:
                self._session_open(c)
            return
        if typ == Op.CLOSE_SESSION:
            self.tracker.remove(sid)
            if c is not None:
                del self.session_conn[sid]
                q = c.queue
                while q and not (
                    q[0].write and q[0].op == Op.CLOSE_SESSION and q[0].xid == txn.cxid
                ):
                    p = q.popleft()
                    if p.write and p.reply is not None:
                        self._send(c, p.reply)
                    elif not p.write:
                        self._read(c, p.xid, p.op, p.body)
                if q:
                    q.clear()
                    self._reply(c, txn.cxid, 0)
                self._close(c)
            return
        if c is None:
            return
        q = c.queue
        if not q:
            return
        head = q[0]
        if head.write and head.xid == txn.cxid and head.reply is None:
            head.reply = self._write_reply(head, rc)
            self._drain(c)

    def _write_reply(self, p: Pending, rc: Result) -> bytes:
        xid = p.xid
        z = self.tree.last_zxid
        if rc.type == Op.ERROR:
            return INT.pack(16) + REPLY_HEADER.pack(xid, z, rc.err)
        op = p.op
        if op == Op.SET_DATA or op == Op.SET_ACL:
            body = rc.stat or b""
        elif op == Op.CREATE:
            body = Writer().ustring(rc.path).bytes()
        elif op in (Op.CREATE2, Op.CREATE_CONTAINER, Op.CREATE_TTL):
            body = Writer().ustring(rc.path).raw(rc.stat or b"").bytes()
        elif op == Op.MULTI:
            body = _multi_results(rc)
        else:
            body = b""
        return INT.pack(16 + len(body)) + REPLY_HEADER.pack(xid, z, 0) + body


def _framed(payload: bytes) -> bytes:
    return INT.pack(len(payload)) + payload


def _multi_results(rc: Result) -> bytes:
    w = Writer()
    for sub in rc.multi or ():
        t = sub.type
        if t == Op.ERROR:
            w.raw(MULTI_HEADER.pack(Op.ERROR, False, sub.err)).int(sub.err)
        elif t == Op.CREATE:
            w.raw(MULTI_HEADER.pack(Op.CREATE, False, 0)).ustring(sub.path)
        elif t in (Op.CREATE2, Op.CREATE_CONTAINER, Op.CREATE_TTL):
            w.raw(MULTI_HEADER.pack(Op.CREATE2, False, 0)).ustring(sub.path).raw(sub.stat or b"")
        elif t in (Op.DELETE, Op.DELETE_CONTAINER):
            w.raw(MULTI_HEADER.pack(Op.DELETE, False, 0))
        elif t == Op.SET_DATA:
            w.raw(MULTI_HEADER.pack(Op.SET_DATA, False, 0)).raw(sub.stat or b"")
        elif t == Op.CHECK:
            w.raw(MULTI_HEADER.pack(Op.CHECK, False, 0))
    w.raw(MULTI_END)
    return w.bytes()
