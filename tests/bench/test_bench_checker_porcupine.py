"""bench/checker_porcupine.py measures porcupine in the same run, or prints no ratio at all."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"

FAKE_PORCUPINE_TEST = """package fake

import (
	"testing"
	"time"
)

func TestEtcdJepsen000(t *testing.T) { time.Sleep(300 * time.Millisecond) }
func TestKv50ClientsOk(t *testing.T)  { time.Sleep(200 * time.Millisecond) }
func TestKv50ClientsBad(t *testing.T) { time.Sleep(200 * time.Millisecond) }
"""


def mini_corpus(root: Path) -> Path:
    """A corpus shaped like porcupine's: etcd logs, kv c50 logs and expected.json."""
    c = root / "porcupine"
    (c / "etcd").mkdir(parents=True)
    (c / "kv").mkdir()
    shutil.copy(EXAMPLES / "etcd-sample.log", c / "etcd" / "etcd_000.log")
    shutil.copy(EXAMPLES / "kv-sample.txt", c / "kv" / "c50-ok.txt")
    bad = (EXAMPLES / "kv-sample.txt").read_text().replace(':value "xy"', ':value "yx"')
    (c / "kv" / "c50-bad.txt").write_text(bad)
    expected = {"etcd/etcd_000.log": True, "kv/c50-ok.txt": True, "kv/c50-bad.txt": False}
    (c / "expected.json").write_text(json.dumps({"linearizable": expected}))
    return root


def run_bench(tmp_path: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PORCUPINE_DIR"}
    env.update(ZABLAB_CORPORA=str(mini_corpus(tmp_path / "corpora")), PYTHONPATH=str(REPO))
    env.setdefault("GOCACHE", str(tmp_path / "gocache"))
    p = subprocess.run(
        [sys.executable, str(REPO / "bench" / "checker_porcupine.py"), "--repeat", "1", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def test_without_a_porcupine_checkout_no_ratio_is_printed(tmp_path: Path) -> None:
    out = run_bench(tmp_path)
    assert "no porcupine checkout (--porcupine DIR or PORCUPINE_DIR): no ratio printed" in out
    assert "go test" not in out and "ratio" not in out.split("no ratio")[0]
    assert "start-up: zablab --version" in out


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("go") is None, reason="needs go (Debian's golang-go)")
def test_with_a_checkout_porcupines_go_test_runs_in_the_same_run(tmp_path: Path) -> None:
    checkout = tmp_path / "porcupine"
    checkout.mkdir()
    (checkout / "go.mod").write_text("module example.com/fake\n\ngo 1.16\n")
    (checkout / "porcupine_test.go").write_text(FAKE_PORCUPINE_TEST)
    out = run_bench(tmp_path, "--porcupine", str(checkout))
    assert "CLI/go test" in out and "no ratio" not in out
    rows = {
        line.split("  ")[0].strip(): line.split()
        for line in out.splitlines()
        if line.startswith(("etcd (", "kv/c50"))
    }
    etcd = rows["etcd (1 histories)"]
    # the go test's own time is the fake test's sleep, measured now, not a constant
    assert float(etcd[-4]) >= 0.3
    ratio = float(etcd[-3])
    go_wall, cli_wall = float(etcd[-6]), float(etcd[-8])  # columns: ... CLI s, cpu s, go test s
    assert ratio == pytest.approx(cli_wall / go_wall, abs=0.02)
