"""The bug zoo: every historical entry's scripted schedule fails with its switch and passes
without it, `zablab bugs` lists it, its docs page is current, and every command on the page
runs with the exit status it promises: the replay (1), the control (0) and the bounded search
from the schedule's start (1), whose find fails with the bug and passes without it."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from zablab.bugs import BUGS, SeededBug, zoo
from zablab.bugs_command import DOCS_DIR, pages
from zablab.cli import main as zablab
from zablab.sim import SimConfig
from zablab.sim.search import Bounds, Explorer, search
from zablab.sim.shrink import properties
from zablab.sim.stepper import replay
from zablab.sim.tracefile import load_trace
from zablab.sim.zoo import Script, serving

ROOT = Path(__file__).resolve().parents[2]
ZOO = zoo()
IDS = [b.ticket for b in ZOO]


def test_the_zoo_lists_historical_entries_with_tickets_and_properties() -> None:
    assert len(ZOO) >= 12
    assert len({b.ticket for b in ZOO}) == len(ZOO)
    for b in ZOO:
        assert b.history is not None and re.fullmatch(r"ZOOKEEPER-\d+", b.ticket or "")
        assert b.history.property and b.history.fixed_in and b.history.trigger


@pytest.mark.parametrize("bug", ZOO, ids=IDS)
def test_scripted_schedule_fails_with_the_bug_and_passes_without(bug: SeededBug) -> None:
    tf = load_trace(ROOT / bug.schedule)
    assert tf.config.bugs == (bug.name,) and tf.checks == "safety"
    _, with_bug = replay(tf.config, tf.steps, safety_only=True)
    assert bug.history is not None
    assert bug.history.property in properties(with_bug.violations), with_bug.violations
    assert with_bug.trace_hash == tf.trace_hash  # the saved run, step for step
    _, clean = replay(replace(tf.config, bugs=()), tf.steps, safety_only=True)
    assert not clean.violations, clean.violations
    # the start of the search is a prefix of the schedule, and shows nothing yet
    start = load_trace(ROOT / bug.search_start)
    assert tf.steps[: len(start.steps)] == start.steps
    _, early = replay(tf.config, start.steps, safety_only=True)
    assert not early.violations


def _bounds(bug: SeededBug) -> tuple[SimConfig, Bounds]:
    """The registry's search command, as the explorer's arguments."""
    assert bug.history is not None
    words = bug.history.search_args.split()
    kw = {w[2:].replace("-", "_"): int(v) for w, v in zip(words[::2], words[1::2], strict=True)}
    cfg = load_trace(ROOT / bug.search_start).config
    return cfg, Bounds(time_limit=600.0, max_states=bug.history.search_states, **kw)


CHEAP = [b for b in ZOO if b.history is not None and b.history.search_states <= 2_000]


@pytest.mark.parametrize("bug", CHEAP, ids=[b.ticket for b in CHEAP])
def test_clean_replica_survives_the_same_search(bug: SeededBug) -> None:
    """bench/bug_zoo.py runs this for every entry; here only the small bounds."""
    cfg, b = _bounds(bug)
    start = load_trace(ROOT / bug.search_start).steps
    res = search(replace(cfg, bugs=()), "dfs", b, start=start)
    assert not res.violations, res.violations


def test_zablab_bugs_json_has_every_field(capsys: pytest.CaptureFixture[str]) -> None:
    assert zablab(["bugs", "--json"]) == 0
    entries = {e["name"]: e for e in json.loads(capsys.readouterr().out)}
    assert set(entries) == set(BUGS)
    for b in ZOO:
        e = entries[b.name]
        for key in ("name", "ticket", "layer", "property", "reproduce", "control", "search"):
            assert e[key], (b.name, key)
        assert e["reproduce"].startswith("zablab sim --replay ")
    assert zablab(["bugs"]) == 0
    text = capsys.readouterr().out
    assert all(b.ticket in text and b.commands()["search"] in text for b in ZOO)


def test_checked_in_docs_pages_are_current() -> None:
    want = pages()
    have = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / DOCS_DIR).glob("*.md")}
    stale = sorted(n for n in want if have.get(n) != want[n])
    extra = sorted(set(have) - set(want) - {"README.md"})
    assert not stale and not extra, (
        f"stale {stale}, unknown {extra}: run python -m zablab.bugs_command --write-docs docs/bugs"
    )


@pytest.mark.parametrize("bug", ZOO, ids=IDS)
def test_every_command_on_the_page_runs(
    bug: SeededBug, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    page = (ROOT / DOCS_DIR / f"{bug.ticket}.md").read_text(encoding="utf-8")
    for word in ("Trigger.", "Consequence.", "Fixed in ZooKeeper"):
        assert word in page
    commands = re.findall(r"^```sh\n(.*?)\n```", page, re.S | re.M)
    assert commands == [*bug.commands().values(), *bug.harness_commands().values()]
    # The harness lines are left to tests/harness/test_crash_points.py, which runs these very
    # lines: they need root and FUSE and take half a minute of a real cluster each.
    commands = commands[: len(bug.commands())]
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)  # a search saves its trace under store/: keep it here
    expected = {"reproduce": 1, "control": 0, "search": 1}
    for kind, line in zip(bug.commands(), commands, strict=True):
        argv = line.split()
        assert argv[0] == "zablab"
        code = zablab(argv[1:])
        out = capsys.readouterr().out
        assert code == expected[kind], f"{line}: exit {code}\n{out}"
    # what the search found (shrunk and saved) is the bug's doing: the clean replica passes it
    found = tmp_path / "store" / "sim" / "search-dfs.json"
    assert zablab(["sim", "--replay", str(found)]) == 1
    assert zablab(["sim", "--replay", str(found), "--without-bugs"]) == 0


def test_without_bugs_needs_a_replay(capsys: pytest.CaptureFixture[str]) -> None:
    assert zablab(["sim", "--seed", "1", "--without-bugs"]) == 255
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "zablab: error: --without-bugs replays a trace file: give --replay FILE with it."
    ]


def test_search_cuts_one_node_off_only_when_allowed_and_can_always_heal() -> None:
    def kinds(cuts: int) -> list[dict[str, object]]:
        ex = Explorer(SimConfig(), Bounds(max_partitions=cuts))
        st = ex.boot()
        return [c for c in ex.choices(st) if c["do"] in ("partition", "heal")]

    assert kinds(0) == []
    cuts = kinds(1)
    assert [c["groups"] for c in cuts] == [[[1], [2, 3]], [[2], [1, 3]], [[3], [1, 2]]]
    ex = Explorer(SimConfig(), Bounds(max_partitions=1))
    st = ex.boot()
    ex.take(st, cuts[0])
    after = [c["do"] for c in ex.choices(st) if c["do"] in ("partition", "heal")]
    assert after == ["heal"]  # one cut used up; the heal is a choice


def test_a_leader_whose_zxid_counter_is_used_up_steps_down_for_a_new_epoch() -> None:
    """The clean side of ZOOKEEPER-1277: the write past the counter is refused, the leader
    steps down and the next election starts a new epoch; with the bug the write takes a zxid
    of the next epoch."""
    for bugs in ((), ("zxid-counter-wraps",)):
        s = Script(SimConfig(zxid_counter_max=2, bugs=bugs))
        s.run(until=serving(1, 2, 3))
        for w in ("w1", "w2", "w3"):
            s.write(3, w)
        zxids = [e["zxid"] for e in s.st.trace if e["event"] == "broadcast"]
        if bugs:
            assert zxids == [0x100000001, 0x100000002, 0x200000000]
            assert s.st.nodes[3].replica.is_leader
        else:
            assert zxids == [0x100000001, 0x100000002]  # w3 refused
            assert s.st.nodes[3].replica.role == "LOOKING"
            s.run(until=serving(1, 2, 3))
            assert any(e["event"] == "elected" and e["epoch"] == 2 for e in s.st.trace)
