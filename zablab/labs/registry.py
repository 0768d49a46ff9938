"""The labs by name. Each entry names the package whose `LAB` attribute is the lab, so
listing labs imports nothing heavy and a lab that fails to import names itself."""

from __future__ import annotations

import importlib

from zablab.errors import UserError

from .engine import Lab

LABS: dict[str, str] = {
    "znode": "zablab.labs.znode",
    "election": "zablab.labs.election",
    "fle": "zablab.labs.fle",
    "bughunt": "zablab.labs.bughunt",
    "paxos": "zablab.labs.paxos",
    "zab": "zablab.labs.zab",
}


def lab_names() -> list[str]:
    return list(LABS)


def get_lab(name: str) -> Lab:
    pkg = LABS.get(name)
    if pkg is None:
        raise UserError(f"no lab named {name!r}; the labs are: {', '.join(LABS)}.")
    lab = importlib.import_module(pkg).LAB
    if not isinstance(lab, Lab):
        raise UserError(f"{pkg}.LAB is not a Lab")
    return lab
