"""The sans-IO server core: connection events in, bytes to send and connections to close out.

The runtime (asyncio) or the simulator calls `open`, `data`, `closed`, `tick` and the replicator
calls `deliver`; after each call the driver collects `take_output()`. No sockets, threads or
clocks in here: the driver sets `now` (monotonic ms) and `wall` (epoch ms) before calling in.

Ordering, as ZooKeeper's CommitProcessor: a session's reads wait behind its earlier writes; the
watch events a txn fires are queued before the reply of the write that made it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from . import acl as acls
from .acl import KeeperError
from .connection import CLOSED, LAST_OP, NEW, OPEN, WAIT_SESSION, Conn, Pending, Stats
from .datatree import DataTree, Result
from .fourletter import FOUR_LETTER_WORDS, four_letter
from .jute import INT, MAX_BUFFER, REPLY_HEADER, JuteError, Reader, Writer
from .metrics import ServerMetrics
from .options import ServerOptions
from .prep import Prep, WriteRequest
from .protocol import (
    AuthPacket,
    ConnectRequest,
    DeleteRequest,
    Err,
    Event,
    Id,
    OpCode,
    PathRequest,
    Xid,
    decode_body,
    encode_connect_response,
    encode_event,
    ttl_of,
)
from .reads import MULTI_END, MULTI_HEADER, READS
from .replication import Replicator
from .sessions import SessionTracker, password_for
from .txn import CreateSessionTxn, Txn
from .watches import Watches

log = logging.getLogger("zablab.node")

SUBMIT_OPS = frozenset(
    {
        OpCode.CREATE,
        OpCode.CREATE2,
        OpCode.CREATE_CONTAINER,
        OpCode.CREATE_TTL,
        OpCode.DELETE,
        OpCode.SET_DATA,
        OpCode.SET_ACL,
        OpCode.CHECK,
        OpCode.MULTI,
        OpCode.RECONFIG,
        OpCode.CLOSE_SESSION,
    }
)

# PING answers with its own xid, and an ensemble's SYNC waits for the leader (see _request)
READ_OPS = frozenset(READS) | {OpCode.PING}


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
        options: ServerOptions | None = None,
    ) -> None:
        self.options = options = options or ServerOptions()
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
        self.watches = Watches()
        self.conns: dict[int, Conn] = {}
        self.session_conn: dict[int, Conn] = {}
        self.per_ip: dict[str, int] = {}
        self.dirty: dict[int, Conn] = {}
        self.to_close: list[int] = []
        self.stats = Stats()
        self.stats.started = now
        self.metrics = ServerMetrics()
        self.prep = Prep(self.tree, self.tracker, options, self.metrics)
        self.replicator: Replicator | None = None
        self.info = info or (lambda: {})
        self.on_apply: Callable[[Txn], None] | None = None
        # called with each committed txn before it is applied (a simulator checks whether it
        # fits the tree, misfit.py)
        self.before_apply: Callable[[Txn], None] | None = None
        self.expire_sessions = True
        # replicated mode: a server without a leader refuses clients, and a follower collects
        # the sessions its clients touch so the leader's tracker hears of them
        self.serving = True
        self.record_touches = False
        self.touched: set[int] = set()
        # ZooKeeper's ContainerManager: every interval, delete emptied containers and expired
        # TTL nodes (znode.container.checkIntervalMs, default 60 s)
        self._next_container_check = now + options.container_check_ms
        # ZAB: a client's sync waits until the leader's pending proposals are delivered here;
        # the driver calls sync_barrier(token) and later synced(token)
        self.sync_barrier: Callable[[int], None] | None = None
        self._syncs: dict[int, tuple[Conn, Pending]] = {}
        self._sync_token = 0

    # ---- driver API -----------------------------------------------------------------------------

    def attach(self, replicator: Replicator, *, sync: Callable[[int], None] | None = None) -> None:
        """Connect the replication below this server (once, before the first client).

        A replicated server passes ``sync``, which holds a client's sync until the primary's
        pending writes are delivered here (the driver later calls ``synced(token)``). Such a
        server starts as a member without a role: it refuses clients and expires no sessions
        until ``set_role`` says otherwise, and it records the sessions its clients touch so
        the primary's tracker can hear of them.
        """
        if self.replicator is not None:
            raise RuntimeError("a replicator is already attached to this server")
        self.replicator = replicator
        self.sync_barrier = sync
        if sync is not None:
            self.record_touches = True
            self.set_role(serving=False, primary=False)

    def set_role(self, *, serving: bool, primary: bool) -> None:
        """The replica's role changed: whether clients are served, and whether this server is
        the primary (only the primary expires sessions). Pending prep state no longer holds."""
        self.serving = serving
        self.expire_sessions = primary
        self.prep.reset()

    def open(self, cid: int, peer: str, ip: str) -> bool:
        """A client connected; False (and the driver closes it) if its IP has too many."""
        n = self.per_ip.get(ip, 0)
        if self.max_cnxns and n >= self.max_cnxns:
            log.warning("Too many connections from %s - max is %d", ip, self.max_cnxns)
            return False
        self.per_ip[ip] = n + 1
        self.conns[cid] = Conn(cid, peer, ip, self.wall)
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
        self.metrics.bytes_received_count.value += len(data)
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
            self._submit(WriteRequest(sid, 0, OpCode.CLOSE_SESSION, None))
        if self.now >= self._next_container_check:
            self._next_container_check = self.now + self.options.container_check_ms
            for path in self.reapable():
                req = DeleteRequest(path, -1)
                self._submit(WriteRequest(0, 0, OpCode.DELETE_CONTAINER, req, [], path.encode()))

    def reapable(self) -> list[str]:
        """Nodes ZooKeeper's ContainerManager would delete now: childless containers that had
        a child (or, with maxNeverUsedIntervalMs, are older than it), and childless TTL nodes
        not modified for longer than their TTL."""
        nodes = self.tree.nodes
        never_used = self.options.container_max_never_used_ms
        out = []
        for path in sorted(self.tree.containers):
            n = nodes.get(path)
            if n is None or n.children:
                continue
            if n.cversion > 0 or (never_used and self.wall - n.mtime > never_used):
                out.append(path)
        for path in sorted(self.tree.ttls):
            n = nodes.get(path)
            if n is not None and not n.children and self.wall - n.mtime > ttl_of(n.owner):
                out.append(path)
        return out

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
        stats = self.stats
        stats.sent += 1
        n = len(data) - 4  # ZooKeeper's BufferStats count the frame without its length
        self.metrics.response_bytes.value += n
        stats.last_response_size = n
        if n > stats.max_response_size:
            stats.max_response_size = n
        if n < stats.min_response_size or stats.min_response_size < 0:
            stats.min_response_size = n
        self.dirty[c.id] = c

    def _done(self, c: Conn, op: int, xid: int, t0: int, write: bool) -> None:
        """A request was answered: the counters cons, stat and mntr report."""
        now = self.now
        lat = now - t0
        c.last_op = LAST_OP.get(op, "NA")
        c.last_cxid = xid
        c.last_zxid = self.tree.last_zxid
        c.last_response = now
        c.last_latency = lat
        c.latency.add(lat)
        self.stats.latency.add(lat)
        (self.metrics.updatelatency if write else self.metrics.readlatency).add(lat)

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
        c.recv += 1  # cons shows the asking connection with the word counted
        text = four_letter(self, word, c.id)
        c.out.append(text.encode("utf-8"))  # not a packet: no packet or response counters
        self.dirty[c.id] = c
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
            self._submit(WriteRequest(sid, 0, OpCode.CREATE_SESSION, timeout))
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
        if op == OpCode.SYNC and self.sync_barrier is not None:
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
                self._read(c, xid, op, body, self.now)
        elif op in SUBMIT_OPS:
            body = decode_body(op, r)
            c.queue.append(Pending(xid, op, body, True, self.now))
            self._submit(WriteRequest(c.session_id, xid, op, body, list(c.auth), payload[8:]))
        elif op == OpCode.AUTH:
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
            self.stats.auth_failed += 1
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
                self._done(c, p.op, p.xid, p.t0, p.op != OpCode.SYNC)
            else:
                q.popleft()
                self._read(c, p.xid, p.op, p.body, p.t0)

    # ---- reads ----------------------------------------------------------------------------------------

    def _read(self, c: Conn, xid: int, op: int, body: object, t0: int) -> None:
        if op == OpCode.PING:
            self._reply(c, Xid.PING, Err.OK)
        else:
            try:
                out = READS[op](self, c, body)
            except KeeperError as e:
                self._reply(c, xid, e.code)
            else:
                self._reply(c, xid, 0, out)
        self._done(c, op, xid, t0, False)

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
        if self.before_apply is not None:
            self.before_apply(txn)
        trig: list = []
        rc = self.tree.apply(txn, trig)
        if trig:
            conns = self.conns
            fired = self.watches.trigger(trig)
            for w, ev, path in fired:
                wc = conns.get(w)  # type: ignore[call-overload]
                if wc is not None and not wc.closing:
                    self._send(wc, encode_event(ev, path))
                    n = self.stats.wakeups
                    if len(n) < 100_000 or wc.session_id in n:
                        n[wc.session_id] = n.get(wc.session_id, 0) + 1
            if fired:
                self._count_fired(fired)
        if self.on_apply is not None:
            self.on_apply(txn)
        typ = txn.type
        sid = txn.client_id
        c = self.session_conn.get(sid)
        if typ == OpCode.CREATE_SESSION:
            if sid not in self.tracker.sessions:  # a session made at another replica
                assert isinstance(txn.body, CreateSessionTxn)
                self.tracker.add(sid, txn.body.timeout, self.now)
            if c is not None and c.state == WAIT_SESSION:
                self._session_open(c)
            return
        if typ == OpCode.CLOSE_SESSION:
            self.tracker.remove(sid)
            if c is not None:
                del self.session_conn[sid]
                q = c.queue
                while q and not (
                    q[0].write and q[0].op == OpCode.CLOSE_SESSION and q[0].xid == txn.cxid
                ):
                    p = q.popleft()
                    if p.write and p.reply is not None:
                        self._send(c, p.reply)
                    elif not p.write:
                        self._read(c, p.xid, p.op, p.body, p.t0)
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

    def _count_fired(self, fired: list[tuple[object, int, str]]) -> None:
        """Watchers per fired event, by type (ZooKeeper's node_*_watch_count summaries)."""
        per: dict[tuple[int, str], int] = {}
        for _w, ev, path in fired:
            per[(ev, path)] = per.get((ev, path), 0) + 1
        m = self.metrics
        by_event = {
            Event.NODE_CREATED: m.node_created_watch_count,
            Event.NODE_DELETED: m.node_deleted_watch_count,
            Event.NODE_DATA_CHANGED: m.node_changed_watch_count,
            Event.NODE_CHILDREN_CHANGED: m.node_children_watch_count,
        }
        for (ev, _path), n in per.items():
            summary = by_event.get(ev)
            if summary is not None:
                summary.add(n)

    def _write_reply(self, p: Pending, rc: Result) -> bytes:
        xid = p.xid
        z = self.tree.last_zxid
        if rc.type == OpCode.ERROR:
            return INT.pack(16) + REPLY_HEADER.pack(xid, z, rc.err)
        op = p.op
        if op == OpCode.SET_DATA or op == OpCode.SET_ACL:
            body = rc.stat or b""
        elif op == OpCode.CREATE:
            body = Writer().ustring(rc.path).bytes()
        elif op in (OpCode.CREATE2, OpCode.CREATE_CONTAINER, OpCode.CREATE_TTL):
            body = Writer().ustring(rc.path).raw(rc.stat or b"").bytes()
        elif op == OpCode.MULTI:
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
        if t == OpCode.ERROR:
            w.raw(MULTI_HEADER.pack(OpCode.ERROR, False, sub.err)).int(sub.err)
        elif t == OpCode.CREATE:
            w.raw(MULTI_HEADER.pack(OpCode.CREATE, False, 0)).ustring(sub.path)
        elif t in (OpCode.CREATE2, OpCode.CREATE_CONTAINER, OpCode.CREATE_TTL):
            w.raw(MULTI_HEADER.pack(OpCode.CREATE2, False, 0)).ustring(sub.path).raw(
                sub.stat or b""
            )
        elif t in (OpCode.DELETE, OpCode.DELETE_CONTAINER):
            w.raw(MULTI_HEADER.pack(OpCode.DELETE, False, 0))
        elif t == OpCode.SET_DATA:
            w.raw(MULTI_HEADER.pack(OpCode.SET_DATA, False, 0)).raw(sub.stat or b"")
        elif t == OpCode.CHECK:
            w.raw(MULTI_HEADER.pack(OpCode.CHECK, False, 0))
    w.raw(MULTI_END)
    return w.bytes()
