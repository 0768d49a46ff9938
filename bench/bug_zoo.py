"""How long the search takes to find each bug of the zoo: seconds and states, bug on and off.

    python bench/bug_zoo.py                      # every entry, from its schedule's start
    python bench/bug_zoo.py --boot 200000        # also from the boot, up to 200,000 states each
    python bench/bug_zoo.py --only ZOOKEEPER-4646 --slack 20

For each historical entry (zablab/bugs.py, ``zoo()``): dfs (seed 0) from the entry's search
start with its registry bounds, up to ``--slack`` times its stated state bound, with the bug
on (states and seconds to the first violation, and its properties) and then, in the same
run, over the same bounds with the bug off, up to the stated bound (the clean replica: states
and seconds explored, which must find nothing; a violation there is a failure of the zoo). With ``--boot N`` a
third search starts from the boot (max depth 70, 3 crashes, 2 restarts, 2 writes, one cut for
the entries whose story needs one) and stops at N states: how far the zoo's starting points
are from a blind search. Printed as a table with the ratio of the clean run's states/s to the
bug run's; nothing is asserted (exit 1 only if a bug is not found or the clean replica fails).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zablab.bugs import SeededBug, zoo  # noqa: E402
from zablab.sim.search import Bounds, SearchResult, search  # noqa: E402
from zablab.sim.shrink import properties  # noqa: E402
from zablab.sim.tracefile import load_trace  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def bounds(bug: SeededBug, states: int) -> Bounds:
    assert bug.history is not None
    words = bug.history.search_args.split()
    kw = {w[2:].replace("-", "_"): int(v) for w, v in zip(words[::2], words[1::2], strict=True)}
    return Bounds(time_limit=3600.0, max_states=states, **kw)


def cell(res: SearchResult) -> str:
    found = ",".join(properties(res.violations)) if res.violations else "none"
    return f"{res.states:>8} {res.seconds:>7.2f} s  {found}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--slack", type=int, default=5, help="states limit: this many times the bound")
    p.add_argument("--boot", type=int, default=0, metavar="N", help="also search from the boot")
    p.add_argument("--only", action="append", default=[], help="a ticket (repeatable)")
    a = p.parse_args()
    if a.slack < 1 or a.boot < 0:
        print("zablab: error: --slack must be at least 1 and --boot at least 0.", file=sys.stderr)
        return 255
    entries = [b for b in zoo() if not a.only or b.ticket in a.only]
    if not entries:
        print(f"zablab: error: no zoo entry among {a.only}; see `zablab bugs`.", file=sys.stderr)
        return 255
    head = f"{'ticket':<15} {'switch':<27} {'bound':>7}  {'bug on: states, time, found':<58}"
    head += f" {'bug off: states, time, found':<28} ratio"
    if a.boot:
        head += "   from the boot: states, time, found"
    print(head)
    failures = 0
    t0 = time.perf_counter()
    for b in entries:
        assert b.history is not None
        start = load_trace(ROOT / b.search_start)
        bd = bounds(b, b.history.search_states * a.slack)
        on = search(start.config, "dfs", bd, start=start.steps)
        clean = replace(bd, max_states=b.history.search_states)
        off = search(replace(start.config, bugs=()), "dfs", clean, start=start.steps)
        if not on.violations or off.violations:
            failures += 1
        ratio = off.rate / on.rate if on.rate else 0.0
        line = f"{b.ticket:<15} {b.name:<27} {b.history.search_states:>7}  {cell(on):<58} "
        line += f"{cell(off):<28} {ratio:4.2f}"
        if a.boot:
            cuts = 1 if b.name == "retained-db-zxid" else 0  # its story is a cut, not a crash
            boot = Bounds(max_depth=70, max_crashes=3, max_restarts=2, max_writes=2,
                          max_partitions=cuts, time_limit=3600.0, max_states=a.boot)  # fmt: skip
            line += "   " + cell(search(start.config, "dfs", boot))
        print(line, flush=True)
    print(
        f"{len(entries)} entries in {time.perf_counter() - t0:.0f} s; the clean replica explored "
        "each entry's stated bound; "
        + ("every bug found, none on the clean replica" if not failures else f"{failures} FAILED")
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
