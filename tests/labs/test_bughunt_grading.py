"""The bughunt grader, proven: the reference hunter's submission gets full marks, an empty one
and the untouched starter none, a trace that also fails on the clean replica scores nothing for
its bug, a trace that breaks nothing scores nothing, and a wrong property loses that part only.
The hunt's pool comes from the bug registry, the secret's draw is shared by the hidden tests
and the tokens staff hand out switch on exactly the drawn bugs."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from tests.labs.conftest import grade, zablab
from zablab import bugs as registry
from zablab.bugs import Layer, SeededBug
from zablab.labs.bughunt import pool
from zablab.labs.bughunt.judge import Answer, judge
from zablab.labs.grader import plan_grade
from zablab.labs.registry import get_lab
from zablab.sim import SimConfig, Simulation
from zablab.sim.mystery import decode, is_token
from zablab.sim.stepper import replay
from zablab.sim.tracefile import TraceFile, load_trace

LAB = get_lab("bughunt")
SECRET = "zip-secret"  # the autograder test's: the reference submission is made once for both
HIDDEN = {"mystery-a.trace", "mystery-a.property", "mystery-b.trace", "mystery-b.property"}


@pytest.fixture
def hunted(tmp_path: Path, reference_submission) -> Path:
    return reference_submission(LAB, SECRET, tmp_path / "sub")


def _scores(doc: dict) -> dict[str, float]:
    return {t["name"]: t["score"] for t in doc["tests"]}


def _set(sub: Path, label: str, **fields: str) -> None:
    """Rewrite one table of the submission's answers.toml."""
    text = (sub / "answers.toml").read_text()
    head, _, rest = text.partition(f"[{label}]\n")
    body, sep, tail = rest.partition("\n\n")
    for k, v in fields.items():
        body = re.sub(rf'^{k} = ".*"$', f'{k} = "{v}"', body, flags=re.M)
    (sub / "answers.toml").write_text(head + f"[{label}]\n" + body + sep + tail)


def test_reference_hunter_gets_full_marks(hunted: Path, tmp_path: Path) -> None:
    doc = grade("bughunt", hunted, tmp_path / "results.json", SECRET)
    assert doc["score"] == LAB.max_points == 15, doc["output"]
    hidden = {t["name"] for t in doc["tests"] if t["visibility"] == "after_due_date"}
    assert hidden == HIDDEN
    for label in pool.MYSTERIES:  # made with the tokens: the files name no bug
        assert all(is_token(b) for b in load_trace(hunted / f"{label}.json").config.bugs)


def test_empty_submission_and_untouched_starter_score_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    doc = grade("bughunt", tmp_path / "empty", tmp_path / "r1.json", SECRET)
    assert doc["score"] == 0 and all(t["status"] == "failed" for t in doc["tests"])
    assert "answers.toml is not in the submission" in doc["tests"][0]["output"]
    assert zablab("lab", "start", "bughunt", str(tmp_path / "w")).returncode == 0
    doc = grade("bughunt", tmp_path / "w", tmp_path / "r2.json", SECRET)
    assert doc["score"] == LAB.given_points == 0
    assert "names no trace file" in doc["tests"][0]["output"]


def test_a_trace_failing_on_the_clean_replica_too_scores_nothing_for_it(
    hunted: Path, tmp_path: Path
) -> None:
    """A schedule of the smallest-id election (it loses writes by itself), saved with
    mystery-a's token: it fails with the bug on, and on the clean replica too."""
    token = load_trace(hunted / "mystery-a.json").config.bugs
    for seed in range(40):
        cfg = SimConfig(election="smallest-id", bugs=token)
        sim = Simulation(seed, cfg)
        sim.record = True
        sim.run()
        _, clean = replay(replace(cfg, bugs=()), sim.steps, safety_only=True)
        _, buggy = replay(cfg, sim.steps, safety_only=True)
        if clean.violations and buggy.violations:
            break
    else:
        pytest.fail("no smallest-id seed in 40 breaks safety")
    TraceFile(cfg, sim.steps, "safety", f"seed {seed}").save(hunted / "mystery-a.json")
    prop = buggy.violations[0].split(":", 1)[0]
    _set(hunted, "mystery-a", property=prop)
    doc = grade("bughunt", hunted, tmp_path / "results.json", SECRET)
    scores = _scores(doc)
    assert scores["mystery-a.trace"] == scores["mystery-a.property"] == 0
    assert doc["score"] == LAB.max_points - 6  # the other mystery and the practice still count
    out = next(t["output"] for t in doc["tests"] if t["name"] == "mystery-a.trace")
    assert "also fails on the clean replica" in out and "mystery-a was " in out


def test_a_trace_that_breaks_nothing_scores_nothing(hunted: Path, tmp_path: Path) -> None:
    tf = load_trace(hunted / "mystery-b.json")
    TraceFile(tf.config, tf.steps[:3], "safety", "cut").save(hunted / "mystery-b.json")
    doc = grade("bughunt", hunted, tmp_path / "results.json", SECRET)
    scores = _scores(doc)
    assert scores["mystery-b.trace"] == scores["mystery-b.property"] == 0
    assert doc["score"] == LAB.max_points - 6


def test_a_wrong_property_loses_that_part_only(hunted: Path, tmp_path: Path) -> None:
    tf = load_trace(hunted / "mystery-a.json")
    _, r = replay(tf.config, tf.steps, safety_only=True)
    shown = {v.split(":", 1)[0] for v in r.violations}
    wrong = next(
        p for p in ("integrity", "total-order", "agreement", "lost write") if p not in shown
    )
    _set(hunted, "mystery-a", property=wrong)
    _set(hunted, "practice", property="Lost_Write")  # spelling does not matter
    doc = grade("bughunt", hunted, tmp_path / "results.json", SECRET)
    scores = _scores(doc)
    assert scores["mystery-a.trace"] == 4 and scores["mystery-a.property"] == 0
    assert scores["practice.property"] == 1
    assert doc["score"] == LAB.max_points - 2
    out = next(t["output"] for t in doc["tests"] if t["name"] == "mystery-a.property")
    assert f"you named {wrong}" in out


def test_each_reference_trace_counts_against_the_bug_drawn_for_it(hunted: Path) -> None:
    """The judge replays the trace's steps with the drawn bugs in place of the token inside
    it: each reference trace fails with its mystery's bug and breaks nothing clean."""
    drawn = pool.draw(pool.course_seed(SECRET))
    for label, bugs in drawn.items():
        j = judge(Answer(label, hunted / f"{label}.json", ""), bugs)
        assert j.counts, j.explain_trace()
        assert not judge(Answer(label, hunted / f"{label}.json", ""), ()).with_bug


def test_a_trace_outside_the_submission_is_refused(hunted: Path, tmp_path: Path) -> None:
    shutil.copyfile(hunted / "practice.json", tmp_path / "outside.json")
    _set(hunted, "practice", trace="../outside.json")
    doc = grade("bughunt", hunted, tmp_path / "results.json", SECRET)
    assert _scores(doc)["practice.trace"] == 0
    assert "outside the submission" in doc["tests"][0]["output"]


def test_the_pool_is_the_registrys_zab_bugs_the_simulator_finds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = pool.pool()
    assert pool.PRACTICE not in base and len(base) >= len(pool.MYSTERIES)
    assert all(registry.BUGS[b].layer is Layer.ZAB for b in base)
    extra = {
        "zoo-found": SeededBug("zoo-found", Layer.ZAB, "a new zoo entry", "sim", 200, "ZK-1"),
        "zoo-unsearchable": SeededBug("zoo-unsearchable", Layer.ZAB, "a fixed program", "sim", 0),
        "zoo-client": SeededBug("zoo-client", Layer.CLIENT, "a client recipe bug", "election", 3),
    }
    monkeypatch.setattr(registry, "BUGS", {**registry.BUGS, **extra})
    monkeypatch.setattr(pool, "BUGS", registry.BUGS)
    assert pool.pool() == sorted([*base, "zoo-found"])


def test_the_secrets_draw_is_shared_by_the_hidden_tests_and_the_tokens() -> None:
    plan = [p for p in plan_grade(LAB, SECRET) if p.test.hidden]
    assert {p.test.name for p in plan} == HIDDEN
    seed = pool.course_seed(SECRET)
    assert all(p.seeds == [seed] for p in plan)  # one draw for the four tests
    drawn = pool.draw(seed)
    assert len({b for bugs in drawn.values() for b in bugs}) == len(pool.MYSTERIES)
    assert {label: decode(t) for label, t in pool.tokens(seed).items()} == drawn
    other = pool.course_seed("another course")
    assert pool.tokens(other) != pool.tokens(seed)  # tokens differ across courses
    note = pool.notice(SECRET)
    assert all(t in note for t in pool.tokens(seed).values())
    assert not any(b in note for b in registry.BUGS)  # the notice names no bug


def test_autograder_prints_the_tokens_for_staff(tmp_path: Path) -> None:
    r = zablab("lab", "autograder", "bughunt", "--out", str(tmp_path / "z.zip"), "--secret", SECRET)
    assert r.returncode == 0, r.stderr
    for label, token in pool.tokens(pool.course_seed(SECRET)).items():
        assert f"{label}: {token}" in r.stdout


def test_hunt_ready_refuses_a_trace_made_with_a_named_bug(hunted: Path) -> None:
    """The visible check: a mystery answered with the practice trace (made with the bug's
    name, not a token) is not ready, and the failure says why and how to replay."""
    shutil.copyfile(hunted / "practice.json", hunted / "mystery-b.json")
    r = zablab("lab", "test", "bughunt", "--dir", str(hunted), "--case", "hunt.ready")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "not with the mystery-b token" in r.stdout
    assert "replay: zablab lab test bughunt --dir" in r.stdout
