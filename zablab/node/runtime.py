"""asyncio driver of the server core: sockets, timers, and the disk in one worker thread.

All disk work (log append + fsync of a batch, snapshots) runs in a single worker thread, so it
is serialised and the event loop keeps serving reads while a batch fsyncs: group commit.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .config import NodeConfig
from .datatree import DataTree
from .http import start_endpoints
from .replication import StandaloneReplicator
from .server import ServerCore
from .storage import Storage
from .txn import Txn

log = logging.getLogger("zablab.node")


def recover_tree(storage: Storage) -> DataTree:
    rec = storage.recover()
    tree = DataTree.deserialize(rec.snapshot) if rec.snapshot is not None else DataTree()
    for _zxid, payload in rec.records:
        tree.apply(Txn.decode(payload), [])
    log.info(
        "recovered: snapshot 0x%x + %d log records, last zxid 0x%x",
        rec.snapshot_zxid,
        len(rec.records),
        tree.last_zxid,
    )
    return tree


class _Client(asyncio.Protocol):
    """One client connection: replies are written at once, disk work starts once per loop pass.

    (A BufferedProtocol reading into one shared buffer measured no better in server CPU per
    request, bench/many_sessions.py, and costs one more Python call per read.)
    """

    __slots__ = ("rt", "cid", "transport")

    def __init__(self, rt: ServerRuntime) -> None:
        self.rt = rt
        self.cid = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        rt = self.rt
        rt._next_cid += 1
        self.cid = rt._next_cid
        self.transport = transport
        peer = transport.get_extra_info("peername") or ("?", 0)
        rt._clock()
        if not rt.core.open(self.cid, f"{peer[0]}:{peer[1]}", str(peer[0])):
            transport.abort()
            return
        rt.transports[self.cid] = transport

    def data_received(self, data: bytes) -> None:
        rt = self.rt
        rt._clock()
        rt.core.data(self.cid, data)
        rt._after_data()

    def connection_lost(self, exc: Exception | None) -> None:
        rt = self.rt
        rt.transports.pop(self.cid, None)
        rt.core.closed(self.cid)
        rt.flush()


class ServerRuntime:
    """The client side every node runs, standalone or in an ensemble: the listening socket,
    client connections, the tick, the disk thread and the lifecycle. A subclass brings the
    replication below the core (``_attach``, ``_disk_step``, ``_after_data``) and its part of
    start and stop."""

    def __init__(self, cfg: NodeConfig) -> None:
        self.cfg = cfg
        os.makedirs(cfg.data_dir, exist_ok=True)
        self.storage = Storage(cfg.data_dir, fsync=cfg.fsync)
        self.core = self._make_core(self._initial_tree())
        self.transports: dict[int, asyncio.Transport] = {}
        self._next_cid = 0
        self._disk = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zablab-disk")
        self._busy = False
        self._since_snap = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._stopping: asyncio.Event | None = None
        self._tick_handle: asyncio.TimerHandle | None = None
        self._http: list[asyncio.Server] = []

    def _initial_tree(self) -> DataTree:
        """The tree the core starts from (a replica recovers its own and installs it later)."""
        return DataTree()

    def _core_options(self) -> dict[str, Any]:
        """ServerCore's settings from zoo.cfg, for every runtime that builds one."""
        cfg = self.cfg
        return {
            "tick_ms": cfg.tick_time,
            "server_id": cfg.server_id,
            "min_session_timeout": cfg.min_session_timeout,
            "max_session_timeout": cfg.max_session_timeout,
            "max_client_cnxns": cfg.max_client_cnxns,
            "now": _mono(),
            "wall": _wall(),
            "info": self._info,
            "options": cfg.server,
        }

    def _make_core(self, tree: DataTree) -> ServerCore:
        """The sans-IO server over `tree`, configured from zoo.cfg (standalone and ensemble)."""
        core = ServerCore(tree, **self._core_options())
        self.storage.log.on_sync = core.metrics.fsynced
        self.storage.on_snapshot = core.metrics.snapshottime.add
        return core

    def _mode(self) -> str:
        raise NotImplementedError

    def _info(self) -> dict[str, str]:
        return {
            "mode": self._mode(),
            "clientPort": str(self.port),
            "dataDir": self.cfg.data_dir,
            "serverId": str(self.cfg.server_id),
        }

    def _log_written(self, fut: asyncio.Future[Any]) -> bool:
        """A log write of the disk thread finished; a failed one stops the node, since a server
        that cannot make its log durable must not acknowledge anything more."""
        self._busy = False
        exc = fut.exception()
        if exc is not None:
            log.critical("cannot write the transaction log: %s; stopping", exc)
            self.request_stop()
            return False
        self._clock()
        return True

    def _on_tick(self) -> None:
        self.core.tick()

    def _clock(self) -> None:
        core = self.core
        core.now = _mono()
        core.wall = _wall()

    # ---- output and disk ----------------------------------------------------------------------

    def flush(self) -> None:
        """After every event: write what the core produced, then start disk work if due."""
        self._flush_clients()
        self._disk_step()

    def _after_data(self) -> None:
        """After a client's bytes: replies go out at once, then the replication's disk work."""
        self._flush_clients()
        self._disk_step()

    def _disk_step(self) -> None:
        raise NotImplementedError

    def _flush_clients(self) -> None:
        core = self.core
        if not core.dirty and not core.to_close:
            return
        for cid, data, close in core.take_output():
            t = self.transports.get(cid)
            if t is None:
                continue
            if data:
                t.write(data)
            if close:
                del self.transports[cid]
                t.close()

    # ---- lifecycle ------------------------------------------------------------------------------

    async def _start_replication(self) -> None:
        """Called once clients can connect, before the first tick."""

    async def _drain(self) -> None:
        """Before client connections are cut: let acknowledged-to-be writes reach the disk."""

    async def _after_clients(self, loop: asyncio.AbstractEventLoop) -> None:
        """Clients are gone; storage closes next."""

    def _closed(self) -> None:
        """Storage and the disk thread are closed."""

    def _tick(self) -> None:
        self._clock()
        self._on_tick()
        self.flush()
        loop = asyncio.get_running_loop()
        self._tick_handle = loop.call_later(max(0.01, self.cfg.tick_time / 2000), self._tick)

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._server = await loop.create_server(
            lambda: _Client(self),
            self.cfg.client_port_address,
            self.cfg.client_port,
            reuse_address=True,
            backlog=512,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        await self._start_replication()
        self._http = await start_endpoints(self.core, self.cfg.server)
        self._tick()
        log.info(
            "serving clients on %s:%d (dataDir %s, fsync %s)",
            self.cfg.client_port_address,
            self.port,
            self.cfg.data_dir,
            "on" if self.cfg.fsync else "off",
        )
        return self.port

    async def run(self, ready: bool = True) -> None:
        await self.start()
        if ready:
            print(f"zablab node ready port={self.port}", flush=True)
        loop = asyncio.get_running_loop()
        assert self._stopping is not None
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, self._stopping.set)
            except (NotImplementedError, RuntimeError):
                pass
        await self._stopping.wait()
        await self.stop()
        for srv in self._http:
            srv.close()

    def request_stop(self) -> None:
        if self._stopping is not None:
            self._stopping.set()

    async def stop(self) -> None:
        """Clean shutdown: finish in-flight writes, close clients, close storage."""
        if self._tick_handle is not None:
            self._tick_handle.cancel()
        if self._server is not None:
            self._server.close()
        await self._drain()
        for t in list(self.transports.values()):
            t.abort()
        self.transports.clear()
        loop = asyncio.get_running_loop()
        await self._after_clients(loop)
        await loop.run_in_executor(self._disk, self.storage.close)
        self._disk.shutdown(wait=True)
        self._closed()
        log.info("stopped")


class NodeRuntime(ServerRuntime):
    """A standalone server: the StandaloneReplicator, whose batches the disk thread writes and
    fsyncs (group commit), and snapshots every snapCount txns."""

    def __init__(self, cfg: NodeConfig) -> None:
        self._disk_pending = False
        self._snapping = False
        super().__init__(cfg)
        self._snap_zxid = self.core.tree.last_zxid
        self.repl = StandaloneReplicator(
            self.core.prep, self.core.deliver, self.core.tree.last_zxid, lambda: self.core.wall
        )
        self.core.attach(self.repl)

    def _initial_tree(self) -> DataTree:
        return recover_tree(self.storage)

    def _mode(self) -> str:
        return "standalone"

    def _after_data(self) -> None:
        """Replies go out at once; a new write batch starts only after every connection that
        was ready in this loop pass has been read, so that their writes share one fsync."""
        self._flush_clients()
        repl = self.repl
        if repl.queued and not self._busy and not self._disk_pending:
            self._disk_pending = True
            asyncio.get_running_loop().call_soon(self._disk_later)

    def _disk_later(self) -> None:
        self._disk_pending = False
        self._clock()
        self.flush()

    def _disk_step(self) -> None:
        if not self._busy:
            batch = self.repl.take_batch()
            if batch is not None:
                self._busy = True
                if not self.cfg.fsync and not self._snapping:
                    # no fsync to wait for: a write() to the page cache is cheaper than two
                    # thread hand-overs (the worker may be busy with a snapshot: then queue)
                    self._written_now(batch)
                    return
                fut = asyncio.get_running_loop().run_in_executor(self._disk, self._write, batch)
                fut.add_done_callback(self._written)

    def _written_now(self, batch: list[tuple[Txn, bytes]]) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        try:
            self._write(batch)
            fut.set_result(None)
        except Exception as exc:  # the same path as a failed write in the worker
            fut.set_exception(exc)
        self._written(fut)

    def _write(self, batch: list[tuple[Txn, bytes]]) -> None:
        lg = self.storage.log
        for txn, payload in batch:
            lg.append(txn.zxid, payload)
        lg.sync()

    def _written(self, fut: asyncio.Future[None]) -> None:
        if not self._log_written(fut):
            return
        n = len(self.repl.in_flight or ())
        self.repl.batch_done()
        self._since_snap += n
        if self._since_snap >= self.cfg.snap_count:
            self._since_snap = 0
            self._snapshot_async()
        self.flush()

    def _snapshot_async(self) -> None:
        tree = self.core.tree
        zxid, payload = tree.last_zxid, tree.serialize()
        self._snap_zxid = zxid
        self._snapping = True
        done = self._disk.submit(self._save_snapshot, zxid, payload)
        loop = asyncio.get_running_loop()
        done.add_done_callback(lambda _: loop.call_soon_threadsafe(self._snapshot_done))

    def _snapshot_done(self) -> None:
        self._snapping = False

    def _save_snapshot(self, zxid: int, payload: bytes) -> None:
        try:
            where = self.storage.snapshot(zxid, payload)
            log.info("snapshot 0x%x written to %s", zxid, where)
        except Exception as exc:  # a failed snapshot is not fatal: the log still has it all
            log.error("snapshot 0x%x failed: %s", zxid, exc)

    async def _drain(self) -> None:
        for _ in range(500):  # let acknowledged-to-be writes reach the disk (5 s at most)
            if not self._busy and not self.repl.queued:
                break
            self.flush()
            await asyncio.sleep(0.01)

    async def _after_clients(self, loop: asyncio.AbstractEventLoop) -> None:
        tree = self.core.tree
        if tree.last_zxid != self._snap_zxid:
            await loop.run_in_executor(
                self._disk, self._save_snapshot, tree.last_zxid, tree.serialize()
            )


def _mono() -> int:
    return int(time.monotonic() * 1000)


def _wall() -> int:
    return int(time.time() * 1000)
