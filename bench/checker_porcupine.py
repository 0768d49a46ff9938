"""zablab's linearizability checker against porcupine's, both measured in the same run.

    python bench/checker_porcupine.py [--porcupine DIR] [--repeat N] [--jobs N] [--baseline]

Times, on porcupine's corpus (all etcd histories; kv c50-ok and c50-bad):
- zablab's search in this process (wall and CPU; the prepared histories are parsed first);
- the command line, `zablab check <files> ...`, as a user runs it (start-up, parsing, worker
  processes, results.json and failure views included);
- with a porcupine checkout (`--porcupine DIR` or PORCUPINE_DIR; Go from Debian's golang-go),
  porcupine's own `go test -run TestEtcdJepsen` (and its c50 kv tests) in the same run: the
  wall time of the `go test` command (compiled once beforehand, so the build cache is warm)
  and the time the test binary reports. The ratios are zablab's CLI wall time over `go test`'s
  wall time, and zablab's in-process search over the test binary's time. Without a checkout no
  ratio is printed: a ratio against a number written into this script would measure nothing.
Each figure is the best of --repeat runs, because other work on the machine only adds time.
Also printed: start-up of `zablab --version` and of `zablab check` on a two-op history, and the
peak memory of the in-process search.

The corpus is $ZABLAB_CORPORA/porcupine (default ../shared/corpora/porcupine beside the
repository), else the checkout's test_data.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zablab.checkers.linearizable import check_linearizable, pair_ops
from zablab.checkers.models import KV, CasRegister
from zablab.history.formats import read_etcd_log, read_kv_log

REPO = Path(__file__).resolve().parents[1]
KV_CASES = {"kv/c50-ok": "^TestKv50ClientsOk$", "kv/c50-bad": "^TestKv50ClientsBad$"}


def corpus(porcupine: Path | None) -> tuple[Path, Path, dict[str, bool]]:
    """(etcd directory, kv directory, expected verdicts by 'etcd/<name>' / 'kv/<name>')."""
    base = os.environ.get("ZABLAB_CORPORA")
    root = (Path(base) if base else REPO.parent / "shared" / "corpora") / "porcupine"
    if (root / "expected.json").is_file():
        expected = json.loads((root / "expected.json").read_text())["linearizable"]
        return root / "etcd", root / "kv", expected
    if porcupine is None:
        sys.exit(f"porcupine corpus not found at {root}: set ZABLAB_CORPORA or give --porcupine")
    data = porcupine / "test_data"
    expected = _expected_from_go_tests(porcupine / "porcupine_test.go")
    return data / "jepsen", data / "kv", expected


def _expected_from_go_tests(test_go: Path) -> dict[str, bool]:
    text = test_go.read_text()
    out = {
        f"etcd/etcd_{int(n):03d}.log": ok == "true"
        for n, ok in re.findall(r"checkJepsen\(t, (\d+), (true|false)\)", text)
    }
    out.update(
        {
            f"kv/{name}.txt": ok == "true"
            for name, ok in re.findall(r'checkKv\(t, "([\w-]+)", (true|false), true\)', text)
        }
    )
    return out


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Best wall-clock and best CPU seconds of `repeat` runs, and the last result."""
    wall, cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        gc.collect()
        t, c = time.perf_counter(), time.process_time()
        result = fn()
        wall = min(wall, time.perf_counter() - t)
        cpu = min(cpu, time.process_time() - c)
    return wall, cpu, result


def zablab_cli() -> list[str]:
    exe = shutil.which("zablab", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "zablab"]


def timed(cmd: list[str], **kw: Any) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Wall and CPU seconds (user + system, of the command and everything it waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, p


def run_cli(args: list[str], out: str | None = None) -> tuple[float, float, int, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    wall, cpu, p = timed([*zablab_cli(), *args, *(["--out", out] if out else [])], env=env)
    return wall, cpu, p.returncode, p.stdout + p.stderr


def go_test(checkout: Path, pattern: str) -> tuple[float, float, float]:
    """(wall and CPU seconds of `go test`, seconds its test binary reports)."""
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOPROXY": "off"}
    wall, cpu, p = timed(["go", "test", "-count=1", "-run", pattern, "."], cwd=checkout, env=env)
    if p.returncode != 0:
        sys.exit(f"porcupine's go test failed in {checkout}:\n{p.stdout}{p.stderr}")
    m = re.search(r"^ok\s+\S+\s+([\d.]+)s", p.stdout, re.M)
    return wall, cpu, float(m.group(1)) if m else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--porcupine",
        type=Path,
        default=os.environ.get("PORCUPINE_DIR") or None,
        help="a porcupine checkout (default $PORCUPINE_DIR); without it, no ratio",
    )
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=None, help="zablab check --jobs (default: cores)")
    ap.add_argument("--baseline", action="store_true", help="also time the unpruned search")
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args()
    checkout: Path | None = args.porcupine
    if checkout is not None:
        if not (checkout / "porcupine_test.go").is_file():
            sys.exit(f"{checkout}: not a porcupine checkout (no porcupine_test.go)")
        if shutil.which("go") is None:
            sys.exit("go not found: install Debian's golang-go (apt-get install golang-go)")
    etcd_dir, kv_dir, expected = corpus(checkout)
    etcd = sorted(p for p in etcd_dir.glob("*.log") if f"etcd/{p.name}" in expected)
    wrong: list[str] = []

    # zablab, in process: the search alone, on histories parsed beforehand
    parsed = {f"etcd/{p.name}": pair_ops(read_etcd_log(p)) for p in etcd}
    for case in KV_CASES:
        parsed[case + ".txt"] = pair_ops(read_kv_log(kv_dir / (case[3:] + ".txt")))

    def search(names: list[str], prune: bool = True) -> None:
        for n in names:
            model = CasRegister() if n.startswith("etcd/") else KV()
            r = check_linearizable(parsed[n], model, timeout=args.timeout, prune=prune)
            want = expected[n]
            if prune and r.valid is not want and not (not parsed[n] and r.valid == "unknown"):
                wrong.append(f"{n}: got {r.valid}, expected {want}")

    etcd_names = [f"etcd/{p.name}" for p in etcd]
    rows: dict[str, dict[str, float]] = {}
    w, c, _ = best(lambda: search(etcd_names), args.repeat)
    rows[f"etcd ({len(etcd)} histories)"] = {"search": w, "search_cpu": c}
    for case in KV_CASES:
        w, c, _ = best(lambda case=case: search([case + ".txt"]), args.repeat)
        rows[case] = {"search": w, "search_cpu": c}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # zablab, the command line as a user runs it
    jobs = ["--jobs", str(args.jobs)] if args.jobs else []
    with tempfile.TemporaryDirectory() as tmp:
        cli_cases = {
            f"etcd ({len(etcd)} histories)": [
                "check",
                *map(str, etcd),
                "--format",
                "etcd-log",
                "--model",
                "cas-register",
                *jobs,
            ],
            **{
                case: [
                    "check",
                    str(kv_dir / (case[3:] + ".txt")),
                    "--format",
                    "kv-log",
                    "--model",
                    "kv",
                ]
                for case in KV_CASES
            },
        }
        for name, cli_args in cli_cases.items():
            walls, cpus = [], []
            for _ in range(args.repeat):
                t, c, code, text = run_cli(cli_args, tmp)
                walls.append(t)
                cpus.append(c)
                if code not in (0, 1):
                    wrong.append(f"zablab check for {name} exited {code}: {text.strip()[-300:]}")
            rows[name]["cli"] = min(walls)
            rows[name]["cli_cpu"] = min(cpus)
        two = Path(tmp) / "two.jsonl"
        two.write_text(
            '{"type":"invoke","process":0,"f":"write","value":1,"time":0}\n'
            '{"type":"ok","process":0,"f":"write","value":1,"time":1}\n'
        )
        startup = {
            "zablab --version": min(run_cli(["--version"])[0] for _ in range(7)),
            "zablab check (two ops)": min(
                run_cli(["check", str(two), "--model", "register", "--out", tmp])[0]
                for _ in range(7)
            ),
        }

    # porcupine, in the same run
    if checkout is not None:
        go_test(checkout, "^$")  # compile once: the timed runs use the warm build cache
        patterns = {f"etcd ({len(etcd)} histories)": "TestEtcdJepsen", **KV_CASES}
        for name, pattern in patterns.items():
            runs = [go_test(checkout, pattern) for _ in range(args.repeat)]
            rows[name]["go_test"] = min(r[0] for r in runs)
            rows[name]["go_cpu"] = min(r[1] for r in runs)
            rows[name]["go_binary"] = min(r[2] for r in runs)

    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs (wall times suffer under load)")
    head = f"{'history':<22} {'search s':>9} {'cpu s':>6} {'CLI s':>6} {'cpu s':>6}"
    if checkout is not None:
        head += f" {'go test s':>9} {'cpu s':>6} {'go bin s':>8}"
        head += f" {'CLI/go test':>11} {'cpu ratio':>9} {'search/go bin':>13}"
    print(head)
    for name, r in rows.items():
        line = (
            f"{name:<22} {r['search']:9.3f} {r['search_cpu']:6.3f} {r['cli']:6.3f}"
            f" {r['cli_cpu']:6.3f}"
        )
        if checkout is not None:
            line += (
                f" {r['go_test']:9.3f} {r['go_cpu']:6.3f} {r['go_binary']:8.3f}"
                f" {r['cli'] / r['go_test']:11.2f} {r['cli_cpu'] / r['go_cpu']:9.2f}"
                f" {r['search'] / r['go_binary']:13.2f}"
            )
        print(line)
    if checkout is None:
        print("no porcupine checkout (--porcupine DIR or PORCUPINE_DIR): no ratio printed")
    for name, t in startup.items():
        print(f"start-up: {name}: {t:.3f} s (target 0.2 s)")
    if args.baseline:
        w, _, _ = best(lambda: search(etcd_names, prune=False), 1)
        speedup = w / rows[f"etcd ({len(etcd)} histories)"]["search"]
        print(f"etcd without crashed-op pruning: {w:.3f} s; pruning speed-up {speedup:.1f}x")
    print(f"peak memory of the in-process search: {peak:.0f} MB")
    if wrong:
        print("WRONG VERDICTS:\n  " + "\n  ".join(wrong))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
