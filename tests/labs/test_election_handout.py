"""The election handout covers what the lab teaches: the three schemes and why a compute
cluster may use the first two while storage needs the vote, fencing, the herd numbers side
by side, and a grading table that names every failover test the lab has."""

from __future__ import annotations

import re

from zablab.labs.registry import get_lab

LAB = get_lab("election")
TEXT = LAB.resource("handout", "README.md").read_text()
FLAT = " ".join(TEXT.split())


def test_the_three_schemes_and_why_storage_needs_the_vote() -> None:
    subs = re.findall(r"^### (.+)$", TEXT, flags=re.M)
    assert subs == [
        "Three ways to elect a leader",
        "The herd effect in numbers",
        "Two leaders at once, and fencing",
    ]
    for words in (
        "smallest sequential node wins",
        "race for one unique node",
        "quorum vote",
        "compute cluster is stateless",
        "most recent history",
    ):
        assert words in FLAT, words


def test_the_herd_numbers_stand_side_by_side() -> None:
    rows = re.findall(r"^\| (\d+) +\| (\d+) +\| (\d+) +\| (\d+) +\|$", TEXT, flags=re.M)
    assert len(rows) >= 2
    for n, waiting, one, two in ((int(x) for x in r) for r in rows):
        assert waiting == n - 1 and one == 1 and two == waiting
    assert "python bench/election_herd.py" in TEXT


def test_the_grading_table_names_every_failover_test() -> None:
    failover = {t.name for t in LAB.visible("failover")}
    named = set(re.findall(r"^\| `(failover\.[a-z_]+)` \|", TEXT, flags=re.M))
    assert named == failover
    for t in LAB.tests:
        if t.part != "failover":
            assert t.name.split(".")[0] in ("api", "smallest", "unique")
