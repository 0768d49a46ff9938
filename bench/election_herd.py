"""The herd effect in numbers: watch events the servers deliver at one leader change, for the
election lab's two schemes side by side (the reference solution on a 3-node zablab ensemble).

    python bench/election_herd.py [--candidates 3,5,10]

Scheme 1 (smallest node, each watches its predecessor) should wake one waiter whatever the
number of candidates; scheme 2 (race for one node, all watch it) wakes every waiter.
"""

from __future__ import annotations

import argparse
import time

from zablab.labs.election.mutants import REFERENCE
from zablab.labs.election.tests import leader_change_wakeups
from zablab.labs.engine import load_student_file


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--candidates", default="3,5,10")
    a = ap.parse_args()
    mod = load_student_file(REFERENCE.parent, REFERENCE.name)
    print(
        f"{'candidates':>10} {'waiters':>8} {'scheme 1 woke':>14} {'scheme 2 woke':>14}"
        f" {'seconds':>8}"
    )
    for n in (int(x) for x in a.candidates.split(",")):
        t = time.monotonic()
        woke = []
        for cls, scheme in (("SmallestNodeElection", "smallest"), ("UniqueNodeElection", "unique")):
            r = leader_change_wakeups(mod, cls, scheme, n)
            woke.append(r.details["wakeups"][0]["woken"])
        print(f"{n:>10} {n - 1:>8} {woke[0]:>14} {woke[1]:>14} {time.monotonic() - t:>8.1f}")


if __name__ == "__main__":
    main()
