"""One self-contained HTML report of a review: every analysis, its subgroups, figures,
summary of findings, methods text and the studies left out, with the reasons.

The figures are inline SVG (text kept as text, fonts embedded as WOFF data: nothing is
fetched from the network), the tables are the same tables ``metaall pool`` and
``metaall sof`` print, and a print stylesheet keeps tables and figures whole on A4
pages, so the browser's "Print to PDF" gives a clean document. Every part comes from
the analysis results; the page has no script.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape

from metaall._version import __version__
from metaall.analysis import AnalysisResult
from metaall.analysis.sequential import tsa_of
from metaall.analysis.summary import Finding
from metaall.figures.export import figure_bytes
from metaall.figures.forest import forest_plot
from metaall.figures.funnel import funnel_plot
from metaall.figures.rob import rob_summary_plot
from metaall.figures.settings import FigureSettings
from metaall.figures.tsa import tsa_plot
from metaall.reports.html import table_html
from metaall.reports.methods_text import methods_text
from metaall.reports.sof import sof_table
from metaall.reports.table import result_table

STYLE = """
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10pt; margin: 2em auto;
       max-width: 190mm; color: #111; }
h1 { font-size: 16pt; } h2 { font-size: 13pt; margin-top: 2em; } h3 { font-size: 11pt; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 8.5pt; }
th, td { border-bottom: 1px solid #bbb; padding: 2px 6px; text-align: left;
         vertical-align: top; }
tr.pooled td { font-weight: bold; }
tr.heading th { background: #eee; }
tr.note td { color: #333; font-size: 8pt; }
ul.footnotes { font-size: 8pt; color: #333; }
figure { margin: 1em 0; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { font-size: 8.5pt; color: #333; }
pre.methods { white-space: pre-wrap; font-family: inherit; }
.caution { border-left: 3px solid #a00; padding-left: 0.6em; }
@page { size: A4; margin: 15mm; }
@media print {
  body { margin: 0; max-width: none; }
  h2 { page-break-before: always; }
  table, figure, pre { page-break-inside: avoid; }
}
"""


def _svg(fig) -> str:
    """A figure as inline SVG markup (the XML prolog and doctype removed)."""
    text = figure_bytes(fig, "svg").decode("utf-8")
    return re.sub(r"^.*?(<svg\b)", r"\1", text, count=1, flags=re.S)


def _figure(fig, caption: str) -> str:
    return f"<figure>{_svg(fig)}<figcaption>{escape(caption)}</figcaption></figure>"


def _anchor(name: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", name.lower())


def _left_out(result: AnalysisResult) -> str:
    items = [
        f"<li>{escape(r.label)} [{escape(r.group)}]: {escape(r.note)}</li>"
        for r in result.overall.rows
        if not r.estimable
    ]
    items += [
        f"<li>{escape(x.study.label)} [{escape(x.effect.population)}]: {escape(x.reason)} "
        f"({escape(x.effect.source)}, {escape(x.effect.location)}, "
        f"{escape(x.effect.source_row)})</li>"
        for x in result.excluded
    ]
    if not items:
        return ""
    return "<h3>Studies not pooled, and why</h3><ul>" + "".join(items) + "</ul>"


def _analysis(result: AnalysisResult, settings: FigureSettings) -> str:
    spec = result.spec
    parts = [f'<h2 id="{_anchor(spec.name)}">{escape(spec.title or spec.name)}</h2>']
    if spec.caution and result.groups:
        parts.append(f'<p class="caution">Caution: {escape(spec.caution)}</p>')
    parts.append(table_html(result_table(result), f"Analysis '{spec.name}'"))
    if result.overall.rows:
        parts.append(_figure(forest_plot(result, settings), f"Forest plot: {spec.title}"))
    fit = result.overall.fit
    if fit is not None and fit.k >= 3:
        parts.append(_figure(funnel_plot(result, settings=settings), f"Funnel plot: {spec.title}"))
    if spec.tsa is not None:
        try:
            tsa = tsa_plot(tsa_of(result), settings)
        except ValueError as exc:  # e.g. no participant counts: say why
            parts.append(f"<p>Trial sequential analysis not possible: {escape(str(exc))}</p>")
        else:
            parts.append(_figure(tsa, f"Trial sequential analysis: {spec.title}"))
    parts.append(f'<pre class="methods">{escape(methods_text(result))}</pre>')
    parts.append(_left_out(result))
    return "\n".join(parts)


def report_html(
    results: Sequence[AnalysisResult],
    findings: Sequence[Finding],
    settings: FigureSettings | None = None,
    title: str = "Meta-analysis report",
    risk_of_bias: Mapping | None = None,
    labels: Mapping[str, str] | None = None,
) -> str:
    """The report of ``results`` (every analysis of a review, each with all its
    subgroups) with the summary of ``findings`` and, given the ROBINS-I assessments
    ``risk_of_bias`` (study -> assessment; ``labels`` study -> label), the risk-of-bias
    summary, as one HTML document."""
    settings = settings or FigureSettings()
    rob = ""
    if risk_of_bias:
        figure = rob_summary_plot(risk_of_bias, labels, settings=settings)
        rob = '<h2 id="risk-of-bias">Risk of bias (ROBINS-I)</h2>' + _figure(
            figure, "Share of studies at each ROBINS-I judgement, per domain and overall"
        )
    contents = "".join(
        f'<li><a href="#{_anchor(r.spec.name)}">{escape(r.spec.title or r.spec.name)}</a></li>'
        for r in results
    )
    sof = table_html(sof_table(findings)) if findings else "<p>No pooled result to summarise.</p>"
    body = [
        f"<h1>{escape(title)}</h1>",
        f"<p>Written by metaall {escape(__version__)}; every number is the one "
        "<code>metaall pool</code> prints.</p>",
        f"<ol>{contents}</ol>",
        '<h2 id="summary-of-findings">Summary of findings</h2>',
        sof,
        rob,
        *(_analysis(result, settings) for result in results),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
