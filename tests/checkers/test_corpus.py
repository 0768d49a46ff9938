"""Every history of porcupine's corpus gets the verdict in its expected.json (API and CLI).

The corpus lives next to the repository (../shared/corpora/porcupine) or under $ZABLAB_CORPORA;
it is not shipped with zablab, so the test skips when it is absent.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from zablab.checkers.linearizable import check_linearizable
from zablab.checkers.models import KV, CasRegister
from zablab.history.formats import read_etcd_log, read_kv_log

REPO = Path(__file__).resolve().parents[2]


def corpus_dir() -> Path:
    base = os.environ.get("ZABLAB_CORPORA")
    root = Path(base) if base else REPO.parent / "shared" / "corpora"
    return root / "porcupine"


CORPUS = corpus_dir()
EXPECTED: dict[str, bool] = (
    json.loads((CORPUS / "expected.json").read_text())["linearizable"]
    if (CORPUS / "expected.json").is_file()
    else {}
)


@pytest.mark.skipif(not EXPECTED, reason=f"porcupine corpus not found at {CORPUS}")
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_porcupine_corpus_verdict(name: str) -> None:
    path = CORPUS / name
    if name.startswith("etcd/"):
        history, model = read_etcd_log(path), CasRegister()
    else:
        history, model = read_kv_log(path), KV()
    result = check_linearizable(history, model, timeout=60)
    assert result.valid is EXPECTED[name], result.details.get("reason", "")
    if result.valid is False:
        assert "op" in result.details and result.details["longest"]


@pytest.mark.skipif(not EXPECTED, reason=f"porcupine corpus not found at {CORPUS}")
def test_corpus_lists_every_file() -> None:
    on_disk = {
        f"{p.parent.name}/{p.name}"
        for p in CORPUS.glob("*/*")
        if p.is_file() and p.stat().st_size > 0
    }
    assert on_disk <= set(EXPECTED)


@pytest.mark.skipif(not EXPECTED, reason=f"porcupine corpus not found at {CORPUS}")
def test_check_command_decides_the_whole_etcd_corpus(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from zablab.cli import main

    args = ["check", str(CORPUS / "etcd"), "--format", "etcd-log", "--model", "cas-register"]
    assert main([*args, "--json", "--out", str(tmp_path / "j")]) == 1  # some are invalid
    doc = json.loads(capsys.readouterr().out)
    got = {f"etcd/{Path(o['file']).name}": o["verdict"] for o in doc["histories"]}
    want = {n: ("valid" if v else "invalid") for n, v in EXPECTED.items() if n.startswith("etcd/")}
    assert len(want) == 102
    assert {n: got[n] for n in want} == want
    # files not in expected.json are empty: nothing to check, so unknown, never valid
    assert all(v == "unknown" for n, v in got.items() if n not in want)
    invalid = [o for o in doc["histories"] if o["verdict"] == "invalid"]
    assert all(Path(o["failure_view"]).is_file() for o in invalid)
    assert not any("failure_view" in o for o in doc["histories"] if o["verdict"] != "invalid")

    assert main([*args, "--out", str(tmp_path / "t")]) == 1
    out = capsys.readouterr().out.splitlines()
    n_valid = sum(v == "valid" for v in want.values())
    n_unknown = len(got) - len(want)
    n_invalid = len(want) - n_valid
    summary = out[-1]
    assert summary.startswith(f"{len(got)} histories in {CORPUS / 'etcd'}: ")
    assert f"{n_valid} valid, {n_unknown} unknown, {n_invalid} invalid;" in summary
    assert out[0].split() == ["file", "model", "ops", "verdict", "seconds"]
