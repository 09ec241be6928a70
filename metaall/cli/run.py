"""``metaall run`` and ``metaall export``: re-run every analysis and write its tables and
figures to one folder, saying what changed since the last run.

The extractions are read once, under their shared lock (one consistent snapshot).
An analysis whose inputs are unchanged since the last run into the folder keeps its
files and is neither fitted nor drawn (:mod:`metaall.reports.reuse`; ``--rebuild``
recomputes all). The figures of the others are drawn in worker processes, which end
with the command: on Linux the kernel kills them when it dies (``PR_SET_PDEATHSIG``), and
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
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import click

from metaall.analysis import available_subgroups, run_analysis
from metaall.cli.common import (
    Project,
    figure_options,
    pass_project,
    settings_from,
    stack_options,
    usage_errors,
)
from metaall.data import AnalysisSpec, Extractions
from metaall.data.writing import UnsafeTarget
from metaall.figures.settings import FORMATS, FigureSettings
from metaall.reports.changes import summary
from metaall.reports.outputs import DamagedManifest, Outputs, table_files, write_outputs
from metaall.reports.reuse import analysis_key, reusable, run_inputs
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


def _draw_all(jobs: list[tuple]) -> list[dict[str, bytes]]:
    """Each job's figures, drawn on all CPUs (figures of whole analyses get a funnel
    plot; a subgroup's funnel plot is on request, with 'metaall funnel')."""
    workers = min(len(jobs), os.cpu_count() or 1)
    if workers <= 1:
        return [_figures_of(job) for job in jobs]
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
        return list(pool.map(_figures_of, jobs))


Figures = tuple[FigureSettings, tuple[str, ...]]


def _computed(
    spec: AnalysisSpec, data: Extractions, figures: Figures | None
) -> tuple[dict[str, bytes], list[tuple], dict, list[str]]:
    """One analysis run overall and per subgroup: its tables, the figure jobs of its
    results, its summary, and the groups with no estimable study (nothing written)."""
    results = [run_analysis(spec, data, g) for g in [None, *available_subgroups(spec, data)]]
    files: dict[str, bytes] = {}
    jobs: list[tuple] = []
    skipped: list[str] = []
    for result in results:
        if result.overall.fit is None:
            group = result.restricted_to
            skipped.append(spec.name + (f" [{group}]" if group else ""))
            continue
        files |= table_files(result) | tsa_files(result)
        if figures is not None:
            jobs.append((result, *figures))
    return files, jobs, summary(results[:1])[spec.name], skipped


def _produce(
    data: Extractions,
    specs: dict[str, AnalysisSpec],
    folder: Path,
    figures: Figures | None,
    rebuild: bool,
) -> Callable[[dict], Outputs]:
    """The ``produce`` step of :func:`write_outputs`: per analysis, its files from the
    last run when its inputs are unchanged (never with ``rebuild``), else computed."""
    run = run_inputs(figures)

    def produce(manifest: dict) -> Outputs:
        files: dict[str, bytes] = {}
        kept: dict[str, str] = {}
        summaries: dict[str, dict] = {}
        analyses: dict[str, dict] = {}
        jobs: list[tuple] = []
        owners: list[str] = []
        reused: list[str] = []
        for name, spec in specs.items():
            key = analysis_key(spec, data, run)
            old = None if rebuild else reusable(folder, manifest, name, key)
            if old is not None:
                kept |= old
                summaries[name] = manifest["summary"][name]
                analyses[name] = manifest["analyses"][name]
                reused.append(name)
                continue
            own, own_jobs, summaries[name], skipped = _computed(spec, data, figures)
            files |= own
            jobs += own_jobs
            owners += [name] * len(own_jobs)
            analyses[name] = {"key": key, "files": sorted(own), "skipped": skipped}
        drawn = usage_errors(lambda: _draw_all(jobs))
        for name, figures_drawn in zip(owners, drawn, strict=True):
            files |= figures_drawn
            analyses[name]["files"] = sorted({*analyses[name]["files"], *figures_drawn})
        return Outputs(files, summaries, kept, analyses, tuple(reused))

    return produce


def write_everything(
    project: Project, out: Path, figures: Figures | None, force: bool, rebuild: bool
) -> None:
    """Run every analysis, overall and per subgroup, whose inputs changed since the
    last run into ``out`` (every one with ``rebuild``); write reports (and figures)."""
    data, specs = project.load()
    folder = out if out.is_absolute() else project.root / out
    produce = _produce(data, specs, folder, figures, rebuild)
    try:
        outputs, lines = write_outputs(folder, produce, force)
    except (FileExistsError, UnsafeTarget, DamagedManifest) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{len(specs)} analyses, {len(outputs.files)} files written to {folder}")
    if outputs.reused:
        click.echo(
            f"reused {len(outputs.reused)} analyses unchanged since the last run "
            f"({len(outputs.kept)} files kept as they were)"
        )
    skipped = [label for a in outputs.analyses.values() for label in a["skipped"]]
    if skipped:
        click.echo(f"no estimable study, nothing written: {', '.join(skipped)}")
    click.echo("changes since the last run:" if lines else "no change since the last run")
    for line in lines:
        click.echo(f"  {line}")


def _command(name: str, help_text: str) -> click.Command:
    """``run`` and ``export`` do the same job; each gets its own name and help."""

    def command(project: Project, out: Path, figures: bool, formats, force, rebuild, **options):
        look = settings_from(options)
        chosen = (look, _formats(formats)) if figures else None
        write_everything(project, out, chosen, force, rebuild)

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
        click.option(
            "--rebuild",
            is_flag=True,
            help="Recompute and redraw every analysis, also those whose inputs (data rows, "
            "spec, these options, metaall version and source) are unchanged since the last run "
            "into --out, which otherwise keep their files.",
        ),
        pass_project,
    ]
    return click.command(name, help=help_text)(stack_options(command, options))


run = _command(
    "run",
    """Re-run every analysis and write its reports (text, JSON, CSV, Markdown) and
    figures, overall and per subgroup, to --out; say what changed since the last run.

    An analysis whose inputs (its data rows, spec, these options, metaall version and
    source) are unchanged since the last run into --out keeps its files, neither
    refitted nor redrawn (--rebuild recomputes all). Files metaall wrote before are replaced; any
    other file is never overwritten (unless --force).

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
    the same job as 'metaall run', named for the manuscript step (unchanged analyses
    keep their files; --rebuild redraws all).

    \b
    Examples:
      metaall export
      metaall export --out manuscript --formats pdf,tiff --style jama --dpi 600
    """,
)
