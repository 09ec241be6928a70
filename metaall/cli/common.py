"""Shared pieces of the commands: the project folder, options and output."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import click

from metaall.data import (
    AnalysisSpec,
    DataError,
    Extractions,
    ZeroCells,
    check_specs_against,
    load_extractions,
    load_spec,
    load_specs,
)
from metaall.data.specs import METHODS, ZERO_CELL_TARGETS
from metaall.reports.tables import FORMATS, to_csv, to_json, to_markdown


@dataclass(frozen=True)
class Project:
    """A review folder: ``extractions/`` and ``analyses/`` side by side."""

    root: Path

    @property
    def extractions_dir(self) -> Path:
        return self.root / "extractions"

    @property
    def analyses_dir(self) -> Path:
        return self.root / "analyses"

    def load(self) -> tuple[Extractions, dict[str, AnalysisSpec]]:
        """Extractions and every spec, validated (the first problem raises DataError)."""
        data = load_extractions(self.extractions_dir)
        specs = load_specs(self.analyses_dir, data.vocabulary)
        return data, self._checked(specs, data)

    def load_analysis(self, name: str) -> tuple[Extractions, AnalysisSpec]:
        """Extractions and the one spec ``name``, validated."""
        path = self.analyses_dir / f"{name}.yaml"
        if not path.is_file():
            known = ", ".join(sorted(p.stem for p in self.analyses_dir.glob("*.yaml"))) or "none"
            raise click.BadParameter(
                f"no analysis '{name}' in {self.analyses_dir}; known: {known}",
                param_hint="ANALYSIS",
            )
        data = load_extractions(self.extractions_dir)
        spec = load_spec(path, data.vocabulary)
        return data, self._checked({name: spec}, data)[name]

    @staticmethod
    def _checked(specs: dict[str, AnalysisSpec], data: Extractions) -> dict[str, AnalysisSpec]:
        problems = check_specs_against(specs, data)
        if problems:
            raise problems[0]
        return specs


pass_project = click.make_pass_decorator(Project)


def format_option(command):
    """``--format text|json|csv|markdown``."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="text",
        show_default=True,
        help="Text for people; JSON, CSV or Markdown for pipelines and manuscripts.",
    )(command)


def model_options(command):
    """Options that override an analysis spec's model settings."""
    options = [
        click.option(
            "--measure",
            type=click.Choice(["RR", "OR", "RD", "HR"], case_sensitive=False),
            help="Effect measure (RR, OR, RD from counts; HR from hazard ratios).",
        ),
        click.option(
            "--method",
            type=click.Choice(METHODS, case_sensitive=False),
            help="FE, MH, Peto (common effect) or a tau² estimator: REML, ML, DL, HE, HS, "
            "HSk, SJ, EB, PM.",
        ),
        click.option(
            "--ci",
            "ci",
            type=click.Choice(["z", "hk"]),
            help="CI for the pooled effect: z (Wald) or hk (Hartung-Knapp).",
        ),
        click.option(
            "--level",
            type=click.FloatRange(0, 1, min_open=True, max_open=True),
            help="Confidence level, e.g. 0.95.",
        ),
        click.option("--add", type=click.FloatRange(0), help="Continuity correction per cell."),
        click.option(
            "--to",
            type=click.Choice(ZERO_CELL_TARGETS),
            help="Which tables get the correction: only0, all, if0all, none.",
        ),
        click.option(
            "--drop00/--keep00",
            default=None,
            help="Treat tables with no events in either arm as not estimable (drop00).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def overrides(spec: AnalysisSpec, options: dict) -> dict:
    """Keyword arguments for :func:`metaall.analysis.with_options` from CLI options."""
    z = spec.zero_cells
    zero = ZeroCells(
        add=z.add if options.get("add") is None else options["add"],
        to=options.get("to") or z.to,
        drop00=z.drop00 if options.get("drop00") is None else options["drop00"],
    )
    method = options.get("method")
    if method:
        method = next(m for m in METHODS if m.lower() == method.lower())
    return dict(
        measure=(options.get("measure") or "").upper() or None,
        method=method,
        test={"z": "z", "hk": "knha"}.get(options.get("ci") or ""),
        level=options.get("level"),
        zero_cells=zero,
    )


def fail_on_data_errors(function):
    """Turn DataError into one line on stderr and exit code 1."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except DataError as exc:
            click.echo(f"error: {exc}", err=True)
            raise SystemExit(1) from None

    return wrapper


def population_describer(data: Extractions):
    """tag -> its vocabulary description ('' for tags the vocabulary does not know)."""
    vocab = data.vocabulary

    def describe(tag: str) -> str:
        return vocab.describe("population", tag) if vocab.has("population", tag) else ""

    return describe


def emit_rows(rows: list[dict], fmt: str) -> bool:
    """Print ``rows`` as JSON, CSV or Markdown; False for text (the caller lays it out)."""
    writers = {"json": to_json, "csv": to_csv, "markdown": to_markdown}
    if fmt not in writers:
        return False
    click.echo(writers[fmt](rows), nl=False)
    return True
