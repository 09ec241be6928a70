"""``metaall run``: re-run every analysis and write its tables (and figures)."""

from __future__ import annotations

from pathlib import Path

import click

from metaall.cli.common import Project, fail_on_data_errors, pass_project
from metaall.reports.outputs import summary, table_files, write_outputs


@click.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("output"),
    show_default=True,
    help="Folder for the tables and figures.",
)
@click.option("--force", is_flag=True, help="Overwrite files in --out that metaall did not write.")
@pass_project
@fail_on_data_errors
def run(project: Project, out: Path, force: bool) -> None:
    """Re-run every analysis, write its report (text, JSON, CSV, Markdown) to --out,
    and say what changed since the last run.

    \b
    Example:
      metaall run --out output
    """
    results = project.analyses()
    files: dict[str, bytes] = {}
    for result in results:
        files.update(table_files(result))
    folder = out if out.is_absolute() else project.root / out
    try:
        lines = write_outputs(folder, files, summary(results), force)
    except FileExistsError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{len(results)} analyses, {len(files)} files written to {folder}")
    click.echo("changes since the last run:" if lines else "no change since the last run")
    for line in lines:
        click.echo(f"  {line}")
