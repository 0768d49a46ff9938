"""How long the bughunt lab's reference hunter takes to find each bug of its pool.

    python bench/bughunt_hunter.py [--bugs a,b] [--budget 240]

For the practice bug and every bug the lab can draw (the registry's ZAB bugs the simulator
catches), the reference hunter (zablab/labs/bughunt/reference/hunter.py) hunts with the bug
on: printed are the seconds until it saved a schedule that counts (breaks a property with the
bug, none on the clean replica), which stage found it, the property and the shrunk length.
The other side, in the same run: the hunter's fixed stages (the bounded search and the random
runs) on the clean replica, which must find nothing, and each bug's time as a ratio of theirs.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from zablab.labs.bughunt import pool
from zablab.labs.bughunt.reference import hunter
from zablab.sim import SimConfig


def clean_stages() -> tuple[float, int]:
    """(seconds, failures) of the hunter's fixed stages on the clean replica."""
    t0 = time.monotonic()
    found = sum(1 for _ in hunter.fixed_stages(SimConfig(), float("inf")))
    return time.monotonic() - t0, found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bugs", default=",".join([pool.PRACTICE, *pool.pool()]))
    ap.add_argument("--budget", type=float, default=hunter.BUDGET_S, help="seconds per bug")
    args = ap.parse_args()
    base, false = clean_stages()
    print(
        f"clean replica: the fixed stages ({hunter.FIRST_SEARCH_STATES} search states, "
        f"{hunter.RANDOM_SEEDS} random runs) took {base:.1f} s and found {false} failures"
    )
    print(f"{'bug':<26} {'seconds':>8} {'÷clean':>7} {'found by':<24} {'property':<14} steps")
    with tempfile.TemporaryDirectory(prefix="zablab-bughunt-") as tmp:
        for bug in args.bugs.split(","):
            f = hunter.hunt(bug, Path(tmp) / f"{bug}.json", args.budget)
            if f is None:
                print(f"{bug:<26} {'-':>8} {'-':>7} nothing within {args.budget:g} s", flush=True)
                continue
            print(
                f"{bug:<26} {f.seconds:>8.1f} {f.seconds / base:>7.2f} {f.how:<24} "
                f"{f.property:<14} {f.steps}",
                flush=True,
            )


if __name__ == "__main__":
    main()
