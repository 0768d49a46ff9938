"""The `zablab` command: one typer app, each subcommand defined next to the code it drives.

Start-up is kept short: `zablab --version` and `zablab check` (an argparse command) run
without importing typer at all (typer brings pydantic: over 0.1 s), and otherwise only the
module of the subcommand invoked is imported and registered (all of them for --help).
Subcommand modules keep heavy imports (matplotlib, kazoo, paramiko) inside their functions.
"""

# no `from __future__ import annotations`: typer reads the annotations of the commands
# defined inside build_app, where `typer` is a local name, so they must be objects, not strings
import importlib
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from zablab.errors import UserError

if TYPE_CHECKING:
    import typer

#: subcommand -> the module whose register(app) defines it
COMMANDS = {
    "node": "zablab.node.command",
    "test": "zablab.harness.command",
    "analyze": "zablab.harness.command",
    "serve": "zablab.harness.command",
    "cluster": "zablab.harness.command",
    "lab": "zablab.labs.command",
    "bugs": "zablab.bugs_command",
}


def build_app(command: str | None = None) -> "typer.Typer":
    """The typer app with `command`'s module registered (every module when None or unknown)."""
    import typer

    app = typer.Typer(
        name="zablab",
        help="A Jepsen-style verification and teaching lab for ZooKeeper's ZAB protocol.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    def _print_version(value: bool) -> None:
        """Eager, so that `zablab --version` answers before typer asks for a command."""
        if value:
            raise typer.Exit(_version())

    @app.callback()
    def _root(
        version: bool = typer.Option(
            False, "--version", help="Print the version and exit.", is_eager=True,
            callback=_print_version,
        ),
    ) -> None:
        """A Jepsen-style verification and teaching lab for ZooKeeper's ZAB protocol."""

    _passthrough(
        app,
        "sim",
        "zablab.sim_command",
        "Deterministic simulation (seeded): `zablab sim --seed 7 --nodes 5`; with `--workload "
        "register|set|session|lock` the whole node with clients; --help for more.",
    )
    _passthrough(
        app,
        "check",
        "zablab.checkers.command",
        "Check histories (files, directories, globs) against a checker; --help for more.",
    )
    wanted = {COMMANDS[command]} if command in COMMANDS else set(COMMANDS.values())
    for module in sorted(wanted):
        importlib.import_module(module).register(app)
    return app


def _passthrough(app: "typer.Typer", name: str, module: str, doc: str) -> None:
    """A command that reads its arguments with its own argparse parser (`module.main(argv)`)."""
    import typer

    def run(ctx: typer.Context) -> None:
        raise typer.Exit(importlib.import_module(module).main(list(ctx.args)))

    run.__doc__ = doc
    settings = {"allow_extra_args": True, "ignore_unknown_options": True}
    app.command(name, context_settings=settings, add_help_option=False)(run)


def _version() -> int:
    from zablab import __version__

    print(f"zablab {__version__}")
    return 0


def _without_typer(run: Callable[[], int]) -> int:
    """Run a command that needs no typer, with main's mapping of errors to exit codes."""
    try:
        return run()
    except UserError as exc:
        print(f"zablab: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("zablab: interrupted", file=sys.stderr)
        return 130


def main(argv: list[str] | None = None) -> int:
    """Entry point; maps UserError to a one-line message and exit code 255."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args == ["--version"]:
        return _without_typer(_version)
    if args[:1] == ["check"]:
        from zablab.checkers.command import main as check_main

        return _without_typer(lambda: check_main(args[1:]))
    import typer

    app = build_app(next((a for a in args if not a.startswith("-")), None))
    try:
        rc = app(args=args, standalone_mode=False)
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
