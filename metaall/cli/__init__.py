"""The ``metaall`` command line: thin click commands over the Python API.

Each command parses its options, calls the library and renders the result; no
statistics live here. Errors are one line on stderr: exit code 2 for usage
errors, 1 for data errors. Plotting and pandas are imported only by the commands
that need them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from metaall._version import __version__
from metaall.cli.add import add
from metaall.cli.catalog import list_, methods_, sof, validate
from metaall.cli.common import Project
from metaall.cli.diagnostics import bias, sensitivity
from metaall.cli.figures import COMMANDS as FIGURE_COMMANDS
from metaall.cli.pool import pool
from metaall.cli.report import report
from metaall.cli.run import export, run
from metaall.cli.sequential import tsa
from metaall.data import DataError


class OneLineErrors(click.Group):
    """A click group whose usage, command and data errors are one line on stderr."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
            click.echo(f"error: {exc.format_message()}{hint}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(f"error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except DataError as exc:  # file:row: field: message
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except click.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(1)
        except OSError as exc:  # a file that cannot be read or written: name it
            named = exc.filename is None or str(exc.filename) in str(exc.strerror)
            where = "" if named else f"{exc.filename}: "
            click.echo(f"error: {where}{exc.strerror or exc}", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-C",
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    envvar="METAALL_PROJECT",
    show_default=True,
    help="Review folder holding extractions/ and analyses/.",
)
@click.version_option(__version__, prog_name="metaall")
@click.pass_context
def cli(ctx: click.Context, project: Path) -> None:
    """Meta-analysis of ALL treatment evidence, with the numbers of R metafor.

    \b
    Examples:
      metaall list
      metaall pool relapse --subgroup mrd_neg
      metaall validate
    """
    ctx.obj = Project(project)


for command in (
    pool,
    list_,
    validate,
    add,
    run,
    export,
    bias,
    sensitivity,
    tsa,
    methods_,
    sof,
    report,
    *FIGURE_COMMANDS,
):
    cli.add_command(command)


def main() -> None:
    """Entry point: run the CLI; unexpected errors become one line (METAALL_DEBUG=1: traceback)."""
    try:
        cli.main(prog_name="metaall")
    except Exception as exc:  # the last line of defence: never a traceback
        if os.environ.get("METAALL_DEBUG"):
            raise
        hint = "(METAALL_DEBUG=1 shows details)"
        click.echo(f"internal error: {type(exc).__name__}: {exc} {hint}", err=True)
        sys.exit(1)
