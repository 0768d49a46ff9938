"""The `zablab` command: one typer app, each subcommand defined next to the code it drives.

Subcommand modules keep heavy imports (matplotlib, kazoo, paramiko) inside their functions so
that `zablab --help` and `zablab node` start fast.
"""

from __future__ import annotations

import sys

import typer

from zablab.errors import UserError

app = typer.Typer(
    name="zablab",
    help="A Jepsen-style verification and teaching lab for ZooKeeper's ZAB protocol.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    """A Jepsen-style verification and teaching lab for ZooKeeper's ZAB protocol."""
    if version:
        from zablab import __version__

        print(f"zablab {__version__}")
        raise typer.Exit(0)


@app.command(
    "sim",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def _sim(ctx: typer.Context) -> None:
    """Deterministic ZAB simulation (seeded): `zablab sim --seed 7 --nodes 5`; --help for more."""
    from zablab.sim.__main__ import main as sim_main

    raise typer.Exit(sim_main(list(ctx.args)))


def _register() -> None:
    from zablab.checkers import command as check_cmd
    from zablab.labs.command import app as lab_app
    from zablab.node import command as node_cmd

    node_cmd.register(app)
    check_cmd.register(app)
    app.add_typer(lab_app, name="lab")
    try:
        from zablab.harness import command as harness_cmd
    except ImportError:  # harness not built yet
        return
    harness_cmd.register(app)


def main(argv: list[str] | None = None) -> int:
    """Entry point; maps UserError to a one-line message and exit code 255."""
    _register()
    try:
        rc = app(args=argv, standalone_mode=False)
    except UserError as exc:
        print(f"zablab: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except SystemExit as exc:
        return int(exc.code or 0)
    except KeyboardInterrupt:
        print("zablab: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        # typer may vendor its own click, so recognise click's exceptions by shape
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            return 255
        if type(exc).__name__ == "Abort":
            return 130
        raise
    return rc if isinstance(rc, int) else 0


if __name__ == "__main__":
    sys.exit(main())
