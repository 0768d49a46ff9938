"""`zablab sim --workload register|set`: seeds of the whole-node simulation, reported as
`zablab test` reports a run.

It lives above both the simulator and the harness (the simulator must not import the test
engine): the simulator yields histories, traces and verdicts; this command writes them into
the run store and renders the harness's report for the seeds worth reading.

Every seed gets a run directory store/sim-<workload>/<stamp>/seed-<N>/ (test.json,
results.json, history.jsonl, zab-trace.jsonl; report.html for the first seeds that are not
valid, and for the last one; `zablab analyze DIR` renders any other) and the invocation's results.json lists every seed's verdict. Exit status:
0 all valid, 1 a seed invalid, 2 a seed unknown (and none invalid), 255 a usage error.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import Any, NoReturn

from zablab.bugs import BUGS, Layer, known
from zablab.checkers.result import EXIT_CODES, merge_validity
from zablab.errors import UserError

MAX_REPORTS = 5  # report.html for the first seeds that are not valid; `zablab analyze` the rest


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UserError(f"{message} (zablab sim --workload register --help lists the options)")


def parse(argv: list[str]) -> argparse.Namespace:
    from zablab.sim.whole import WholeConfig
    from zablab.sim.workloads import WORKLOADS

    p = _Parser(
        prog="zablab sim --workload NAME",
        description="The whole ZooKeeper node (server core, sessions, data tree, ZAB replica, "
        "storage on a simulated disk) under the deterministic simulator, with simulated "
        "clients running a workload; the history is checked like a `zablab test` run.",
        epilog="bugs: " + "; ".join(f"{k}: {BUGS[k].describe()}" for k in known([Layer.ZAB])),
    )
    p.add_argument("--workload", required=True, choices=sorted(WORKLOADS))
    p.add_argument("--seed", type=int, default=None, help="run this one seed")
    p.add_argument("--seeds", type=int, default=None, help="run seeds FIRST..FIRST+N-1")
    p.add_argument("--first", type=int, default=0, help="first seed for --seeds (default 0)")
    p.add_argument("--bug", action="append", default=[], help="seed a bug (listed below)")
    p.add_argument("--store", default="store", help="the run store (default ./store)")
    p.add_argument("--quiet", action="store_true", help="print seeds that are not valid only")
    defaults = WholeConfig()
    for f in fields(WholeConfig):
        if f.name in ("bugs", "workload"):
            continue
        v = getattr(defaults, f.name)
        p.add_argument(
            f"--{f.name.replace('_', '-')}", type=type(v), default=v, help=f"default {v}"
        )
    return p.parse_args(argv)


def _whole_node(args: list[str]) -> bool:
    """`--workload X` other than `none` asks for the whole-node simulation."""
    for i, a in enumerate(args):
        if a == "--workload" and i + 1 < len(args):
            return args[i + 1] != "none"
        if a.startswith("--workload="):
            return a.split("=", 1)[1] != "none"
    return False


def _without_workload_none(args: list[str]) -> list[str]:
    """`--workload none` is the bare-replica simulation, which has no such option."""
    out: list[str] = []
    skip = False
    for i, a in enumerate(args):
        if skip:
            skip = False
        elif a == "--workload" and args[i + 1 : i + 2] == ["none"]:
            skip = True
        elif a != "--workload=none":
            out.append(a)
    return out


def main(argv: list[str]) -> int:
    """`zablab sim`: the whole node with clients when a workload is named, else the bare
    replicas of zablab.sim (which has no --workload option, so `none` is taken off)."""
    if not _whole_node(argv):
        from zablab.sim.__main__ import main as replica_main

        return replica_main(_without_workload_none(argv))
    return _whole(argv)


def _whole(argv: list[str]) -> int:
    try:
        return _run(argv)
    except UserError as e:
        print(f"zablab: error: {e}", file=sys.stderr)
        return 255


def _run(argv: list[str]) -> int:
    from zablab.harness.store import new_run_dir, set_latest, write_json
    from zablab.sim.whole import WholeConfig, simulate_whole

    args = parse(argv)
    kwargs = {f.name: getattr(args, f.name) for f in fields(WholeConfig) if f.name != "bugs"}
    if args.nodes < 1:
        raise UserError("--nodes must be at least 1.")
    if args.clients < 1:
        raise UserError("--clients must be at least 1.")
    cfg = WholeConfig(**kwargs, bugs=tuple(args.bug))
    if args.seed is not None:
        seeds = [args.seed]
    elif args.seeds is not None and args.seeds >= 1:
        seeds = list(range(args.first, args.first + args.seeds))
    else:
        raise UserError("give --seed N to run one seed or --seeds N (N >= 1) to run many.")
    # the servers' connection-level warnings are a real node's log, not this command's output
    logging.getLogger("zablab.node").setLevel(logging.ERROR)
    top = new_run_dir(args.store, f"sim-{cfg.workload}")
    verdicts: dict[str, Any] = {}
    first_bad: Path | None = None
    reports = 0
    d = top
    started = time.perf_counter()
    sim_ms = 0
    for i, seed in enumerate(seeds):
        r = simulate_whole(seed, cfg)
        sim_ms += r.stats["sim_ms"]
        verdicts[str(seed)] = r.valid
        d = top / f"seed-{seed}"
        d.mkdir()
        _write_run(d, r, cfg, write_json)
        if r.valid is not True and first_bad is None:
            first_bad = d
        if (r.valid is not True and reports < MAX_REPORTS) or i == len(seeds) - 1:
            reports += 1
            _report(d)
        if r.valid is not True or not args.quiet:
            print(r.summary(), flush=True)
    overall = merge_validity(verdicts.values())
    took = time.perf_counter() - started
    write_json(
        top / "results.json",
        {
            "valid": overall,
            "seeds": verdicts,
            "invalid": [s for s, v in verdicts.items() if v is False],
            "unknown": [s for s, v in verdicts.items() if v == "unknown"],
            "config": {f.name: getattr(cfg, f.name) for f in fields(cfg)},
        },
    )
    set_latest(args.store, first_bad or d)
    bad = sum(1 for v in verdicts.values() if v is not True)
    word = {True: "valid", False: "INVALID", "unknown": "unknown"}[overall]
    print(
        f"{len(seeds)} seeds: {word} "
        f"({bad} not valid), {sim_ms / 1000:.1f} simulated s in {took:.1f} s; run: {top}",
        file=sys.stderr,
    )
    return EXIT_CODES[overall]


def _write_run(d: Path, r: Any, cfg: Any, write_json: Any) -> None:
    names = [{"name": f"n{n}"} for n in range(1, cfg.nodes + 1)]
    write_json(
        d / "test.json",
        {
            "name": f"sim-{cfg.workload}",
            "seed": r.seed,
            "nodes": names,
            "options": {
                "db": "zablab",
                "backend": "sim",
                "nodes": cfg.nodes,
                "workload": cfg.workload,
                "nemesis": "partition,kill,delay" if cfg.fault_every_ms else "none",
                "bugs": list(cfg.bugs),
            },
            "replay": cfg.replay_command(r.seed),
        },
    )
    results = r.result.to_dict()
    results["sim"] = dict(r.stats)
    results["history_hash"] = r.history_hash
    write_json(d / "results.json", results)
    (d / "history.jsonl").write_text(r.history_jsonl(), encoding="utf-8")
    with open(d / "zab-trace.jsonl", "w", encoding="utf-8") as fh:
        for ev in r.trace:
            fh.write(json.dumps(ev, separators=(",", ":")) + "\n")


def _report(d: Path) -> None:
    from zablab.harness.report import write_report

    try:
        write_report(d)
    except Exception as exc:  # a drawing problem must not lose the verdict
        print(f"zablab: warning: no report.html for {d}: {exc}", file=sys.stderr)
