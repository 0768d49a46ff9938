"""A student's workspace: the handout, the starter (or reference) files, a copy of the visible
tests to read. Nothing else: the framework stays in the installed package."""

from __future__ import annotations

import shutil
from pathlib import Path

from zablab.errors import UserError

from .engine import Lab

VISIBLE_TESTS_FILE = "visible_tests.py"


def start_workspace(lab: Lab, directory: Path, solution: bool = False) -> list[Path]:
    """Write the workspace; refuses to overwrite a file, so a student's work is never lost."""
    source = lab.resource("reference" if solution else "starter")
    files: list[tuple[Path, Path]] = []
    handout = lab.resource("handout")
    for f in sorted(handout.iterdir()):
        if f.is_file():
            files.append((f, directory / f.name))
    for name in lab.student_files:
        files.append((source / name, directory / name))
    tests = lab.resource(lab.visible_tests_module.replace(".", "/") + ".py")
    files.append((tests, directory / VISIBLE_TESTS_FILE))
    clash = [dst for _, dst in files if dst.exists()]
    if clash:
        raise UserError(
            f"{clash[0]} already exists; start the lab in a new directory (nothing was written)."
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {directory}: {exc.strerror}.") from None
    for src, dst in files:
        shutil.copyfile(src, dst)
    return [dst for _, dst in files]
