"""asyncio driver of a replicated server: the core behind a ZAB replica, peers over TCP.

Same client side as the standalone runtime; in place of the StandaloneReplicator the core
talks to a ZabReplicator (quorum.py), whose driver actions are carried out here: Send/Close
over PeerNet, Flush as a log sync in the disk thread, SetTimer on the event loop, Trace as a
JSONL line. Snapshots are the replica's `compact`, taken every snapCount deliveries.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from typing import IO

from .config import NodeConfig
from .datatree import DataTree
from .peers import PeerNet
from .quorum import ZabReplicator
from .runtime import NodeRuntime, _mono
from .secret import ensemble_secret
from .storage import Storage
from .txn import Txn
from .zab import Close, Flush, Send, SetTimer, Trace
from .zab.config import ZabConfig
from .zab.messages import Message
from .zab.replica import SYNCED, ZabReplica

log = logging.getLogger("zablab.node")


class EnsembleRuntime(NodeRuntime):
    def __init__(self, cfg: NodeConfig, secret: bytes | None = None) -> None:
        if secret is None:
            secret = ensemble_secret(cfg.secret_file)
        self.cfg = cfg
        os.makedirs(cfg.data_dir, exist_ok=True)
        self.storage = Storage(cfg.data_dir, fsync=cfg.fsync)
        self.core = self._make_core(DataTree())
        zcfg = ZabConfig(
            tick_ms=cfg.tick_time,
            init_limit=cfg.init_limit,
            sync_limit=cfg.sync_limit,
            committed_log_size=cfg.commit_log_count,
            bugs=frozenset(cfg.bugs),
        )
        if zcfg.bugs:
            log.warning(
                "SEEDED BUGS ON: %s; this server is deliberately broken and may lose data",
                ", ".join(sorted(zcfg.bugs)),
            )
        members = sorted(cfg.servers)
        self.replica = ZabReplica(cfg.server_id, members, zcfg, self.storage, self.core)
        self.rep = ZabReplicator(self.core, self.replica)
        self.core.on_apply = self._applied
        self.peers = PeerNet(cfg.server_id, cfg.servers, secret, self._message, self._broken)
        self.transports: dict[int, asyncio.Transport] = {}
        self._next_cid = 0
        self._disk = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zablab-disk")
        self._busy = False
        self._flush_wanted = False
        self._last_zab_tick = 0
        self._since_snap = 0
        self._snap_zxid = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._stopping: asyncio.Event | None = None
        self._tick_handle: asyncio.TimerHandle | None = None
        self._trace: IO[str] | None = open(cfg.trace, "a", encoding="utf-8") if cfg.trace else None  # noqa: SIM115

    def _info(self) -> dict[str, str]:
        r = self.replica
        mode = "leader" if r.is_leader else ("follower" if r.serving else "looking")
        info = {
            "mode": mode,
            "clientPort": str(self.port),
            "dataDir": self.cfg.data_dir,
            "serverId": str(self.cfg.server_id),
        }
        leader = r.id if r.is_leader else (r.leader if r.serving else None)
        info["leader"] = "" if leader is None else str(leader)
        if leader is not None and leader in self.cfg.servers:
            info["leaderHost"] = self.cfg.servers[leader].host
        if r.is_leader:  # the leader's gauges in mntr (ZooKeeper's LeaderZooKeeperServer)
            info["learners"] = str(len(r.learners))
            info["synced_followers"] = str(sum(ln.phase >= SYNCED for ln in r.learners.values()))
            info["pending_syncs"] = str(len(self.core._syncs))
        return info

    # ---- events into the replica ------------------------------------------------------------

    def _message(self, peer: int, msg: Message) -> None:
        self._clock()
        self.rep.handle(self.replica.on_message(self.core.now, peer, msg))
        self.flush()

    def _broken(self, peer: int) -> None:
        self._clock()
        self.rep.handle(self.replica.on_disconnect(self.core.now, peer))
        self.flush()

    def _timer(self) -> None:
        self._clock()
        self.rep.handle(self.replica.on_timer(self.core.now))
        self.flush()

    def _on_tick(self) -> None:
        now = self.core.now
        if now - self._last_zab_tick >= self.cfg.tick_time:
            self._last_zab_tick = now
            self.rep.report_touches()
            self.rep.handle(self.replica.on_tick(now))
        self.core.tick()

    def _applied(self, txn: Txn) -> None:
        self._since_snap += 1

    # ---- actions out of the replica -----------------------------------------------------------

    def _disk_step(self) -> None:
        loop = asyncio.get_running_loop()
        io = self.rep.io
        while io:
            batch, self.rep.io = io, []
            for a in batch:
                if isinstance(a, Send):
                    self.peers.send(a.to, a.msg)
                elif isinstance(a, Close):
                    self.peers.close_zab(a.peer)
                elif isinstance(a, Flush):
                    self._flush_wanted = True
                elif isinstance(a, SetTimer):
                    delay = max(0, a.at - _mono()) / 1000
                    loop.call_later(delay, self._timer)
                elif isinstance(a, Trace):
                    self._write_trace(a.event)
            io = self.rep.io
        if self._flush_wanted and not self._busy:
            self._flush_wanted = False
            self._busy = True
            fut = loop.run_in_executor(self._disk, self.storage.log.sync)
            fut.add_done_callback(self._synced)
        elif (
            not self._busy
            and self._since_snap >= self.cfg.snap_count
            and self.replica.committed_zxid == self.core.tree.last_zxid
        ):
            self._since_snap = 0
            self.rep.handle(self.replica.compact(self.core.now))

    def _synced(self, fut: asyncio.Future[int]) -> None:
        self._busy = False
        exc = fut.exception()
        if exc is not None:
            log.critical("cannot write the transaction log: %s; stopping", exc)
            self.request_stop()
            return
        self._clock()
        self.rep.handle(self.replica.on_flushed(self.core.now))
        self.flush()

    def _write_trace(self, event: dict[str, object]) -> None:
        if self._trace is not None:
            self._trace.write(json.dumps(event, separators=(",", ":")) + "\n")
            self._trace.flush()

    # ---- lifecycle ----------------------------------------------------------------------------

    async def _start_replication(self) -> None:
        await self.peers.start()
        self._clock()
        self.rep.handle(self.replica.start(self.core.now))
        self.flush()

    async def stop(self) -> None:
        if self._tick_handle is not None:
            self._tick_handle.cancel()
        if self._server is not None:
            self._server.close()
        for t in list(self.transports.values()):
            t.abort()
        self.transports.clear()
        self.peers.close()
        for _ in range(200):
            if not self._busy:
                break
            await asyncio.sleep(0.01)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._disk, self.storage.close)
        self._disk.shutdown(wait=True)
        if self._trace is not None:
            self._trace.close()
        log.info("stopped")
