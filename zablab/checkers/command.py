"""`zablab check` (filled in by the checkers issue)."""

import typer


def register(app: typer.Typer) -> None:
    pass
