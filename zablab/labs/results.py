"""Gradescope's results.json (gradescope-autograders.readthedocs.io, "specs"), built from the
outcomes of a grading run; results.schema.json next to this file holds the fields we write."""

from __future__ import annotations

import json
from pathlib import Path

from .engine import Lab
from .grader import Planned, describe
from .runner import Outcome

SCHEMA = Path(__file__).with_name("results.schema.json")


def gradescope_results(
    lab: Lab,
    directory: Path,
    results: list[tuple[Planned, Outcome]],
    seconds: float,
) -> dict[str, object]:
    tests: list[dict[str, object]] = []
    scores: list[tuple[float, float]] = []
    part_index = {p.name: i for i, p in enumerate(lab.parts, 1)}
    counters: dict[str, int] = {}
    for planned, outcome in results:
        t = planned.test
        counters[t.part] = counters.get(t.part, 0) + 1
        score = planned.points if outcome.passed else 0.0
        scores.append((score, planned.points))
        out = "passed" if outcome.passed else describe(lab, directory, outcome)
        if outcome.passed and t.seeds > 1:
            out += f" ({outcome.cases} seeded cases)"
        tests.append(
            {
                "name": planned.name,
                "number": f"{part_index[t.part]}.{counters[t.part]}",
                "score": score,
                "max_score": planned.points,
                "status": "passed" if outcome.passed else "failed",
                "output": out,
                "tags": [t.part, *t.tags],
                "visibility": "after_due_date" if planned.hidden else "visible",
            }
        )
    total = sum(s for s, _ in scores)
    top = sum(m for _, m in scores)
    failed = [str(x["name"]) for x in tests if x["status"] == "failed" and x["visibility"] == "visible"]
    summary = f"{lab.title}: {total:g} of {top:g} points."
    if failed:
        summary += " Failing visible tests: " + ", ".join(failed) + "."
    return {
        "score": total,
        "execution_time": round(seconds, 3),
        "output": summary,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def write_results(path: Path, results: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
