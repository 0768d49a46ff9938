"""The simulator's power, measured: the mutation score of the ZAB replica and election.

    python bench/mutation_score.py                          # 40 sampled mutants, 60 seeds, 3 and 5 nodes
    python bench/mutation_score.py --sample 100 --search --jobs 2
    python bench/mutation_score.py --sample 0               # every mutation point (hours)

Each mutant (zablab/sim/mutate.py) runs in a fresh interpreter against the seed set and, with
--search, a dfs bounded by --search-states; the unmutated modules run the same check first in
the same invocation (a failing original makes every score meaningless: exit 255). Printed:
mutants tried, caught by seeds / by search / by crash / by timeout, the survivors, the score
caught/tried, and each survivor with file:line, the original and the mutated line and a
"reason: ?" for the human to fill (an equivalent mutant, or a gap in the checks to close).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NoReturn

from zablab.errors import UserError
from zablab.sim.mutate import MODULES, Check, Outcome, points_of, run_mutant, sample, source_line

ROOT = Path(__file__).resolve().parents[1]


def _nodes(text: str) -> tuple[int, ...]:
    try:
        out = tuple(int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--nodes wants a list like 3,5, not {text!r}") from None
    if not out or any(n < 1 for n in out):
        raise argparse.ArgumentTypeError(f"--nodes wants positive sizes, not {text!r}")
    return out


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UserError(f"{message} (see bench/mutation_score.py --help)")


def main(argv: list[str] | None = None) -> int:
    try:
        return run(argv)
    except UserError as e:
        print(e, file=sys.stderr)
        return 255


def run(argv: list[str] | None) -> int:
    ap = _Parser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sample", type=int, default=40, help="mutants to try (0: every point)")
    ap.add_argument("--sample-seed", type=int, default=0, help="seed of the random sample")
    ap.add_argument("--seeds", type=int, default=60, help="simulator seeds per cluster size")
    ap.add_argument("--nodes", type=_nodes, default=(3, 5), help="cluster sizes, e.g. 3,5")
    ap.add_argument("--search", action="store_true", help="also a bounded dfs search (3 nodes)")
    ap.add_argument("--search-states", type=int, default=5000, help="the search's state bound")
    ap.add_argument("--jobs", type=int, default=2, help="mutants checked at once (processes)")
    ap.add_argument("--timeout", type=float, default=0, help="per mutant, s (0: 10x the original)")
    ap.add_argument("--module", action="append", choices=MODULES, help="default: all")
    args = ap.parse_args(argv)
    if args.sample < 0 or args.seeds < 0 or args.jobs < 1 or args.search_states < 1:
        ap.error("--sample and --seeds want >= 0, --jobs and --search-states >= 1")
    modules = args.module or list(MODULES)
    check = Check(
        seeds=args.seeds,
        nodes=args.nodes,
        search_states=args.search_states if args.search else 0,
        timeout=3600.0,
    )

    start = time.perf_counter()
    base = run_mutant(ROOT, None, check, modules[0])
    if base.caught:
        print(f"the unmutated modules fail the check ({base.verdict}): {base.detail}")
        print("fix that first: a score over a failing original means nothing", file=sys.stderr)
        return 255
    timeout = args.timeout or max(30.0, 10 * base.seconds)
    check = Check(check.seeds, check.nodes, check.search_states, timeout)

    points = [p for f in modules for p in points_of(f, (ROOT / f).read_text())]
    chosen = sample(points, args.sample or None, args.sample_seed)
    print(
        f"{len(points)} mutation points in {', '.join(modules)}; trying {len(chosen)} "
        f"(sample seed {args.sample_seed}); check: {check.seeds} seeds on "
        f"{'/'.join(map(str, check.nodes))} nodes"
        + (f" + dfs search of {check.search_states} states" if check.search_states else "")
        + f"; original passes in {base.seconds:.1f} s; timeout {timeout:.0f} s; jobs {args.jobs}"
    )
    with ThreadPoolExecutor(args.jobs) as pool:
        outcomes: list[Outcome] = list(pool.map(lambda p: run_mutant(ROOT, p, check), chosen))
    took = time.perf_counter() - start

    by = Counter(o.verdict for o in outcomes)
    caught = sum(o.caught for o in outcomes)
    tried = len(outcomes)
    print(f"mutants tried:     {tried}")
    print(f"caught by seeds:   {by['seeds']}")
    print(f"caught by search:  {by['search']}   (the search runs only when every seed passes)")
    print(f"caught by crash:   {by['crash']}")
    print(f"caught by timeout: {by['timeout']}")
    print(f"survivors:         {by['survived']}")
    score = caught / tried if tried else 0.0
    print(f"mutation score:    {caught}/{tried} = {score:.0%}   ({took:.0f} s wall)")
    kinds = Counter(o.point.kind for o in outcomes if o.point)
    kinds_caught = Counter(o.point.kind for o in outcomes if o.point and o.caught)
    print("by kind: " + ", ".join(f"{k} {kinds_caught[k]}/{n}" for k, n in sorted(kinds.items())))
    blunt = [o for o in outcomes if o.verdict in ("crash", "timeout") and o.point]
    if blunt:
        print("\ncaught by crash or timeout:")
    for o in blunt:
        assert o.point is not None
        print(f"  {o.point.file}:{o.point.line}:{o.point.col} {o.point.kind}: {o.detail}")
    survivors = [o for o in outcomes if not o.caught and o.point]
    if survivors:
        print("\nsurvivors:")
    for o in survivors:
        assert o.point is not None
        before, after = source_line(ROOT, o.point)
        print(f"  {o.point.file}:{o.point.line}:{o.point.col} {o.point.kind}")
        print(f"    - {before}")
        print(f"    + {after}")
        print("    reason: ?")
    return 0


if __name__ == "__main__":
    sys.exit(main())
