"""Every history of porcupine's corpus gets the verdict in its expected.json.

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
