"""A seed names one run: the same seed gives the same trace, in this process and another."""

import os
import subprocess
import sys

from zablab.sim import SimConfig, simulate


def test_same_seed_same_trace_hash():
    cfg = SimConfig(nodes=5)
    a, b = simulate(17, cfg), simulate(17, cfg)
    assert a.trace_hash == b.trace_hash and a.trace == b.trace
    assert simulate(18, cfg).trace_hash != a.trace_hash


def test_same_hash_in_a_fresh_interpreter_with_other_hash_seeds():
    """Nothing may depend on set/dict order of strings (PYTHONHASHSEED) or on wall time."""
    hashes = set()
    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        out = subprocess.run(
            [sys.executable, "-m", "zablab.sim", "--seed", "23", "--nodes", "3"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        hashes.add(out.stdout.split("trace ")[1][:12])
    assert hashes == {simulate(23, SimConfig(nodes=3)).trace_hash[:12]}


def test_trace_file_is_what_the_zab_checker_reads(tmp_path):
    from zablab.checkers.zab import check_zab_trace, load_zab_trace

    out = tmp_path / "trace.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "zablab.sim", "--seed", "4", "--trace", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    events = load_zab_trace(out)
    assert {e["event"] for e in events} >= {"restart", "elected", "follow", "broadcast", "deliver"}
    assert check_zab_trace(events).valid is True


def test_timeline_shows_faults_and_zab_events():
    r = simulate(2, SimConfig(nodes=3))
    lines = r.timeline()
    assert any("nemesis  partition" in x for x in lines) and any("elected" in x for x in lines)
    assert not any(" deliver " in x for x in lines)
    assert any(" deliver " in x for x in r.timeline(verbose=True))
