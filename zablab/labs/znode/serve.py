"""The student's tree behind a real zablab server: kazoo and zkCli talk to it over TCP.

The node's sans-IO ServerCore keeps doing what it does (framing, sessions, pings, expiry,
per-session ordering); this subclass routes the requests that touch the tree to the student's
ZNodeTree instead of Prep + DataTree + Watches. Writes are applied at once (standalone, no
log), and the student's `send` goes straight to the sockets, so a reply sent before the events
reaches the client before them: the order the tree chose is the order on the wire.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from zablab.node.config import NodeConfig
from zablab.node.datatree import DataTree, Result
from zablab.node.jute import REPLY_HEADER, Writer
from zablab.node.prep import WriteRequest
from zablab.node.protocol import (
    OPEN_ACL_UNSAFE,
    STAT,
    CheckVersionRequest,
    CreateRequest,
    DeleteRequest,
    Err,
    Event,
    MultiRequest,
    OpCode,
    PathWatchRequest,
    SetDataRequest,
    SetWatches,
    encode_event,
    write_acl,
)
from zablab.node.runtime import ServerRuntime
from zablab.node.server import INT, Conn, ServerCore
from zablab.node.txn import CloseSessionTxn, CreateSessionTxn, Txn

from . import api

log = logging.getLogger("zablab.labs.znode")

ERROR_CODES = {
    api.OK: Err.OK,
    api.NO_NODE: Err.NONODE,
    api.NODE_EXISTS: Err.NODEEXISTS,
    api.BAD_VERSION: Err.BADVERSION,
    api.NOT_EMPTY: Err.NOTEMPTY,
    api.NO_CHILDREN_FOR_EPHEMERALS: Err.NOCHILDRENFOREPHEMERALS,
    api.BAD_ARGUMENTS: Err.BADARGUMENTS,
    api.RUNTIME_INCONSISTENCY: Err.RUNTIMEINCONSISTENCY,
}
EVENT_CODES = {
    api.NODE_CREATED: Event.NODE_CREATED,
    api.NODE_DELETED: Event.NODE_DELETED,
    api.NODE_DATA_CHANGED: Event.NODE_DATA_CHANGED,
    api.NODE_CHILDREN_CHANGED: Event.NODE_CHILDREN_CHANGED,
}
TREE_READS = frozenset({OpCode.GET_DATA, OpCode.EXISTS, OpCode.GET_CHILDREN, OpCode.GET_CHILDREN2, OpCode.GET_ACL,
                        OpCode.SET_WATCHES, OpCode.SET_WATCHES2})
CORE_READS = frozenset({OpCode.PING, OpCode.SYNC, OpCode.WHO_AM_I})
CREATES = (OpCode.CREATE, OpCode.CREATE2)


class StudentTreeCore(ServerCore):
    """ServerCore over a student's ZNodeTree. The base class's own DataTree stays empty and
    only carries `last_zxid` (reply headers, four-letter words)."""

    def __init__(self, tree_class: Callable[[api.Send], Any], **kw: Any) -> None:
        super().__init__(DataTree(), **kw)
        self.student = tree_class(self._out)
        self.zxid = 0
        self.times: dict[int, int] = {0: 0}  # zxid -> wall ms, for ctime and mtime
        self._replying: tuple[int, Conn | None] | None = None  # (session, its connection)
        self._answer: api.Reply | None = None
        self.errors: list[Exception] = []  # what the tree raised, for the tests to explain

    # ---- what the student's tree sends ------------------------------------------------------

    def _out(self, dest: Hashable, msg: object) -> None:
        if isinstance(msg, api.WatchedEvent):
            c = self.conns.get(dest)  # type: ignore[call-overload]
            if c is not None and not c.closing:
                self._send(c, encode_event(EVENT_CODES.get(msg.type, Event.NONE), msg.path))
        elif isinstance(msg, api.Reply):
            if self._replying is None or dest != self._replying[0] or self._answer is not None:
                log.warning("the tree sent %r to %r, which made no request now; dropped", msg, dest)
                return
            self._answer = msg
            c = self._replying[1]
            if c is not None and c.queue and c.queue[0].write and c.queue[0].reply is None:
                c.queue[0].reply = self._reply_bytes(c, msg)
                self._drain(c)  # now: an event sent after this reply reaches the client after it

    # ---- writes ---------------------------------------------------------------------------------

    def _submit(self, req: WriteRequest) -> None:
        self.zxid += 1
        zxid = self.zxid
        self.times[zxid] = self.wall
        self.tree.last_zxid = zxid
        sid = req.session_id
        if req.type == OpCode.CREATE_SESSION:
            assert isinstance(req.body, int)
            self.deliver(Txn(sid, req.cxid, zxid, self.wall, req.type, CreateSessionTxn(req.body)))
            return
        if req.type == OpCode.CLOSE_SESSION:
            self._call_tree(sid, None, "close_session", sid, zxid)
            self.deliver(Txn(sid, req.cxid, zxid, self.wall, req.type, CloseSessionTxn()))
            return
        c = self.session_conn.get(sid)
        if not self.tracker.check(sid):
            self._answer_now(c, api.Reply(None, ""), Err.SESSIONEXPIRED)
            return
        call = self._tree_call(req)
        if call is None:
            self._answer_now(c, api.Reply(None, ""), Err.UNIMPLEMENTED)
            return
        method, args = call
        self._call_tree(sid, c, method, sid, zxid, *args)
        if self._answer is None:
            log.error("ZNodeTree.%s sent no Reply; the client gets an error", method)
            self._answer_now(c, api.Reply(None, ""), Err.SYSTEMERROR)

    def _call_tree(self, sid: int, c: Conn | None, method: str, *args: Any) -> None:
        self._replying = (sid, c)
        self._answer = None
        try:
            getattr(self.student, method)(*args)
        except Exception as exc:  # the student's bug must not stop the server
            self.errors.append(exc)
            log.exception("ZNodeTree.%s raised", method)
        finally:
            self._replying = None

    def _answer_now(self, c: Conn | None, reply: api.Reply, err: int) -> None:
        if c is not None and c.queue and c.queue[0].write and c.queue[0].reply is None:
            p = c.queue[0]
            p.reply = INT.pack(16) + _header(p.xid, self.zxid, err)
            self._drain(c)
        self._answer = reply

    def _tree_call(self, req: WriteRequest) -> tuple[str, tuple[Any, ...]] | None:
        b = req.body
        if req.type in CREATES and isinstance(b, CreateRequest) and 0 <= b.flags <= 3:
            return "create", (b.path, b.data or b"", b.flags in (1, 3), b.flags in (2, 3))
        if req.type == OpCode.DELETE and isinstance(b, DeleteRequest):
            return "delete", (b.path, b.version)
        if req.type == OpCode.SET_DATA and isinstance(b, SetDataRequest):
            return "set_data", (b.path, b.data or b"", b.version)
        if req.type == OpCode.MULTI and isinstance(b, MultiRequest):
            ops = [_multi_op(t, o) for t, o in b.ops]
            if any(o is None for o in ops):
                return None
            return "multi", (ops,)
        return None

    def _reply_bytes(self, c: Conn, reply: api.Reply) -> bytes:
        p = c.queue[0]
        if reply.error:
            rc = Result(OpCode.ERROR, ERROR_CODES.get(reply.error, Err.SYSTEMERROR))
        elif p.op in CREATES:
            path = str(reply.value)
            rc = Result(p.op, path=path, stat=self._jute_stat(path))
        elif p.op == OpCode.SET_DATA:
            rc = Result(p.op, stat=self._pack(reply.value))
        elif p.op == OpCode.MULTI:
            assert isinstance(p.body, MultiRequest)
            values = reply.value if isinstance(reply.value, list) else []
            rc = Result(OpCode.MULTI, multi=[
                self._sub_result(t, r) for (t, _), r in zip(p.body.ops, values, strict=False)
            ])
        else:
            rc = Result(p.op)
        return self._write_reply(p, rc)

    def _sub_result(self, typ: int, r: object) -> Result:
        if not isinstance(r, api.OpResult) or r.op == "error":
            err = getattr(r, "error", api.RUNTIME_INCONSISTENCY)
            return Result(OpCode.ERROR, ERROR_CODES.get(err, Err.SYSTEMERROR))
        if r.op == "create":
            return Result(typ, path=r.path, stat=self._jute_stat(r.path))
        if r.op == "set_data":
            return Result(OpCode.SET_DATA, stat=self._pack(r.stat))
        return Result(OpCode.DELETE if r.op == "delete" else OpCode.CHECK)

    # ---- reads ----------------------------------------------------------------------------------

    def _read(self, c: Conn, xid: int, op: int, body: object, t0: int) -> None:
        if op in CORE_READS:
            super()._read(c, xid, op, body, t0)
            return
        if op not in TREE_READS:
            self._reply(c, xid, Err.UNIMPLEMENTED)
        else:
            try:
                self._reply(c, xid, 0, self._tree_read(c, op, body))
            except api.ZNodeError as e:
                self._reply(c, xid, ERROR_CODES.get(e.code, Err.SYSTEMERROR))
            except Exception as exc:  # the student's bug must not stop the server
                self.errors.append(exc)
                log.exception("ZNodeTree read %d raised", op)
                self._reply(c, xid, Err.SYSTEMERROR)
        self._done(c, op, xid, t0, False)

    def _tree_read(self, c: Conn, op: int, body: object) -> bytes:
        tree = self.student
        if isinstance(body, SetWatches):
            self._set_watches(c, body)
            return b""
        assert isinstance(body, PathWatchRequest) or op == OpCode.GET_ACL
        path = body.path  # type: ignore[attr-defined]
        watcher = c.id if getattr(body, "watch", False) else None
        if op == OpCode.GET_DATA:
            data, st = tree.get_data(path, watcher)
            return INT.pack(len(data)) + bytes(data) + self._pack(st)
        if op == OpCode.EXISTS:
            st = tree.exists(path, watcher)
            if st is None:
                raise api.ZNodeError(api.NO_NODE, path)
            return self._pack(st)
        if op == OpCode.GET_ACL:
            st = tree.exists(path)
            if st is None:
                raise api.ZNodeError(api.NO_NODE, path)
            return Writer().vector(list(OPEN_ACL_UNSAFE), write_acl).raw(self._pack(st)).bytes()
        names, st = tree.get_children(path, watcher)
        w = Writer().strings(list(names))
        return w.raw(self._pack(st)).bytes() if op == OpCode.GET_CHILDREN2 else w.bytes()

    def _set_watches(self, c: Conn, sw: SetWatches) -> None:
        """A reconnecting client re-sets its watches; tell it what it missed, as ZooKeeper."""
        tree, rel = self.student, sw.relative_zxid
        for path in sw.data:
            st = tree.exists(path)
            if st is None:
                self._send(c, encode_event(Event.NODE_DELETED, path))
            elif st.mzxid > rel:
                self._send(c, encode_event(Event.NODE_DATA_CHANGED, path))
            else:
                tree.get_data(path, c.id)
        for path in sw.exist:
            if tree.exists(path) is not None:
                self._send(c, encode_event(Event.NODE_CREATED, path))
            else:
                tree.exists(path, c.id)
        for path in sw.child:
            st = tree.exists(path)
            if st is None:
                self._send(c, encode_event(Event.NODE_DELETED, path))
            elif st.pzxid > rel:
                self._send(c, encode_event(Event.NODE_CHILDREN_CHANGED, path))
            else:
                tree.get_children(path, c.id)

    # ---- Stat -----------------------------------------------------------------------------------

    def _jute_stat(self, path: str) -> bytes:
        try:
            st = self.student.exists(path)
        except Exception:  # noqa: BLE001 - a broken exists gives a zero Stat, not a dead server
            st = None
        return self._pack(st) if st is not None else bytes(STAT.size)

    def _pack(self, st: object) -> bytes:
        if not isinstance(st, api.Stat):
            raise api.ZNodeError(api.RUNTIME_INCONSISTENCY, f"not a Stat: {st!r}")
        t = self.times
        return STAT.pack(st.czxid, st.mzxid, t.get(st.czxid, 0), t.get(st.mzxid, 0), st.version,
                         st.cversion, st.aversion, st.ephemeral_owner, st.data_length,
                         st.num_children, st.pzxid)


def _header(xid: int, zxid: int, err: int) -> bytes:
    return REPLY_HEADER.pack(xid, zxid, err)


def _multi_op(typ: int, o: object) -> api.MultiOp | None:
    if typ in CREATES and isinstance(o, CreateRequest) and 0 <= o.flags <= 3:
        return api.Create(o.path, o.data or b"", o.flags in (1, 3), o.flags in (2, 3))
    if typ == OpCode.DELETE and isinstance(o, DeleteRequest):
        return api.Delete(o.path, o.version)
    if typ == OpCode.SET_DATA and isinstance(o, SetDataRequest):
        return api.SetData(o.path, o.data or b"", o.version)
    if typ == OpCode.CHECK and isinstance(o, CheckVersionRequest):
        return api.Check(o.path, o.version)
    return None


class StudentTreeRuntime(ServerRuntime):
    """The node's asyncio runtime without a disk: the lab's server keeps nothing."""

    def __init__(self, cfg: NodeConfig, tree_class: Callable[[api.Send], Any]) -> None:
        self.cfg = cfg
        self.core = StudentTreeCore(tree_class, **self._core_options())
        self.transports: dict[int, asyncio.Transport] = {}
        self._next_cid = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._stopping: asyncio.Event | None = None
        self._tick_handle: asyncio.TimerHandle | None = None
        self._http: list[asyncio.Server] = []
        self._busy = False

    def _mode(self) -> str:
        return "standalone"

    def _disk_step(self) -> None:
        """Nothing is logged."""

    async def stop(self) -> None:
        if self._tick_handle is not None:
            self._tick_handle.cancel()
        if self._server is not None:
            self._server.close()
        for t in list(self.transports.values()):
            t.abort()
        self.transports.clear()


def _config(port: int, tick_ms: int) -> NodeConfig:
    cfg = NodeConfig()
    cfg.client_port = port
    cfg.client_port_address = "127.0.0.1"
    cfg.tick_time = tick_ms
    cfg.max_client_cnxns = 0
    cfg.data_dir = "(none: the lab's server keeps nothing on disk)"
    cfg.fsync = False
    return cfg


def serve(directory: Path, port: int) -> None:
    """`zablab lab serve znode --dir DIR`: the student's tree on a port, until Ctrl-C."""
    from zablab.errors import UserError
    from zablab.labs.engine import SubmissionError, load_student_file

    from .harness import STUDENT_FILE

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        tree_class = load_student_file(directory, STUDENT_FILE).ZNodeTree
    except (SubmissionError, AttributeError) as exc:
        raise UserError(f"cannot serve {directory}: {exc}") from None
    rt = StudentTreeRuntime(_config(port, 2000), tree_class)
    try:
        asyncio.run(rt.run())
    except OSError as exc:
        raise UserError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}; pick another --port.") from None


@contextmanager
def served(tree_class: Callable[[api.Send], Any], tick_ms: int = 200
           ) -> Iterator[tuple[str, StudentTreeCore]]:
    """The tree served on a free port in a background thread; yields ("127.0.0.1:port",
    the core, whose `errors` hold what the tree raised)."""
    rt = StudentTreeRuntime(_config(0, tick_ms), tree_class)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    failure: list[BaseException] = []

    async def main() -> None:
        try:
            await rt.start()
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)
            raise
        finally:
            ready.set()
        assert rt._stopping is not None
        await rt._stopping.wait()
        await rt.stop()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True,
                              name="zablab-lab-server")
    thread.start()
    ready.wait(10)
    if failure or not ready.is_set():
        raise RuntimeError(f"the lab server did not start: {failure[:1]}")
    try:
        assert isinstance(rt.core, StudentTreeCore)
        yield f"127.0.0.1:{rt.port}", rt.core
    finally:
        loop.call_soon_threadsafe(rt.request_stop)
        thread.join(10)
        if not thread.is_alive():
            loop.close()

