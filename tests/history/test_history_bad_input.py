"""Bad input of every kind: one line naming the file (and line) and what to do, exit 255.

Never a traceback, and never exit 1, which means INVALID.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from zablab.cli import main
from zablab.errors import UserError
from zablab.history.formats import load_history

GOOD = b'{"type":"invoke","process":0,"f":"write","value":1,"time":0}\n'
GOOD2 = b'{"type":"ok","process":0,"f":"write","value":1,"time":1}\n'

# name -> (file name, content (None: make a directory, missing: nothing), --format, message)
CASES: dict[str, tuple[str, bytes | None | str, str | None, str]] = {
    "random-bytes": ("h.jsonl", os.urandom(4096) + b"\0", None, "a binary file, not a history"),
    "random-bytes-edn": ("h.edn", b"\x8f\x00\xff" * 300, None, "a binary file"),
    "random-bytes-etcd": ("h.log", b"\x00\x01jepsen.util" * 50, "etcd-log", "a binary file"),
    "latin-1": (
        "h.jsonl",
        GOOD + '{"type":"ok","process":0,"f":"wr\xe9te"}\n'.encode("latin-1"),
        None,
        ":2: not UTF-8 text (byte 0xe9",
    ),
    "latin-1-kv": (
        "h.txt",
        '{:process 0, :type :invoke, :f :put, :key "\xe9", :value nil}\n'.encode("latin-1"),
        "kv-log",
        ":1: not UTF-8 text",
    ),
    "truncated-last-line": (
        "h.jsonl",
        GOOD + b'{"type":"ok","proc',
        None,
        ":2: the last line is cut short",
    ),
    "bad-json-line": ("h.jsonl", GOOD + b"{nope}\n" + GOOD2, None, ":2: not valid JSON"),
    "not-an-object": ("h.jsonl", b"[1, 2]\n", None, ":1: expected a JSON object per line"),
    "missing-field": ("h.jsonl", b'{"type":"ok","process":0}\n', None, ":1: missing field 'f'"),
    "bad-type": (
        "h.jsonl",
        b'{"type":"done","process":0,"f":"w"}\n',
        None,
        ":1: type must be one of",
    ),
    "bad-time": (
        "h.jsonl",
        b'{"type":"ok","process":0,"f":"w","time":"noon"}\n',
        None,
        ":1: time must be a number",
    ),
    "bad-f": ("h.jsonl", b'{"type":"ok","process":0,"f":7}\n', None, ":1: f must be the op's name"),
    "orphan-completion": ("h.jsonl", GOOD2, None, "has no matching invoke"),
    "bad-value": (
        "h.jsonl",
        GOOD.replace(b'"write","value":1', b'"cas","value":1')
        + GOOD2.replace(b'"write","value":1', b'"cas","value":1'),
        None,
        "cas needs a value [a b]",
    ),
    "edn-unterminated": ("h.edn", b"{:type :invoke, :f :read\n", None, "unterminated map"),
    "etcd-wrong-lines": ("h.log", b"hello\nworld\n", "etcd-log", "no Jepsen op lines"),
    "directory": ("d.jsonl", None, None, "a directory with no history files"),
    "missing": ("gone.jsonl", "missing", None, "no such file"),
    "no-format": ("h.bin", GOOD, None, "cannot tell the history format"),
    "a-trace": (
        "t.jsonl",
        b'{"node": 1, "event": "restart", "pos": 0}\n',
        None,
        ":1: a ZAB trace event, not an op; use --checker zab",
    ),
}


def make(tmp_path: Path, name: str, content: bytes | None | str) -> Path:
    p = tmp_path / name
    if content is None:
        p.mkdir()
    elif isinstance(content, bytes):
        p.write_bytes(content)
    return p


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line_and_exit_255(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name, content, fmt, message = CASES[case]
    p = make(tmp_path, name, content)
    args = ["check", str(p), "--model", "cas-register", "--out", str(tmp_path / "out")]
    if fmt:
        args += ["--format", fmt]
    assert main(args) == 255
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1, captured.err
    assert err[0].startswith(f"zablab: error: {p}"), err[0]
    assert message in err[0], err[0]
    assert "Traceback" not in captured.err + captured.out


@pytest.mark.parametrize("case", ["random-bytes", "latin-1", "truncated-last-line", "directory"])
def test_readers_raise_user_errors(case: str, tmp_path: Path) -> None:
    name, content, fmt, message = CASES[case]
    if case == "directory":
        message = "a directory, where a history file is expected"
    with pytest.raises(UserError, match="^" + str(tmp_path)) as err:
        load_history(make(tmp_path, name, content), fmt)
    assert message in str(err.value)


def test_a_bad_file_among_good_ones_is_reported_and_the_rest_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.jsonl").write_bytes(GOOD + GOOD2)
    (tmp_path / "b.jsonl").write_bytes(os.urandom(512) + b"\0")
    (tmp_path / "c.jsonl").write_bytes(GOOD + GOOD2)
    args = ["check", str(tmp_path), "--model", "register", "--json", "--out", str(tmp_path / "o")]
    assert main(args) == 255
    doc = json.loads(capsys.readouterr().out)
    verdicts = {Path(o["file"]).name: o["verdict"] for o in doc["histories"]}
    assert verdicts == {"a.jsonl": "valid", "b.jsonl": "error", "c.jsonl": "valid"}
    bad = next(o for o in doc["histories"] if o["verdict"] == "error")
    assert "a binary file" in bad["reason"]


def test_a_zab_trace_with_bad_bytes_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path / "traces"
    d.mkdir()
    (d / "n1.jsonl").write_bytes(b'{"node": 1, "event": "restart"}\n\xff\xfe\n')
    assert main(["check", str(d), "--checker", "zab", "--out", str(tmp_path / "o")]) == 255
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "n1.jsonl:2: not UTF-8 text" in err
