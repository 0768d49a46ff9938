"""The replica's three rules (zablab/node/zab/rules.py): the house versions pass the zab lab's
unit tests, ``plugged`` scopes a replacement to its block, and the replica really asks them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from zablab.labs.engine import visible_seeds
from zablab.labs.registry import get_lab
from zablab.labs.runner import run_test
from zablab.labs.zab.harness import Director
from zablab.node.zab import rules

LAB = get_lab("zab")


def test_the_house_rules_pass_the_labs_unit_tests(tmp_path: Path) -> None:
    (tmp_path / "rules.py").write_text(
        "from zablab.node.zab.rules import choose_sync, commit_point, follower_step\n"
    )
    unit = [t for t in LAB.tests if t.part in ("sync", "follower", "commit")]
    for test in unit:
        outcome = run_test(LAB, test, tmp_path, visible_seeds(test))
        assert outcome.passed, f"{test.name}: {outcome.output}"


def test_plugged_rules_hold_for_the_block_only() -> None:
    other = replace(rules.REFERENCE, commit_point=lambda pending, acks, quorum: None)
    assert rules.active() is rules.REFERENCE
    with rules.plugged(other):
        assert rules.active() is other
    assert rules.active() is rules.REFERENCE


def test_the_replica_commits_only_what_the_commit_rule_allows() -> None:
    """With every follower ACKing, a commit rule that never commits leaves the write
    unacknowledged; the reference commits it."""

    def write_once() -> bool:
        d = Director()
        d.run(lambda: d.leader() is not None, "a leader")
        d.do("write x", do="write", node=d.leader(), payload="x")
        d.run_quiet("the write's replication")
        return d.acked("x")

    never = replace(rules.REFERENCE, commit_point=lambda pending, acks, quorum: None)
    with rules.plugged(never):
        assert not write_once()
    assert write_once()
