"""The failure view renders the op that cannot be linearized, in a real headless Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from zablab.checkers.failure_view import render_failure_view, write_failure_view
from zablab.checkers.linearizable import check_linearizable
from zablab.checkers.models import CasRegister
from zablab.checkers.spec import Operation

CHROMIUM = (
    shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
)


def invalid_result():
    h = [
        Operation(0, 0, "write", 1, 1, "ok", 0, 2, invoke_index=0, complete_index=2),
        Operation(1, 1, "cas", [1, 2], None, "ok", 1, 3, invoke_index=1, complete_index=3),
        Operation(2, 2, "write", 3, None, "info", 4, None, invoke_index=4),
        Operation(
            3, "worker</script>", "read", None, 1, "ok", 5, 6, invoke_index=5, complete_index=6
        ),
    ]
    r = check_linearizable(h, CasRegister())
    assert r.valid is False
    return r


def test_page_is_self_contained_and_drawn_by_script() -> None:
    page = render_failure_view(invalid_result(), "demo")
    assert "http://" not in page.replace('"http://www.w3.org/2000/svg"', "")
    assert "https://" not in page
    assert "<link" not in page and "src=" not in page
    # the failing op's element is made by the script, not present in the static file
    assert 'data-failing="true"' not in page
    assert "worker<\\/script>" in page  # data cannot close the script element


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_chromium_renders_the_failing_op(tmp_path: Path) -> None:
    result = invalid_result()
    failing = result.details["op"]["id"]
    assert failing == 3
    page = write_failure_view(result, tmp_path / "view" / "failure.html", "demo")
    profile = tmp_path / "profile"
    proc = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={profile}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    dom = proc.stdout
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f'id="op-{failing}"' in dom
    tag = dom[dom.index(f'id="op-{failing}"') - 200 : dom.index(f'id="op-{failing}"') + 200]
    assert 'data-failing="true"' in tag
    assert dom.count('data-failing="true"') == 1
    assert dom.count('class="point"') == len(result.details["longest"][0]["ops"])
    assert "read -&gt; 1" in dom or "read -> 1" in dom


INVALID = {
    "register": [("write", 1, None), ("read", None, 2)],
    "cas-register": [("cas", [None, 1], None), ("read", None, 2)],
    "zk-register": [("cas", [None, 1], None), ("sync-read", None, 2)],
    "kv": [("put", ["k", "x"], None), ("get", ["k", None], ["k", "y"])],
    "set": [("add", 1, None), ("read", None, [1, 2])],  # 2 was never added
    "fifo-queue": [("enqueue", 1, None), ("dequeue", None, 2)],
    "unordered-queue": [("enqueue", 1, None), ("dequeue", None, 2)],
    "mutex": [("acquire", None, None), ("acquire", None, None)],
}


@pytest.mark.parametrize("model", sorted(INVALID))
def test_every_model_describes_its_failure(model: str) -> None:
    from zablab.checkers.models import MODELS, get_model

    assert set(INVALID) == set(MODELS)
    h = [
        Operation(
            i,
            i,
            f,
            v,
            out,
            "ok",
            2 * i,
            2 * i + 1,
            invoke_index=2 * i,
            complete_index=2 * i + 1,
            final=True,
        )
        for i, (f, v, out) in enumerate(INVALID[model])
    ]
    r = check_linearizable(h, get_model(model))
    assert r.valid is False
    assert r.details["op"]["id"] == 1
    states = [o["state"] for o in r.details["longest"][0]["ops"]]
    assert len(states) == 1 and all(isinstance(s, str) and s for s in states)
    page = render_failure_view(r)
    blob = page.split('<script id="data" type="application/json">', 1)[1].split("</script>", 1)[0]
    data = json.loads(blob)
    assert data["op"]["describe"] == r.details["op"]["describe"]
    assert data["longest"] == r.details["longest"]
