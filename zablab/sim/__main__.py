"""``python -m zablab.sim``: run seeds of the ZAB simulation and report any violation.

Examples::

    python -m zablab.sim --seed 1234 --nodes 5           # one seed, as a failing run prints it
    python -m zablab.sim --seeds 200 --nodes 3           # seeds 0..199
    python -m zablab.sim --seed 30 --bug diff-without-trunc --log  # a caught bug, and when
    python -m zablab.sim --seed 7 --trace /tmp/t.jsonl                # the ZAB trace as JSONL
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import fields

from zablab.bugs import BUGS, Layer, known
from zablab.errors import UserError
from zablab.shards import shard

from .cluster import SimConfig, simulate


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
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
    p.add_argument("--bug", action="append", default=[], help="seed a bug (listed below)")
    p.add_argument("--trace", default=None, help="write the ZAB trace of --seed as JSONL here")
    p.add_argument("--quiet", action="store_true", help="print failing seeds only")
    p.add_argument(
        "--log",
        action="count",
        default=0,
        help="print the timeline of faults and ZAB events (twice: with every txn)",
    )
    defaults = SimConfig()
    for f in fields(SimConfig):
        if f.name == "bugs":
            continue
        v = getattr(defaults, f.name)
        p.add_argument(
            f"--{f.name.replace('_', '-')}", type=type(v), default=v, help=f"default {v}"
        )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse(argv)
        kwargs = {f.name: getattr(args, f.name) for f in fields(SimConfig) if f.name != "bugs"}
        cfg = SimConfig(**kwargs, bugs=tuple(args.bug))
        if cfg.nodes < 1:
            raise UserError("--nodes must be at least 1.")
        if args.seed is not None:
            seeds = [args.seed]
        elif args.seeds is not None:
            seeds = list(range(args.first, args.first + args.seeds))
            if args.shard:
                seeds = shard(seeds, args.shard)
        else:
            raise UserError("give --seed N to replay one seed or --seeds N to run many.")
        failed = 0
        start = time.perf_counter()
        for seed in seeds:
            r = simulate(seed, cfg)
            if not r.ok:
                failed += 1
            if args.log:
                print("\n".join(r.timeline(verbose=args.log > 1)))
            if not r.ok or not args.quiet:
                print(r.summary(), flush=True)
            if args.trace and args.seed is not None:
                with open(args.trace, "w", encoding="utf-8") as fh:
                    for ev in r.trace:
                        fh.write(json.dumps(ev) + "\n")
        took = time.perf_counter() - start
        print(
            f"{len(seeds)} seeds, {failed} failing, {len(seeds) / took:.1f} seeds/s",
            file=sys.stderr,
        )
        return 1 if failed else 0
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 255


if __name__ == "__main__":
    sys.exit(main())
