"""`zablab node` (filled in by the server issue)."""

import typer


def register(app: typer.Typer) -> None:
    pass
