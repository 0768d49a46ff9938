"""``python -m zablab.sim`` (``zablab sim``): random seeds, search tests, trace replays.

Examples::

    python -m zablab.sim --seed 1234 --nodes 5           # one seed
    python -m zablab.sim --seeds 200 --nodes 3           # seeds 0..199
    python -m zablab.sim --seeds 200 --lasting crash-minority  # a minority down for good
    python -m zablab.sim --seed 30 --bug diff-without-trunc --log  # a caught bug, and when
    python -m zablab.sim --seed 7 --save-trace /tmp/t.json          # the run as replayable steps
    python -m zablab.sim --replay /tmp/t.json --html /tmp/t.html    # re-run it exactly, draw it
    python -m zablab.sim --search dfs --bug commit-without-quorum   # explore schedules
    python -m zablab.sim --scenario paxosrun --protocol paxos --paxos-mode deltas  # the wiki's

A failing run (random or search) is shrunk to a short schedule failing the same property,
saved as a trace file, and the one command replaying it is printed. Exit status: 0 no
violation, 1 a violation, 2 unknown (a search stopped before a verdict), 255 a usage error.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Iterator
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from zablab.bugs import BUGS, Layer, known
from zablab.errors import UserError
from zablab.node.replica import PAXOS_MODES, parse_paxos_mode
from zablab.shards import shard

from .checks import is_liveness
from .cluster import LASTING_MODES, SimConfig, SimResult, Simulation
from .diagram import render_html
from .paxosrun import replay_paxosrun, run_paxosrun
from .search import Bounds, search
from .shrink import properties, shrink
from .stepper import replay
from .tracefile import TraceFile, load_trace

SCENARIOS = {"paxosrun": run_paxosrun}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit 255 (the project's usage status)
        raise UserError(f"{message} (see --help).")


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = _Parser(
        prog="python -m zablab.sim",
        description="Deterministic ZAB simulation: random writes, partitions, crashes, pauses.",
        epilog="bugs: " + "; ".join(f"{k}: {BUGS[k].describe()}" for k in known([Layer.ZAB])),
    )
    p.add_argument("--seed", type=int, default=None, help="run this one seed")
    p.add_argument("--seeds", type=int, default=None, help="run seeds FIRST..FIRST+N-1")
    p.add_argument("--first", type=int, default=0, help="first seed for --seeds (default 0)")
    p.add_argument(
        "--shard", default=None, metavar="I/K", help="run only shard I of K of the --seeds"
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="run the seeds in N worker processes (output stays in seed order)",
    )
    p.add_argument("--bug", action="append", default=[], help="seed a bug (listed below)")
    p.add_argument("--trace", default=None, help="write the ZAB trace of the run as JSONL here")
    p.add_argument("--quiet", action="store_true", help="print failing seeds only")
    p.add_argument(
        "--log",
        action="count",
        default=0,
        help="print the timeline of faults and ZAB events (twice: with every txn)",
    )
    g = p.add_argument_group("traces")
    g.add_argument("--save-trace", metavar="FILE", help="save the run's steps (--seed, search)")
    g.add_argument("--replay", metavar="FILE", help="re-run a saved trace exactly")
    g.add_argument("--html", metavar="OUT", help="with --replay: write its message diagram here")
    g.add_argument(
        "--without-bugs",
        action="store_true",
        help="with --replay: replay on the clean replica (the trace's bugs, or its mystery, off)",
    )
    g.add_argument(
        "--trace-dir",
        default="store/sim",
        help="where failing runs' traces go without --save-trace (default store/sim)",
    )
    g.add_argument("--no-shrink", action="store_true", help="save a failing schedule whole")
    g.add_argument("--shrink-time", type=float, default=60.0, help="seconds (default 60)")
    sc = p.add_argument_group("scenarios (whole servers, scripted)")
    sc.add_argument(
        "--scenario",
        choices=list(SCENARIOS),
        help="run a scripted schedule on three whole servers: paxosrun, the ZooKeeper wiki's "
        "pipelined instances decided C, B, D (exit 1 names what broke)",
    )
    sc.add_argument(
        "--paxos-mode",
        choices=list(PAXOS_MODES),
        default=None,
        help="with --scenario on --protocol paxos: decide the primary's txns (deltas, default) "
        "or the clients' commands",
    )
    s = p.add_argument_group("search")
    s.add_argument("--search", choices=["bfs", "dfs"], help="explore schedules from the boot")
    b = Bounds()
    s.add_argument("--max-crashes", type=int, default=b.max_crashes)
    s.add_argument("--max-restarts", type=int, default=b.max_restarts)
    s.add_argument("--max-writes", type=int, default=b.max_writes)
    s.add_argument(
        "--max-partitions",
        type=int,
        default=b.max_partitions,
        help="cuts of one node from the rest (default 0; a heal is always a choice after one)",
    )
    s.add_argument("--max-depth", type=int, default=b.max_depth, help="steps after the boot")
    s.add_argument("--max-states", type=int, default=b.max_states)
    s.add_argument("--time-limit", type=float, default=b.time_limit, help="seconds")
    s.add_argument("--ticks", action="store_true", help="let ticks fire too (failure detectors)")
    s.add_argument(
        "--from",
        dest="start",
        metavar="FILE",
        help="search from where this trace's steps lead (its config; --bug replaces its bugs)",
    )
    defaults = SimConfig()
    for f in fields(SimConfig):
        if f.name == "bugs":
            continue
        v = getattr(defaults, f.name)
        if f.name == "lasting":
            p.add_argument(
                "--lasting",
                choices=LASTING_MODES,
                default=v,
                help="end with a seeded minority crashed or partitioned away for good; the "
                "rest must elect a leader and commit writes within --converge-ms "
                f"(default {v}: everything heals)",
            )
            continue
        p.add_argument(
            f"--{f.name.replace('_', '-')}", type=type(v), default=v, help=f"default {v}"
        )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse(argv)
        if args.html and not args.replay:
            raise UserError("--html draws a replayed trace: give --replay FILE with it.")
        if args.paxos_mode is not None and not args.scenario:
            raise UserError(
                "--paxos-mode needs whole servers: give --scenario paxosrun or --workload NAME "
                "(the bare replicas decide opaque payloads)."
            )
        if args.without_bugs and not args.replay:
            raise UserError("--without-bugs replays a trace file: give --replay FILE with it.")
        if args.replay:
            return run_replay(args)
        if args.scenario:
            return run_scenario(args)
        kwargs = {f.name: getattr(args, f.name) for f in fields(SimConfig) if f.name != "bugs"}
        cfg = SimConfig(**kwargs, bugs=tuple(args.bug))
        if cfg.nodes < 1:
            raise UserError("--nodes must be at least 1.")
        if args.search:
            return run_search(args, cfg)
        return run_seeds(args, cfg)
    except UserError as e:
        print(f"zablab: error: {e}", file=sys.stderr)
        return 255


def run_seeds(args: argparse.Namespace, cfg: SimConfig) -> int:
    if args.seed is not None:
        seeds = [args.seed]
    elif args.seeds is not None:
        seeds = list(range(args.first, args.first + args.seeds))
        if args.shard:
            seeds = shard(seeds, args.shard)
    else:
        raise UserError("give --seed N to replay one seed or --seeds N to run many.")
    if args.save_trace and args.seed is None:
        raise UserError("--save-trace saves one run: use it with --seed N.")
    if args.jobs < 1:
        raise UserError("--jobs must be at least 1.")
    failed = 0
    start = time.perf_counter()
    ran = _in_workers(seeds, cfg, args.jobs) if args.jobs > 1 and len(seeds) > 1 else None
    for seed in seeds:
        sim = Simulation(seed, cfg)
        sim.record = bool(args.save_trace)
        r = next(ran) if ran is not None else sim.run()
        if not r.ok:
            failed += 1
        if args.log:
            print("\n".join(r.timeline(verbose=args.log > 1)))
        if not r.ok or not args.quiet:
            print(r.summary(), flush=True)
        if args.trace and args.seed is not None:
            write_jsonl(args.trace, r)
        if not r.ok:
            if not sim.record:  # the seed names the run: do it again, noting its steps
                sim = Simulation(seed, cfg)
                sim.record = True
                sim.run()
            path = args.save_trace or str(Path(args.trace_dir) / f"seed-{seed}.json")
            # shrinking takes a second or more: in a run of many seeds, only the first failure
            save_failure(args, cfg, sim.steps, r, f"seed {seed}", path, shrinking=failed == 1)
        elif args.save_trace:
            saved = TraceFile(cfg, sim.steps, "all", f"seed {seed}", r.trace_hash, [])
            print(f"  trace saved: {saved.save(args.save_trace)} ({len(sim.steps)} steps)")
    took = time.perf_counter() - start
    print(
        f"{len(seeds)} seeds, {failed} failing, {len(seeds) / took:.1f} seeds/s",
        file=sys.stderr,
    )
    return 1 if failed else 0


def _seed_result(job: tuple[int, SimConfig]) -> SimResult:
    return Simulation(*job).run()


def _in_workers(seeds: list[int], cfg: SimConfig, jobs: int) -> Iterator[SimResult]:
    """The seeds' results in seed order, computed by `jobs` processes: a run depends on its
    seed and config only, so a worker's result is the one this process would get (a failing
    seed is run again here to record and shrink its steps)."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(min(jobs, len(seeds))) as pool:
        yield from pool.imap(_seed_result, [(s, cfg) for s in seeds], chunksize=4)


def save_failure(
    args: argparse.Namespace,
    cfg: SimConfig,
    steps: list[dict[str, Any]],
    r: SimResult,
    origin: str,
    path: str,
    checks: str = "all",
    *,
    shrinking: bool = True,
) -> Path:
    """Shrink a failing schedule (unless told not to), save it, print its replay command."""
    trace = TraceFile(cfg, steps, checks, origin, r.trace_hash, r.violations)
    wanted = properties([v for v in r.violations if not is_liveness(v)])
    if wanted and shrinking and not args.no_shrink:
        _, as_safety = replay(cfg, steps, safety_only=True)
        shown = properties(as_safety.violations)
        prop = next((p for p in wanted if p in shown), None)
        done = shrink(cfg, steps, prop, time_limit=args.shrink_time) if prop else None
        if done is not None:
            _, small = replay(cfg, done.steps, safety_only=True)
            trace = TraceFile(
                cfg,
                done.steps,
                "safety",
                f"{origin}, shrunk from {len(steps)} steps",
                small.trace_hash,
                small.violations,
            )
            print(
                f"  shrunk to {len(done.steps)} steps (from {len(steps)}) still violating "
                f"{prop}, {done.tries} replays in {done.seconds:.1f} s"
                + ("" if done.complete else " (time limit: not minimal)")
            )
    saved = trace.save(path)
    print(f"  trace saved: {saved}")
    print(f"  replay: zablab sim --replay {saved}", flush=True)
    return saved


def run_scenario(args: argparse.Namespace) -> int:
    if args.nodes != SimConfig().nodes or args.bug or args.search or args.seed is not None:
        raise UserError(
            f"--scenario {args.scenario} is one fixed schedule on three servers: give only "
            "--protocol, --paxos-mode, --save-trace and --trace with it."
        )
    mode = parse_paxos_mode(args.paxos_mode or "deltas", args.protocol)
    logging.getLogger("zablab.node").setLevel(logging.ERROR)  # the servers' own log
    run = SCENARIOS[args.scenario](args.protocol, mode)
    print(run.report(), flush=True)
    if args.save_trace:
        cfg = SimConfig(nodes=3, protocol=args.protocol)
        tf = TraceFile(
            cfg, run.steps, "safety", f"scenario {args.scenario}", run.trace_hash, run.broken, mode
        )
        print(f"  trace saved: {tf.save(args.save_trace)} ({len(run.steps)} steps)")
        print(f"  replay: zablab sim --replay {args.save_trace}")
    if args.trace:
        with open(args.trace, "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(ev) + "\n" for ev in run.trace)
    return run.exit_code


def run_replay(args: argparse.Namespace) -> int:
    tf = load_trace(args.replay)
    if args.without_bugs:
        tf.config = replace(tf.config, bugs=())
    if tf.servers:
        logging.getLogger("zablab.node").setLevel(logging.ERROR)
        run = replay_paxosrun(tf.config, tf.servers, tf.steps)
        same = "as saved" if run.trace_hash == tf.trace_hash else "DIFFERS from the saved one"
        print(f"replay of {args.replay} ({tf.origin}; {len(tf.steps)} steps): trace {same}")
        print(run.report())
        return run.exit_code
    safety = tf.checks == "safety"
    st, r = replay(tf.config, tf.steps, safety_only=safety)
    if args.log:
        print("\n".join(r.timeline(verbose=args.log > 1)))
    same = (
        ""
        if not tf.trace_hash or args.without_bugs  # the clean replica's trace is another one
        else (
            "as saved"
            if r.trace_hash == tf.trace_hash
            else f"DIFFERS from the saved {tf.trace_hash[:12]}"
        )
    )
    verdict = "VIOLATION" if r.violations else "ok"
    clean = ", clean replica" if args.without_bugs else ""
    print(
        f"replay of {args.replay} ({tf.origin or 'no origin'}; {len(tf.steps)} steps, "
        f"{tf.checks} checks{clean}): {verdict}, trace {r.trace_hash[:12]} {same}".rstrip()
    )
    for v in r.violations[:20]:
        print(f"  - {v}")
    if args.trace:
        write_jsonl(args.trace, r)
    if args.html:
        out = Path(args.html)
        out.write_text(render_html(st, r, f"{args.replay} ({tf.origin})"), encoding="utf-8")
        print(f"  diagram: {out}")
    return 1 if r.violations else 0


def run_search(args: argparse.Namespace, cfg: SimConfig) -> int:
    bounds = Bounds(
        max_depth=args.max_depth,
        max_crashes=args.max_crashes,
        max_restarts=args.max_restarts,
        max_writes=args.max_writes,
        max_partitions=args.max_partitions,
        ticks=args.ticks,
        time_limit=args.time_limit,
        max_states=args.max_states,
    )
    start = None
    if args.start:
        tf = load_trace(args.start)
        cfg = replace(tf.config, bugs=cfg.bugs) if args.bug else tf.config
        start = tf.steps
    res = search(cfg, args.search, bounds, seed=args.seed or 0, start=start)
    print(res.summary(), flush=True)
    if res.violations:
        for v in res.violations[:20]:
            print(f"  - {v}")
        _, r = replay(cfg, res.steps, safety_only=True)
        path = args.save_trace or str(Path(args.trace_dir) / f"search-{args.search}.json")
        save_failure(args, cfg, res.steps, r, f"search {args.search}", path, "safety")
    return res.exit_code


def write_jsonl(path: str, r: SimResult) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for ev in r.trace:
            fh.write(json.dumps(ev) + "\n")


if __name__ == "__main__":
    sys.exit(main())
