"""Each lab's handout has the sections a student needs, states the given points and the size of
our solution truthfully, and every command in its shell blocks runs as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.labs.conftest import start_serving, stop, zablab
from zablab.labs.engine import code_lines
from zablab.labs.registry import get_lab, lab_names

SECTIONS = ["Introduction", "The model", "What to build, step by step", "Hints",
            "How grading works", "Our solution"]


def _handout(name: str) -> str:
    return get_lab(name).resource("handout", "README.md").read_text()


def _commands(text: str) -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    return [line.strip() for b in blocks for line in b.splitlines() if line.strip()]


@pytest.mark.parametrize("name", lab_names())
def test_handout_sections_points_and_solution_size(name: str) -> None:
    text = _handout(name)
    headings = re.findall(r"^## (.+)$", text, flags=re.M)
    assert headings == SECTIONS
    lab = get_lab(name)
    assert f"scores **{lab.given_points:g} point" in text
    m = re.search(r"Our solution is about (\d+) lines", text)
    assert m, "the handout must say how long our solution is"
    actual = sum(code_lines(lab.resource("reference", f)) for f in lab.student_files)
    assert abs(int(m.group(1)) - actual) <= 0.15 * actual, f"our solution has {actual} lines"


@pytest.mark.parametrize("name", lab_names())
def test_every_handout_command_runs(tmp_path: Path, name: str) -> None:
    commands = _commands(_handout(name))
    assert commands and all(c.startswith("zablab ") for c in commands)
    for cmd in commands:
        args = shlex.split(cmd)[1:]
        if args[:2] == ["lab", "serve"]:
            _serve_until_ready(args, tmp_path)
            continue
        r = zablab(*args, cwd=tmp_path)
        # the starter fails its tests (1); a usage or harness error (255) would be a bad handout
        assert r.returncode in (0, 1), f"{cmd}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
        assert "Traceback" not in r.stderr, f"{cmd}:\n{r.stderr}"


def _serve_until_ready(args: list[str], cwd: Path) -> None:
    proc, port = start_serving(args, cwd)
    stop(proc)
    assert port > 0
