"""The HTML diagram of a failing trace renders in headless Chromium, highlights the violating
step, and its step control moves forward and back."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from zablab.sim import SimConfig, Simulation
from zablab.sim.__main__ import main
from zablab.sim.diagram import diagram_data
from zablab.sim.shrink import shrink
from zablab.sim.stepper import replay
from zablab.sim.tracefile import TraceFile

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CFG = SimConfig(bugs=("diff-without-trunc",))


@pytest.fixture(scope="module")
def failing_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sim = Simulation(30, CFG)  # the README's demo seed
    sim.record = True
    sim.run()
    done = shrink(CFG, sim.steps, "agreement", time_limit=60)
    assert done is not None
    path = tmp_path_factory.mktemp("diagram") / "t.json"
    TraceFile(CFG, done.steps, "safety", "seed 30").save(path)
    return path


def test_the_data_links_each_delivery_to_its_send_and_marks_the_violation(
    failing_trace: Path,
) -> None:
    from zablab.sim.tracefile import load_trace

    tf = load_trace(failing_trace)
    st, r = replay(tf.config, tf.steps, safety_only=True)
    d = diagram_data(st, r, "t")
    delivers = [s["i"] for s in d["steps"] if s["do"] == "deliver"]
    assert sorted(a["to"] for a in d["arrows"]) == delivers
    assert all(a["from"] < a["to"] for a in d["arrows"])
    assert d["violation"] is not None and d["steps"][d["violation"]]["do"] == "deliver"
    # the prefix before the violating step holds every property
    _, before = replay(tf.config, tf.steps[: d["violation"]], safety_only=True)
    assert not before.violations
    assert any("elected" in n for s in d["steps"] for n in s["notes"])


def dump(page: Path, query: str) -> str:
    assert CHROMIUM
    p = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=3000",
            "--dump-dom",
            page.as_uri() + query,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout


def shown_step(dom: str) -> int:
    m = re.search(r'id="current" data-step="(\d+)"', dom)
    assert m, dom[:2000]
    return int(m.group(1))


@pytest.mark.skipif(not CHROMIUM, reason="chromium not installed")
def test_diagram_renders_highlights_and_steps(
    failing_trace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "run.html"
    assert main(["--replay", str(failing_trace), "--html", str(page)]) == 1
    assert f"diagram: {page}" in capsys.readouterr().out
    text = page.read_text()
    assert not re.search(r'(src|href)="', text) and "fetch(" not in text  # all inline
    dom = dump(page, "")
    m = re.search(r'id="violation" data-step="(\d+)"', dom)
    assert m, "no highlighted violating step"
    violating = int(m.group(1))
    assert shown_step(dom) == violating  # the page opens at the violation
    assert "the violating step" in dom and "VIOLATION" in dom and "agreement" in dom
    assert dom.count('class="arrow"') >= 10 and 'class="crash"' in dom
    assert shown_step(dump(page, "?step=3")) == 3
    forward = dump(page, "?step=3&keys=ArrowRight,ArrowRight,j")
    assert shown_step(forward) == 6 and "<title>step 6 " in forward
    assert shown_step(dump(page, "?step=3&keys=ArrowLeft,k")) == 1
    assert shown_step(dump(page, "?step=3&keys=End,Home")) == 0
    assert shown_step(dump(page, "?step=0&keys=v")) == violating


def test_html_needs_a_replay(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--seed", "1", "--html", "x.html"]) == 255
    assert "--replay" in capsys.readouterr().err
