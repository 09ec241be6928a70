"""``metaall run`` and ``metaall export``: re-run every analysis and write its tables and
figures to one folder, saying what changed since the last run.

The extractions are read once, under their shared lock (one consistent snapshot); the
figures are drawn from those results in worker processes, which end with the
command: on Linux the kernel kills them when it dies (``PR_SET_PDEATHSIG``), and
everywhere each worker also watches its parent and exits when it is gone.
"""

from __future__ import annotations

import contextlib
import copyreg
import os
import signal
import sys
import threading
import time
import types
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import click

from metaall.analysis import AnalysisResult, available_subgroups, run_analysis
from metaall.cli.common import (
    Project,
    figure_options,
    pass_project,
    settings_from,
    stack_options,
    usage_errors,
)
from metaall.data.writing import UnsafeTarget
from metaall.figures.settings import FORMATS, FigureSettings
from metaall.reports.changes import summary
from metaall.reports.outputs import DamagedManifest, table_files, write_outputs
from metaall.reports.sequential import tsa_files

PR_SET_PDEATHSIG = 1  # linux/prctl.h
WATCH_INTERVAL = 0.2  # seconds between a worker's looks at its parent


def _mapping(items: dict) -> types.MappingProxyType:
    return types.MappingProxyType(items)


# results travel to the figure workers by pickle; their read-only mappings too
copyreg.pickle(types.MappingProxyType, lambda proxy: (_mapping, (dict(proxy),)))


def _formats(value: str) -> tuple[str, ...]:
    formats = tuple(f.strip().lower().lstrip(".") for f in value.split(",") if f.strip())
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise click.BadParameter(
            f"unknown format {', '.join(unknown) or '(none)'}; use {', '.join(FORMATS)}",
            param_hint="--formats",
        )
    return formats


def _figures_of(job: tuple) -> dict[str, bytes]:
    """Figures of one analysis result (run in a worker process)."""
    from metaall.figures.export import figure_files  # matplotlib: only when drawing
    from metaall.figures.tsa import tsa_figure_files

    result, settings, formats = job
    drawn = figure_files(result, settings, formats, funnel=result.restricted_to is None)
    return drawn | tsa_figure_files(result, settings, formats)


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_INTERVAL)
    os._exit(1)


def _end_with(parent: int) -> None:
    """Make this worker end when ``parent`` (the ``run`` process) ends, however it
    ends: the kernel's parent-death signal on Linux, and a thread that exits as soon
    as the worker is handed to another parent (any platform, and the instant before
    the signal was armed)."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):  # the watcher still ends it
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), daemon=True).start()


def _draw_all(jobs: list[tuple]) -> dict[str, bytes]:
    """Every job's figures, drawn on all CPUs (figures of whole analyses get a funnel
    plot; a subgroup's funnel plot is on request, with 'metaall funnel')."""
    files: dict[str, bytes] = {}
    workers = min(len(jobs), os.cpu_count() or 1)
    if workers <= 1:
        for job in jobs:
            files |= _figures_of(job)
        return files
    import multiprocessing

    # fork on Linux (fast; the workers are children of this process, as the
    # parent-death signal needs), spawn elsewhere
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context(method),
        initializer=_end_with,
        initargs=(os.getpid(),),
    ) as pool:
        for drawn in pool.map(_figures_of, jobs):
            files |= drawn
    return files


def write_everything(
    project: Project, out: Path, figures: tuple[FigureSettings, tuple] | None, force: bool
) -> None:
    """Run every analysis, overall and per subgroup; write reports (and figures)."""
    data, specs = project.load()
    files: dict[str, bytes] = {}
    overall: list[AnalysisResult] = []
    jobs: list[tuple] = []
    skipped = []
    for spec in specs.values():
        for subgroup in [None, *available_subgroups(spec, data)]:
            result = run_analysis(spec, data, subgroup)
            if subgroup is None:
                overall.append(result)
            if result.overall.fit is None:
                skipped.append(spec.name + (f" [{subgroup}]" if subgroup else ""))
                continue
            files |= table_files(result) | tsa_files(result)
            if figures is not None:
                jobs.append((result, *figures))
    if jobs:
        files |= usage_errors(lambda: _draw_all(jobs))
    folder = out if out.is_absolute() else project.root / out
    try:
        lines = write_outputs(folder, files, summary(overall), force)
    except (FileExistsError, UnsafeTarget, DamagedManifest) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{len(overall)} analyses, {len(files)} files written to {folder}")
    if skipped:
        click.echo(f"no estimable study, nothing written: {', '.join(skipped)}")
    click.echo("changes since the last run:" if lines else "no change since the last run")
    for line in lines:
        click.echo(f"  {line}")


def _command(name: str, help_text: str) -> click.Command:
    """``run`` and ``export`` do the same job; each gets its own name and help."""

    def command(project: Project, out: Path, figures: bool, formats, force, **options):
        look = settings_from(options)
        write_everything(project, out, (look, _formats(formats)) if figures else None, force)

    options = [
        click.option(
            "--out",
            type=click.Path(file_okay=False, path_type=Path),
            default=Path("output"),
            show_default=True,
            help="Folder for the tables and figures.",
        ),
        click.option(
            "--figures/--no-figures",
            default=True,
            show_default=True,
            help="Draw the forest plot (and the funnel plot when k ≥ 3) of each result.",
        ),
        click.option(
            "--formats",
            default="pdf,png",
            show_default=True,
            help="Figure formats, comma-separated: pdf, svg, png, tiff, eps.",
        ),
        figure_options(None, " (default: double for forest, single for funnel plots)"),
        click.option(
            "--force", is_flag=True, help="Overwrite files in --out that metaall did not write."
        ),
        pass_project,
    ]
    return click.command(name, help=help_text)(stack_options(command, options))


run = _command(
    "run",
    """Re-run every analysis and write its reports (text, JSON, CSV, Markdown) and
    figures, overall and per subgroup, to --out; say what changed since the last run.

    Files metaall wrote before are replaced; any other file is never overwritten
    (unless --force).

    \b
    Examples:
      metaall run
      metaall run --out output --no-figures
    """,
)
export = _command(
    "export",
    """Write every analysis's figures (forest plot; funnel plot when k ≥ 3) and tables,
    overall and per subgroup, to --out, in the formats and style a journal asks for:
    the same job as 'metaall run', named for the manuscript step.

    \b
    Examples:
      metaall export
      metaall export --out manuscript --formats pdf,tiff --style jama --dpi 600
    """,
)
