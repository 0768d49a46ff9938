"""report.html is self-contained, shows each verdict, and renders in headless Chromium."""

from __future__ import annotations

import random
import subprocess
from dataclasses import asdict

import pytest

from tests.harness.conftest import CHROMIUM
from zablab.harness import store
from zablab.harness.report import write_report
from zablab.harness.runner import check_run
from zablab.harness.workloads import get_workload
from zablab.history.jsonl import HistoryWriter, Op


def fake_run(tmp_path, lose_write: bool):
    run = store.new_run_dir(tmp_path / "store", "fake")
    store.write_json(
        run / "test.json",
        {
            "name": "fake",
            "seed": 1,
            "options": {
                "db": "zookeeper",
                "backend": "local",
                "nodes": 3,
                "workload": "register",
                "nemesis": "partition",
            },
        },
    )
    (run / "nodes" / "n1").mkdir(parents=True)
    (run / "nodes" / "n1" / "zookeeper.log").write_text("log\n")
    w = HistoryWriter.open(run / "history.jsonl")
    ops = []
    t = 0
    value = None

    def add(typ, p, f, v, **extra):
        nonlocal t
        t += 1_000_000
        ops.append(w.append(Op(0, t, typ, p, f, v, extra)))

    rng = random.Random(3)
    for i in range(60):
        if i == 20:
            add("invoke", "nemesis", "start-partition", None)
            add("info", "nemesis", "start-partition", {"n1": ["n2", "n3"]})
        if i == 40:
            add("invoke", "nemesis", "stop-partition", None)
            add("info", "nemesis", "stop-partition", "healed")
        v = rng.randrange(5)
        add("invoke", i % 3, "write", v)
        add("ok", i % 3, "write", v, zxid=i + 1)
        if not (lose_write and i == 59):
            value = v
    add("invoke", 9, "sync-read", None, final=True)
    add("ok", 9, "sync-read", value if not lose_write else 99, zxid=60, final=True, sync=True)
    w.close()
    check_run(run, ops, get_workload("register", random.Random(0)), "zookeeper")
    return write_report(run)


def test_report_shows_verdicts_plots_and_links(tmp_path):
    html = fake_run(tmp_path, lose_write=False).read_text()
    assert "valid" in html and "INVALID" not in html
    assert "data:image/png;base64," in html
    assert 'href="nodes/n1/zookeeper.log"' in html
    assert "start-partition" in html
    assert "http://" not in html.replace("http://www.w3.org", "")  # nothing fetched from the net


def test_invalid_report_embeds_the_failure_view(tmp_path):
    html = fake_run(tmp_path, lose_write=True).read_text()
    assert "INVALID" in html and "Linearizability failure" in html


@pytest.mark.skipif(not CHROMIUM, reason="chromium not installed")
def test_report_renders_in_headless_chromium(tmp_path):
    report = fake_run(tmp_path, lose_write=True)
    shot = tmp_path / "shot.png"
    p = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            f"--screenshot={shot}",
            "--window-size=1200,2000",
            report.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.exists() and shot.stat().st_size > 20_000, p.stderr[-2000:]
    console_errors = [
        line for line in p.stderr.splitlines() if "CONSOLE" in line and "Uncaught" in line
    ]
    assert not console_errors, console_errors
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", report.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "INVALID" in dom


def test_the_repeat_command_carries_every_option_that_shapes_the_run():
    from zablab.harness.report import repeat_command
    from zablab.harness.runner import TestOptions

    o = asdict(
        TestOptions(
            nemesis="partition,kill",
            rate=50.0,
            client_procs=3,
            db_args="--bug commit-without-quorum",
        )
    )
    cmd = repeat_command(o, 42)
    assert "--rate 50.0 --client-procs 3 --db-args '--bug commit-without-quorum'" in cmd
    assert "--nemesis partition,kill --nemesis-interval 5.0" in cmd
    assert cmd.endswith("--seed 42") and "--client-bug" not in cmd
