"""`zablab node`: run one server from a zoo.cfg file and/or flags."""

from __future__ import annotations

import typer

from zablab.bugs import BUGS, NODE_LAYERS, known, parse_bugs
from zablab.errors import UserError

from .crashpoint import CRASH_POINTS

EXAMPLES = """
Examples:

  zablab node --data-dir /tmp/zab1 --port 2181

  zablab node --config zoo.cfg

  zablab node --data-dir /tmp/zab1 --port 0 --no-fsync   # any free port, printed on stdout

  With server.N=host:peerPort:electionPort lines for several servers in zoo.cfg (and the
  server's id in dataDir/myid or --id) the node joins that ZAB ensemble.

  zablab node --config zoo.cfg --bug commit-without-quorum   # a deliberately broken replica

  An ensemble's replication protocol is zoo.cfg's zablab.protocol or --protocol: zab (the
  default) or paxos. On paxos, zablab.paxos.mode or --paxos-mode says what is decided: deltas
  (default: the leader's prepped txns, primary-backup) or commands (the clients' requests,
  prepped by every server at delivery: state-machine replication). ZAB's election is zablab.election: fle (default), smallest-id or
  first-claim (these two lose acknowledged writes: a lesson, not a setting).

Seeded bugs (--bug, repeatable; or zablab.bugs=a,b in zoo.cfg), ensemble mode only:
"""
EXAMPLES += "\n".join(f"  {k}: {BUGS[k].describe()}." for k in known(NODE_LAYERS)) + "\n"


def register(app: typer.Typer) -> None:
    @app.command("node", help="Run a ZooKeeper-compatible zablab server." + EXAMPLES)
    def node(
        config: str = typer.Option("", "--config", "-c", help="zoo.cfg-style file."),
        port: int = typer.Option(
            -1, "--port", show_default=False, help="Client port (0: any free port)."
        ),
        data_dir: str = typer.Option("", "--data-dir", help="Data directory (log, snapshots)."),
        tick_time: int = typer.Option(
            0, "--tick-time", show_default=False, help="Tick in ms (default 2000)."
        ),
        address: str = typer.Option(
            "", "--client-port-address", help="Address to listen on (default 0.0.0.0)."
        ),
        max_cnxns: int = typer.Option(
            -1,
            "--max-client-cnxns",
            show_default=False,
            help="Connections per client IP (0: no limit).",
        ),
        no_fsync: bool = typer.Option(False, "--no-fsync", help="Do not fsync (benchmarks)."),
        server_id: int = typer.Option(
            0, "--id", show_default=False, help="Server id (default: myid file, else 0)."
        ),
        snap_count: int = typer.Option(
            0, "--snap-count", show_default=False, help="Txns between snapshots (default 100000)."
        ),
        log_level: str = typer.Option("INFO", "--log-level", help="DEBUG, INFO, WARNING."),
        trace: str = typer.Option(
            "", "--trace", help="Write the ZAB trace (JSONL) here (replicated mode)."
        ),
        bug: list[str] | None = typer.Option(  # noqa: B008 (typer needs the call here)
            None, "--bug", help="Turn on a seeded bug (repeatable; listed above). Labs only."
        ),
        crash_point: str = typer.Option(
            "",
            "--crash-point",
            help="Stop this process at a protocol moment for the harness to crash: newleader "
            "(a follower has handled NEWLEADER of a sync that carried txns, before its log sync). "
            "Needs --trace: the marker is TRACE.crash-point. Tests only.",
        ),
        protocol: str = typer.Option(
            "", "--protocol", help="Replication protocol: zab or paxos (zoo.cfg zablab.protocol)."
        ),
        paxos_mode: str = typer.Option(
            "",
            "--paxos-mode",
            help="On paxos: deltas or commands (zoo.cfg zablab.paxos.mode; default deltas).",
        ),
    ) -> None:
        run_node(
            config=config,
            port=port,
            data_dir=data_dir,
            tick_time=tick_time,
            address=address,
            max_cnxns=max_cnxns,
            no_fsync=no_fsync,
            server_id=server_id,
            snap_count=snap_count,
            log_level=log_level,
            trace=trace,
            bugs=bug,
            crash_point=crash_point,
            protocol=protocol,
            paxos_mode=paxos_mode,
        )


def run_node(
    *,
    config: str = "",
    port: int = -1,
    data_dir: str = "",
    tick_time: int = 0,
    address: str = "",
    max_cnxns: int = -1,
    no_fsync: bool = False,
    server_id: int = 0,
    snap_count: int = 0,
    log_level: str = "INFO",
    trace: str = "",
    bugs: list[str] | None = None,
    crash_point: str = "",
    protocol: str = "",
    paxos_mode: str = "",
) -> None:
    import asyncio
    import logging
    import os

    from .config import NodeConfig, read_myid, read_zoo_cfg, validate
    from .dirlock import lock_data_dir
    from .replica.config import parse_protocol
    from .runtime import NodeRuntime, ServerRuntime
    from .storage import CorruptStorage

    level = getattr(logging, log_level.upper(), None)
    if not isinstance(level, int):
        raise UserError(f"unknown log level {log_level!r}; use DEBUG, INFO or WARNING.")
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    cfg = read_zoo_cfg(config) if config else NodeConfig()
    if port >= 0:
        cfg.client_port = port
    if data_dir:
        cfg.data_dir = data_dir
    if tick_time:
        cfg.tick_time = tick_time
    if address:
        cfg.client_port_address = address
    if max_cnxns >= 0:
        cfg.max_client_cnxns = max_cnxns
    if no_fsync:
        cfg.fsync = False
    if snap_count:
        cfg.snap_count = snap_count
    if protocol:
        cfg.protocol = parse_protocol(protocol)
    if paxos_mode:
        cfg.paxos_mode = paxos_mode  # validate() checks it against the protocol
    if server_id:
        cfg.server_id = server_id
    elif cfg.data_dir:
        cfg.server_id = read_myid(cfg.data_dir) or 0
    if trace:
        cfg.trace = trace
    if bugs:
        cfg.bugs = cfg.bugs | parse_bugs(bugs, NODE_LAYERS)
    if crash_point:
        if crash_point not in CRASH_POINTS:
            raise UserError(
                f"unknown --crash-point {crash_point!r}; choose from: {', '.join(CRASH_POINTS)}."
            )
        if not cfg.trace:
            raise UserError("--crash-point needs --trace: its marker is written beside the trace.")
        cfg.crash_point = crash_point
    validate(cfg)
    try:
        os.makedirs(cfg.data_dir, exist_ok=True)
        lock_data_dir(cfg.data_dir)
        if len(cfg.servers) > 1:
            from .ensemble import EnsembleRuntime

            rt: ServerRuntime = EnsembleRuntime(cfg)
        else:
            rt = NodeRuntime(cfg)
    except CorruptStorage as exc:
        raise UserError(f"refusing to start: {exc}") from None
    except OSError as exc:
        raise UserError(f"cannot use data directory {cfg.data_dir}: {exc.strerror}.") from None
    try:
        asyncio.run(rt.run())
    except CorruptStorage as exc:  # found while the replica recovers its snapshot
        raise UserError(f"refusing to start: {exc}") from None
    except OSError as exc:
        raise UserError(
            f"cannot listen on {cfg.client_port_address}:{cfg.client_port}: {exc.strerror}; "
            "pick another --port."
        ) from None
