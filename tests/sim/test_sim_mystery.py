"""Mystery tokens: a token switches its bugs on wherever a bug name goes, a saved trace keeps
the token and never the names, a mistyped token is one error line, and `--replay --without-bugs`
replays a trace with its bugs off."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zablab.bugs import BUGS
from zablab.errors import UserError
from zablab.sim import SimConfig
from zablab.sim.__main__ import main
from zablab.sim.mystery import decode, encode, resolve
from zablab.sim.stepper import replay
from zablab.sim.tracefile import load_trace


def test_a_token_decodes_to_its_bugs_and_hides_them() -> None:
    tok = encode(["diff-without-trunc", "ack-before-fsync"], b"course 1")
    assert decode(tok) == ("ack-before-fsync", "diff-without-trunc")
    assert resolve(["commit-without-quorum", tok]) == (
        "commit-without-quorum",
        "ack-before-fsync",
        "diff-without-trunc",
    )
    assert not any(name in tok for name in BUGS)
    assert encode(["ack-before-fsync"], b"course 2") != encode(["ack-before-fsync"], b"course 1")
    # the length hardly hints: a short name and a long one give tokens of one length
    assert len(encode(["ack-before-fsync"], b"x")) == len(encode(["election-ignores-zxid"], b"x"))


@pytest.mark.parametrize("bad", ["mystery:", "mystery:abc", "mystery:!!", "flip"])
def test_a_mistyped_token_is_one_error(bad: str) -> None:
    tok = encode(["ack-before-fsync"], b"n")
    if bad == "flip":  # one character changed: the check tag catches it
        bad = tok[:-3] + ("a" if tok[-3] != "a" else "b") + tok[-2:]
    with pytest.raises(UserError, match="not a valid mystery token"):
        SimConfig(bugs=(bad,))


def test_the_cli_takes_a_token_and_the_saved_trace_names_no_bug(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tok = encode(["commit-without-quorum"], b"lab")
    out = tmp_path / "t.json"
    args = ["--search", "dfs", "--bug", tok, "--max-depth", "70", "--max-restarts", "2"]
    assert main([*args, "--save-trace", str(out)]) == 1
    text = out.read_text()
    assert tok in text and not any(name in text for name in BUGS)
    assert not any(name in capsys.readouterr().out for name in BUGS)
    assert json.loads(text)["bugs"] == [tok]
    assert main(["--replay", str(out)]) == 1
    assert main(["--replay", str(out), "--without-bugs"]) == 0
    printed = capsys.readouterr().out
    assert "VIOLATION" in printed and "clean replica): ok" in printed
    tf = load_trace(out)
    _, named = replay(SimConfig(bugs=("commit-without-quorum",)), tf.steps, safety_only=True)
    assert named.violations  # the token is the bug


def test_without_bugs_needs_a_replay_and_a_bad_token_exits_255(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--seed", "1", "--without-bugs"]) == 255
    assert main(["--seed", "1", "--bug", "mystery:zzzz"]) == 255
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(e.startswith("zablab: error: ") for e in err)
