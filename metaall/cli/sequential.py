"""``metaall tsa``: trial sequential analysis of an analysis (the figure:
``metaall tsa-plot``, in :mod:`metaall.cli.figures`)."""

from __future__ import annotations

from dataclasses import fields

import click

from metaall.analysis.sequential import tsa_of
from metaall.cli.common import (
    Project,
    analysis_or_data,
    data_option,
    emit_rows,
    fit_options,
    format_option,
    pass_project,
    stack_options,
    subgroup_option,
    usage_errors,
)
from metaall.data.tsa import BENEFIT, HETEROGENEITY, NO_FUTILITY, TSASettings
from metaall.reports.sequential import trial_rows, tsa_record, tsa_text
from metaall.reports.tables import to_json
from metaall.sequential import SPENDING

EFFECT_FLAGS = {"rr": "--rr", "rrr": "--rrr", "odds_ratio": "--or"}
SETTINGS = tuple(f.name for f in fields(TSASettings))
_OPEN = dict(min_open=True, max_open=True)


def tsa_options(command):
    """The TSA parameters; each overrides the spec's ``tsa:`` value."""
    return stack_options(
        command,
        [
            click.option(
                "--rr",
                type=click.FloatRange(0, min_open=True),
                help="Anticipated risk ratio of the intervention, e.g. 0.8.",
            ),
            click.option(
                "--rrr",
                type=click.FloatRange(0, 1, **_OPEN),
                help="Anticipated relative risk reduction, e.g. 0.25 (GRADE's default).",
            ),
            click.option(
                "--or",
                "odds_ratio",
                type=click.FloatRange(0, min_open=True),
                help="Anticipated odds ratio.",
            ),
            click.option(
                "--control-risk",
                type=click.FloatRange(0, 1, **_OPEN),
                help="Control-group risk (default: the pooled control-arm risk of the trials).",
            ),
            click.option(
                "--alpha",
                type=click.FloatRange(0, 1, **_OPEN),
                help="Type I error (default 0.05).",
            ),
            click.option(
                "--beta",
                type=click.FloatRange(0, 1, **_OPEN),
                help="Type II error (default 0.2: power 80%).",
            ),
            click.option(
                "--side", type=click.Choice(["1", "2"]), help="One- or two-sided (default 2)."
            ),
            click.option(
                "--heterogeneity",
                type=click.Choice(HETEROGENEITY, case_sensitive=False),
                help="Information size adjustment: diversity D², inconsistency I² or none "
                "(default d2 for random effects, none for a common effect).",
            ),
            click.option(
                "--spending",
                type=click.Choice(SPENDING),
                help="α-spending function (default obrien-fleming).",
            ),
            click.option(
                "--futility",
                type=click.Choice([*SPENDING, NO_FUTILITY]),
                help="β-spending function of futility boundaries (default none).",
            ),
            click.option(
                "--benefit",
                type=click.Choice(BENEFIT),
                help="Which effects favour the intervention (default: the anticipated "
                "effect's direction).",
            ),
        ],
    )


def tsa_settings(options: dict) -> TSASettings | None:
    """The TSA options given (removed from ``options``); None when none was given.
    More than one anticipated effect is a usage error."""
    given = {name: options.pop(name) for name in SETTINGS}
    effects = [EFFECT_FLAGS[name] for name in EFFECT_FLAGS if given[name] is not None]
    if len(effects) > 1:
        raise click.UsageError(f"give one of --rr, --rrr, --or (got {' and '.join(effects)})")
    if given["side"] is not None:
        given["side"] = int(given["side"])
    if given["heterogeneity"] is not None:
        given["heterogeneity"] = given["heterogeneity"].lower()
    settings = TSASettings(**given)
    return None if settings == TSASettings() else settings


@click.command()
@click.argument("analysis", required=False)
@subgroup_option
@data_option
@tsa_options
@fit_options
@format_option
@pass_project
def tsa(project: Project, analysis, subgroup, data_file, fmt: str, **options) -> None:
    """Trial sequential analysis of ANALYSIS: the cumulative Z-curve in the order the
    trials were published, the required information size, Lan-DeMets monitoring
    boundaries, the TSA-adjusted CI and the verdict (firm evidence, futile, or how many
    more participants are needed). Parameters: options over the spec's tsa: mapping.

    \b
    Examples:
      metaall tsa relapse
      metaall tsa relapse --subgroup mrd_neg --rr 0.8 --control-risk 0.4
      metaall tsa relapse --rrr 0.2 --beta 0.1 --futility obrien-fleming --format json
      metaall tsa --data trials.csv --rr 0.75
    """
    given = tsa_settings(options)
    result = analysis_or_data(project, analysis, subgroup, data_file, options)
    view = usage_errors(lambda: tsa_of(result, given))
    if fmt == "json":
        click.echo(to_json(tsa_record(view)), nl=False)
    elif not emit_rows(trial_rows(view), fmt):
        click.echo(tsa_text(view), nl=False)
