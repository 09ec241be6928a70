"""Shared pieces of the commands: the project folder, options and output."""

from __future__ import annotations

from pathlib import Path

import click

from metaall import methods
from metaall.analysis import AnalysisResult, Project, UnknownAnalysis, run_analysis, with_options
from metaall.data import AnalysisSpec, DataError, Extractions
from metaall.data.adhoc import AdhocTable, adhoc_spec, load_adhoc, read_adhoc
from metaall.data.specs import DEFAULT_SEED, MODERATORS, ORDERS
from metaall.data.writing import write_atomic
from metaall.figures.settings import DPI_RANGE, FONT_SIZES, STYLES, FigureSettings
from metaall.reports.tables import FORMATS, to_csv, to_json, to_markdown

pass_project = click.make_pass_decorator(Project)


class Named(click.ParamType):
    """A measure, method or CI method, looked up in :mod:`metaall.methods`: any case,
    or an alias; the value passed on is the canonical name."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.name = kind

    def get_metavar(self, param, ctx=None) -> str:
        return "[" + "|".join(methods.names(self.kind)) + "]"

    def convert(self, value, param, ctx) -> str:
        try:
            return methods.lookup(self.kind, value).name
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def _method_help() -> str:
    words = {
        methods.COMMON: "common effect",
        methods.RANDOM: "random effects, by tau² estimator",
        methods.EXACT: "exact likelihood: 2×2 counts; GLMM for single-arm proportions",
        methods.BAYES: "Bayesian (priors: --tau-prior, --mu-prior)",
    }
    parts = [
        f"{', '.join(names)} ({words[family]})"
        for family in methods.FAMILIES
        if (names := methods.names("method", family))
    ]
    return "; ".join(parts) + "."


subgroup_option = click.option(
    "--subgroup", metavar="TAG", help="Restrict to one subgroup, e.g. mrd_neg."
)


by_option = click.option(
    "--by",
    type=click.Choice(ORDERS),
    default="year",
    show_default=True,
    help="Order of the cumulative analysis (undated studies last).",
)


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


def stack_options(command, options: list):
    """``command`` decorated with ``options`` (the first listed is the first in --help)."""
    for option in reversed(options):
        command = option(command)
    return command


def model_options(command):
    """Options that override an analysis spec's model settings."""
    return stack_options(command, _model_options())


def fit_options(command):
    """:func:`model_options` without those of absolute effects (``--control-risk``,
    ``--risk-timepoint``), for commands that give ``--control-risk`` another meaning."""
    return stack_options(command, _model_options(absolute=False))


def _model_options(absolute: bool = True) -> list:
    measures = ", ".join(f"{m.name} ({m.label})" for m in methods.MEASURES.values())
    options = [
        click.option("--measure", type=Named("measure"), help=f"Effect measure: {measures}."),
        click.option("--method", type=Named("method"), help=_method_help()),
        click.option(
            "--ci",
            "test",
            type=Named("test"),
            help="CI for the pooled effect: z (Wald) or knha (alias hk: Hartung-Knapp).",
        ),
        click.option(
            "--level",
            type=click.FloatRange(0, 1, min_open=True, max_open=True),
            help="Confidence level, e.g. 0.95.",
        ),
        click.option(
            "--pi",
            "prediction",
            type=click.Choice([*methods.PREDICTION_INTERVALS, "none"], case_sensitive=False),
            help="Prediction interval: metafor (z, or t(k-1) with knha), higgins "
            "(t(k-2), Higgins et al. 2009) or none.",
        ),
        click.option("--add", type=click.FloatRange(0), help="Continuity correction per cell."),
        click.option(
            "--to",
            type=click.Choice(methods.ZERO_CELL_TARGETS),
            help="Which tables get the correction: only0, all, if0all, none.",
        ),
        click.option(
            "--drop00/--keep00",
            default=None,
            help="Treat tables with no events in either arm as not estimable (drop00).",
        ),
        click.option(
            "--tau-prior",
            metavar="PRIOR",
            help="Prior for tau with --method bayes: halfnormal:0.5 (default), "
            "halfcauchy:S, halft:S:DF, uniform:UPPER, lognormal:M:S (tau²), jeffreys, "
            "turner:OUTCOME:COMPARISON.",
        ),
        click.option(
            "--mu-prior",
            metavar="PRIOR",
            help="Prior for mu with --method bayes: flat (default) or normal:MEAN:SD.",
        ),
    ]
    if absolute:
        options += [
            click.option(
                "--control-risk",
                "control_risks",
                metavar="P[,P...]",
                callback=_risks,
                help="Assumed control risks (proportions) for absolute effects per 1000, "
                "besides the pooled control-arm risk; needed for hazard ratios.",
            ),
            click.option(
                "--risk-timepoint",
                metavar="TEXT",
                help="When the control risks apply, e.g. '2 years' (hazard ratios).",
            ),
        ]
    return options


def _risks(ctx, param, value: str | None) -> tuple[float, ...] | None:
    if value is None:
        return None
    try:
        risks = tuple(float(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"expected proportions like 0.3,0.5, got {value!r}") from None
    if not risks or not all(0 < r < 1 for r in risks):
        raise click.BadParameter(f"risks are proportions in (0, 1), got {value!r}")
    return risks


def _moderators(ctx, param, value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if value.strip().lower() == "none":
        return ()
    names = tuple(v.strip() for v in value.split(",") if v.strip())
    unknown = [n for n in names if n not in MODERATORS]
    if unknown or not names:
        allowed = ", ".join(MODERATORS)
        raise click.BadParameter(
            f"unknown moderator {', '.join(unknown) or '(none)'}; use {allowed}"
        )
    return names


def regression_options(command):
    """``--mods``, ``--permutations`` and ``--seed``: a meta-regression and its
    permutation test (overriding the spec's ``mods`` and ``permutations``)."""
    return stack_options(
        command,
        [
            click.option(
                "--mods",
                metavar="FIELD[,FIELD...]",
                callback=_moderators,
                help="Meta-regression on study or effect fields: year (numeric), or "
                "categorical ones (population, design, disease, country, car_target, "
                "costim_domain, report, timepoint, group: the subgroup); the reference level "
                "is the first in sorted order. Overrides the spec's mods; 'none' for no "
                "meta-regression.",
            ),
            click.option(
                "--permutations",
                type=click.IntRange(2, 10**7),
                metavar="N",
                help="Permutation test of the meta-regression with N permutations (exact, "
                "over all distinct permutations, when there are no more than N; metafor "
                "permutest).",
            ),
            click.option(
                "--seed",
                type=int,
                help=f"Seed of a random permutation test (default {DEFAULT_SEED}).",
            ),
        ],
    )


MODEL_OPTIONS = (
    "measure",
    "method",
    "test",
    "level",
    "add",
    "to",
    "drop00",
    "order",
    "prediction",
    "control_risks",
    "risk_timepoint",
    "tau_prior",
    "mu_prior",
    "mods",
    "permutations",
    "seed",
)


def overrides(options: dict) -> dict:
    """Keyword arguments for :func:`metaall.analysis.with_options` from CLI options.

    A command without ``--mods`` (all but ``pool``) leaves the spec's meta-regression
    out when ``--method`` names a model that cannot fit one (GLMM, bayes, MH, ...), as
    ``pool --mods none`` does: the figure or diagnostic does not draw on it."""
    out = {name: options.get(name) for name in MODEL_OPTIONS}
    method = options.get("method")
    if "mods" not in options and method is not None and not methods.method(method).inverse_variance:
        out["mods"] = ()
    return out


def figure_options(default_width: str | None, width_help: str = ""):
    """Style, width, font, font size and dpi of figures, passed on as one
    :class:`FigureSettings` argument ``settings`` (``default_width`` None: each plot's
    own default, which ``width_help`` states)."""

    def decorate(command):
        return stack_options(
            command,
            [
                click.option(
                    "--style",
                    type=click.Choice(tuple(STYLES)),
                    default="revman",
                    show_default=True,
                    help="Journal conventions: column set, wording, number format.",
                ),
                click.option(
                    "--width",
                    default=default_width,
                    show_default=default_width is not None,
                    help=f"single (85 mm), double (175 mm) or a width in mm{width_help}.",
                ),
                click.option("--font", default="DejaVu Sans", show_default=True, help="Font."),
                click.option(
                    "--font-size",
                    type=click.FloatRange(*FONT_SIZES),
                    default=7.0,
                    show_default=True,
                    help="Text size in points.",
                ),
                click.option(
                    "--dpi",
                    type=click.IntRange(*DPI_RANGE),
                    default=300,
                    show_default=True,
                    help="Resolution of PNG and TIFF files.",
                ),
            ],
        )

    return decorate


def settings_from(options: dict) -> FigureSettings:
    """The :class:`FigureSettings` of a command's figure options (removed from
    ``options``); a bad width is a usage error."""
    look = {key: options.pop(key) for key in ("style", "width", "font", "font_size", "dpi")}
    return usage_errors(lambda: FigureSettings(**look))


def one_of(**flags: str):
    """Flags ``--name`` (help text as value) of which a command takes exactly one; the
    command reads its choice with :func:`chosen`."""

    def decorate(command):
        options = [
            click.option(f"--{name.replace('_', '-')}", name, is_flag=True, help=text)
            for name, text in flags.items()
        ]
        return stack_options(command, options)

    return decorate


def chosen(options: dict, *names: str) -> str:
    """The one flag of ``names`` that is set (removed from ``options``, with the others),
    as spelled on the command line; a usage error for none or several."""
    given = [name for name in names if options.pop(name)]
    spelled = [f"--{name.replace('_', '-')}" for name in names]
    if len(given) != 1:
        what = "none" if not given else " and ".join(f"--{g.replace('_', '-')}" for g in given)
        raise click.UsageError(f"choose one of {', '.join(spelled)} (got {what})")
    return given[0].replace("_", "-")


def emit_table(table, fmt: str, output: Path | None) -> None:
    """Write a :class:`~metaall.reports.table.ResultTable` as Markdown (also for text),
    CSV, HTML or Word, to ``output`` (never replacing a file) or to the terminal."""
    from metaall.reports.table import table_markdown, table_records

    if fmt == "docx":
        from metaall.reports.docx import table_docx

        report: str | bytes = table_docx(table)
    elif fmt == "html":
        from metaall.reports.html import table_html

        report = table_html(table, table.title) + "\n"
    elif fmt == "csv":
        report = to_csv(table_records(table))
    else:
        report = f"{table.title}\n\n" + table_markdown(table)
    write_report(report, output)


def write_report(report: str | bytes, output: Path | None) -> None:
    """Print ``report``, or write it to ``output`` atomically, refusing to replace a file."""
    if output is None:
        if isinstance(report, bytes):
            raise click.UsageError("a Word document is written to a file: give -o FILE.docx")
        click.echo(report, nl=False)
        return
    data = report if isinstance(report, bytes) else report.encode("utf-8")
    try:
        write_atomic(output, data, overwrite=False)
    except FileExistsError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {output}")


def emit_rows(rows: list[dict], fmt: str) -> bool:
    """Print ``rows`` as JSON, CSV or Markdown; False for text (the caller lays it out)."""
    writers = {"json": to_json, "csv": to_csv, "markdown": to_markdown}
    if fmt not in writers:
        return False
    click.echo(writers[fmt](rows), nl=False)
    return True


def usage_errors(function):
    """Call ``function``; an unknown analysis or unfit option becomes a usage error (exit 2)."""
    try:
        return function()
    except UnknownAnalysis as exc:
        raise click.BadParameter(str(exc), param_hint="ANALYSIS") from None
    except DataError:
        raise
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def analyse(project: Project, analysis: str, subgroup: str | None, options: dict) -> AnalysisResult:
    """Run one analysis with the command's model options (usage problems exit 2)."""
    return usage_errors(lambda: project.analysis(analysis, subgroup, **overrides(options)))


def data_option(command):
    """``--data FILE``: an ad-hoc CSV instead of an analysis of the review folder."""
    return click.option(
        "--data",
        "data_file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Use an ad-hoc CSV instead of an analysis from extractions/: 2×2 counts "
        "(study,events_t,n_t,events_c,n_c), hazard ratios (study,hr,hr_lower,hr_upper), "
        "proportions (study,events,n), means (study,mean_t,sd_t,n_t,mean_c,sd_c,n_c) or "
        "generic effects (study,effect,se,effect_scale); optional label, year, group.",
    )(command)


def analysis_or_data(
    project: Project,
    analysis: str | None,
    subgroup: str | None,
    data_file,
    options: dict,
    columns: bool = False,
) -> AnalysisResult:
    """The result of ANALYSIS, or of the ad-hoc ``--data`` file, with the command's
    model options; exactly one of the two (usage error otherwise). With ``columns``
    the file is pooled column by column (:func:`metaall.analysis.table.run_table`,
    up to :data:`~metaall.data.csvfile.MAX_DATA_ROWS` rows)."""
    data, spec = spec_and_data(project, analysis, data_file, options, columns=columns)
    if isinstance(data, AdhocTable):
        from metaall.analysis.table import run_table

        return usage_errors(lambda: run_table(spec, data, subgroup))
    return usage_errors(lambda: run_analysis(spec, data, subgroup))


def spec_and_data(
    project: Project,
    analysis: str | None,
    data_file,
    options: dict,
    every_model: bool = False,
    columns: bool = False,
) -> tuple[Extractions | AdhocTable, AnalysisSpec]:
    """The evidence and the spec (with the command's model options) of ANALYSIS, or of
    the ad-hoc ``--data`` file (as an :class:`AdhocTable` with ``columns``, else one
    object per row); exactly one of the two (usage error otherwise). Priors are a usage
    error unless the model is Bayesian or ``every_model`` is compared."""
    if data_file is not None and analysis:
        raise click.UsageError("give either ANALYSIS or --data, not both")
    if data_file is None and not analysis:
        raise click.UsageError("missing ANALYSIS (or --data FILE); see 'metaall list'")
    measure = options.get("measure")
    data: Extractions | AdhocTable
    if data_file is None:
        data, spec = usage_errors(lambda: project.load_analysis(analysis))
    elif columns:
        data = usage_errors(lambda: read_adhoc(data_file, measure))
        spec = adhoc_spec(data, measure)
    else:
        data, spec = usage_errors(lambda: load_adhoc(data_file, measure))
    spec = usage_errors(lambda: with_options(spec, **overrides(options)))
    priors = [f"--{name.replace('_', '-')}" for name in ("tau_prior", "mu_prior")]
    priors = [flag for flag in priors if options.get(flag[2:].replace("-", "_"))]
    if priors and methods.method(spec.method).family != methods.BAYES and not every_model:
        raise click.UsageError(
            f"{' and '.join(priors)} only with --method bayes; this analysis uses {spec.method}"
        )
    return data, spec
