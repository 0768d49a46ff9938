"""`zablab lab`: list labs, start a workspace, run the visible tests, grade, build an autograder."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from zablab.errors import UserError

if TYPE_CHECKING:
    from .engine import Lab

app = typer.Typer(
    name="lab",
    help="Graded labs: `zablab lab list`, `zablab lab start znode w`, `zablab lab test znode --dir w`.",
    no_args_is_help=True,
)


@app.command("list")
def list_labs(as_json: Annotated[bool, typer.Option("--json", help="Machine-readable.")] = False) -> None:
    """The labs, their parts, points and the files a student edits."""
    from .registry import get_lab, lab_names

    labs = [get_lab(n) for n in lab_names()]
    if as_json:
        out = [
            {
                "name": lab.name,
                "title": lab.title,
                "student_files": list(lab.student_files),
                "points": lab.max_points,
                "given_points": lab.given_points,
                "parts": [
                    {
                        "name": p.name,
                        "title": p.title,
                        "points": _points(lab, p.name)[0],
                        "hidden_points": _points(lab, p.name)[1],
                        "tests": [t.name for t in lab.tests if t.part == p.name and not t.hidden],
                    }
                    for p in lab.parts
                ],
            }
            for lab in labs
        ]
        print(json.dumps(out, indent=2))
        return
    for lab in labs:
        print(f"{lab.name}: {lab.title} ({lab.max_points:g} points; you edit "
              f"{', '.join(lab.student_files)})")
        for p in lab.parts:
            shown, hidden = _points(lab, p.name)
            n = sum(1 for t in lab.tests if t.part == p.name and not t.hidden)
            print(f"  {p.name:<12} {p.title} ({n} visible tests, {shown:g} points"
                  + (f", hidden tests {hidden:g} more)" if hidden else ")"))


@app.command("start")
def start(
    lab_name: Annotated[str, typer.Argument(metavar="LAB")],
    directory: Annotated[Path, typer.Argument(metavar="DIR")],
    solution: Annotated[bool, typer.Option("--solution", help="The reference solution, not the starter.")] = False,
) -> None:
    """Make a workspace: the handout (README.md), the starter files, the visible tests."""
    from .registry import get_lab
    from .workspace import start_workspace

    lab = get_lab(lab_name)
    files = start_workspace(lab, directory, solution)
    print(f"wrote {len(files)} files to {directory}: " + ", ".join(f.name for f in files))
    print(f"read {directory / 'README.md'}, then: zablab lab test {lab.name} --dir {directory}")


@app.command("test")
def test(
    lab_name: Annotated[str, typer.Argument(metavar="LAB")],
    directory: Annotated[Path, typer.Option("--dir", help="Your workspace.")] = Path("."),
    part: Annotated[str | None, typer.Option("--part", help="Only this part's tests.")] = None,
    case: Annotated[str | None, typer.Option("--case", help="Only this test (the replay command names it).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="With --case: only this seed.")] = None,
) -> None:
    """Run the visible tests with progress; exit 0 only if all pass."""
    from .grader import describe, plan_visible, run_plan
    from .registry import get_lab

    lab = get_lab(lab_name)
    _need_dir(directory)
    plan = plan_visible(lab, part, case, seed)
    width = max(len(p.name) for p in plan)
    print(f"zablab lab test {lab.name}: {len(plan)} tests on {directory}", flush=True)

    def progress(i: int, n: int, p, outcome) -> None:  # type: ignore[no-untyped-def]
        verdict = "ok" if outcome.passed else "FAILED"
        print(f"[{i:>{len(str(n))}}/{n}] {p.name:<{width}}  {verdict}  {outcome.seconds:.1f}s",
              flush=True)
        if not outcome.passed:
            for line in describe(lab, directory, outcome).splitlines():
                print(f"      {line}")

    results = run_plan(lab, directory, plan, progress)
    passed = sum(1 for _, o in results if o.passed)
    points = sum(p.points for p, o in results if o.passed)
    total = sum(p.points for p, _ in results)
    print(f"{passed} of {len(results)} tests passed: {points:g} of {total:g} points")
    raise typer.Exit(0 if passed == len(results) else 1)


@app.command("grade")
def grade(
    lab_name: Annotated[str, typer.Argument(metavar="LAB")],
    submission: Annotated[Path, typer.Option("--submission", help="The student's files.")],
    results_file: Annotated[Path, typer.Option("--results", help="Where to write results.json.")],
    secret: Annotated[str | None, typer.Option("--secret", help="Course secret for the hidden seeds "
                               "(default: $ZABLAB_LAB_SECRET).")] = None,
) -> None:
    """Visible and hidden tests -> Gradescope results.json."""
    from .grader import plan_grade, run_plan, secret_from
    from .registry import get_lab
    from .results import gradescope_results, write_results

    lab = get_lab(lab_name)
    _need_dir(submission)
    plan = plan_grade(lab, secret_from(secret))
    t0 = time.monotonic()

    def progress(i: int, n: int, p, outcome) -> None:  # type: ignore[no-untyped-def]
        print(f"[{i}/{n}] {p.name}: {'passed' if outcome.passed else 'failed'} "
              f"({outcome.seconds:.1f}s)", flush=True)

    results = run_plan(lab, submission, plan, progress)
    doc = gradescope_results(lab, submission, results, time.monotonic() - t0)
    write_results(results_file, doc)
    print(f"{doc['output']} Wrote {results_file}.")


@app.command("autograder")
def autograder(
    lab_name: Annotated[str, typer.Argument(metavar="LAB")],
    out: Annotated[Path, typer.Option("--out", help="The zip to write (upload it to Gradescope).")],
    secret: Annotated[str | None, typer.Option("--secret", help="Secret for the hidden seeds "
                               "(default: $ZABLAB_LAB_SECRET, else a new random one).")] = None,
) -> None:
    """Build a Gradescope autograder zip (setup.sh, run_autograder, zablab)."""
    import os

    from .autograder import build_autograder
    from .grader import SECRET_ENV
    from .registry import get_lab

    lab = get_lab(lab_name)
    used = build_autograder(lab, out, secret or os.environ.get(SECRET_ENV) or None)
    print(f"wrote {out}; its hidden seeds come from the secret {used} "
          f"(regrade locally with --secret {used})")
    if lab.notice is not None:
        print(f"hand this to the students (it depends on the secret):\n{lab.notice(used)}")


@app.command("serve")
def serve(
    lab_name: Annotated[str, typer.Argument(metavar="LAB")],
    directory: Annotated[Path, typer.Option("--dir", help="Your workspace.")] = Path("."),
    port: Annotated[int, typer.Option("--port", help="Client port (0: any free port).")] = 2181,
) -> None:
    """Run your code as a server that real clients (kazoo, zkCli) can use."""
    from .registry import get_lab

    lab = get_lab(lab_name)
    if lab.serve is None:
        raise UserError(f"lab {lab.name} has nothing to serve.")
    _need_dir(directory)
    lab.serve(directory, port)


def _points(lab: Lab, part: str) -> tuple[float, float]:
    """(points of the visible tests, points graded in hidden runs) of one part."""
    tests = [t for t in lab.tests if t.part == part]
    shown = sum(t.points for t in tests if not t.hidden)
    return shown, sum(t.points if t.hidden else t.hidden_points for t in tests)


def _need_dir(directory: Path) -> None:
    if not directory.is_dir():
        raise UserError(f"{directory} is not a directory; `zablab lab start LAB DIR` makes one.")


def register(root: typer.Typer) -> None:
    """`zablab lab ...` under the root command (cli.py registers only what is invoked)."""
    root.add_typer(app, name="lab")
