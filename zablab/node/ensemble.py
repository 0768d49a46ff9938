"""asyncio driver of a replicated server: the core behind a replica, peers over TCP.

The client side is the standalone runtime's (``ServerRuntime``); in place of the
StandaloneReplicator the core talks to a ZabReplicator (zab_replicator.py), whose driver
actions are carried out here: Send/Close over PeerNet, Flush as a log sync in the disk thread,
SetTimer on the event loop, Trace as a JSONL line. Snapshots are the replica's `compact`, taken
every snapCount deliveries. The replica is built by ``make_replica`` from zoo.cfg's
``zablab.protocol``; with Paxos, ``zablab.paxos.mode`` says whether it decides the primary's
txns or the clients' commands (zab_replicator.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import IO, Any, assert_never

from .config import NodeConfig
from .crashpoint import CrashPoint
from .peers import PeerNet
from .replica import Close, Flush, ReplicaConfig, Send, SetTimer, Trace
from .replica.factory import codec_of, make_replica
from .runtime import ServerRuntime, _mono
from .secret import ensemble_secret
from .txn import Txn
from .zab_replicator import ZabReplicator

log = logging.getLogger("zablab.node")


class EnsembleRuntime(ServerRuntime):
    def __init__(self, cfg: NodeConfig, secret: bytes | None = None) -> None:
        if secret is None:
            secret = ensemble_secret(cfg.secret_file)
        super().__init__(cfg)
        rcfg = ReplicaConfig(
            tick_ms=cfg.tick_time,
            init_limit=cfg.init_limit,
            sync_limit=cfg.sync_limit,
            committed_log_size=cfg.commit_log_count,
            election=cfg.election,
            bugs=frozenset(cfg.bugs),
        )
        members = sorted(cfg.servers)
        self.replica = make_replica(
            cfg.protocol, cfg.server_id, members, rcfg, self.storage, self.core
        )
        log.info("replication protocol %s (zoo.cfg zablab.protocol)", cfg.protocol)
        if cfg.election != "fle":
            log.warning(
                "ELECTION %s: it ignores history, so this ensemble may lose acknowledged writes",
                cfg.election,
            )
        if rcfg.bugs:
            log.warning(
                "SEEDED BUGS ON: %s; this server is deliberately broken and may lose data",
                ", ".join(sorted(rcfg.bugs)),
            )
        self.rep = ZabReplicator(
            self.core, self.replica, mode=cfg.paxos_mode, protocol=cfg.protocol
        )
        self.core.on_apply = self._applied
        self.peers = PeerNet(
            cfg.server_id,
            cfg.servers,
            secret,
            self._message,
            self._broken,
            codec=codec_of(cfg.protocol),
            channel_of=self.replica.channel_of,
        )
        self._flush_wanted = False
        self._last_zab_tick = 0
        self._crash = CrashPoint(cfg.crash_point, cfg.trace) if cfg.crash_point else None
        self._trace: IO[str] | None = open(cfg.trace, "a", encoding="utf-8") if cfg.trace else None  # noqa: SIM115

    def _mode(self) -> str:
        r = self.replica
        return "leader" if r.is_leader else ("follower" if r.serving else "looking")

    def _info(self) -> dict[str, str]:
        info = super()._info()
        gauges = self.replica.monitor()
        leader = gauges.pop("leader", -1)
        info["leader"] = "" if leader < 0 else str(leader)
        if leader in self.cfg.servers:
            info["leaderHost"] = self.cfg.servers[leader].host
        if (
            self.replica.is_leader
        ):  # the leader's gauges in mntr (ZooKeeper's LeaderZooKeeperServer)
            info.update({k: str(v) for k, v in gauges.items()})
            info["pending_syncs"] = str(len(self.core._syncs))
        return info

    # ---- events into the replica ------------------------------------------------------------

    def _message(self, peer: int, msg: Any) -> None:
        self._clock()
        if self._crash is not None:
            self._crash.observe(msg, getattr(self.replica, "current_epoch", 0))
        self.rep.handle(self.replica.on_message(self.core.now, peer, msg))
        self.flush()

    def _broken(self, peer: int) -> None:
        self._clock()
        if self._crash is not None:
            self._crash.in_sync = False
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
        super()._on_tick()

    def _applied(self, txn: Txn) -> None:
        self._since_snap += 1

    # ---- actions out of the replica -----------------------------------------------------------

    def _disk_step(self) -> None:
        loop = asyncio.get_running_loop()
        io = self.rep.io
        while io:
            batch, self.rep.io = io, []
            for a in batch:
                match a:
                    case Send():
                        self.peers.send(a.to, a.msg)
                    case Close():
                        self.peers.close_zab(a.peer)
                    case Flush():
                        self._flush_wanted = True
                    case SetTimer():
                        delay = max(0, a.at - _mono()) / 1000
                        loop.call_later(delay, self._timer)
                    case Trace():
                        self._write_trace(a.event)
                    case _:
                        assert_never(a)
            io = self.rep.io
        if self._crash is not None and self._crash.armed:
            # what the moment sends is out; its log sync has not started
            follow = getattr(self.replica, "follow", None)
            self._crash.fire(server=self.cfg.server_id, leader=getattr(follow, "leader", None))
        held = self._crash is not None and self._crash.holds_sync
        if self._flush_wanted and not self._busy and not held:
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
        if not self._log_written(fut):
            return
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

    async def _after_clients(self, loop: asyncio.AbstractEventLoop) -> None:
        self.peers.close()
        for _ in range(200):
            if not self._busy:
                break
            await asyncio.sleep(0.01)

    def _closed(self) -> None:
        if self._trace is not None:
            self._trace.close()
