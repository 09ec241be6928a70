"""``metaall report``: one self-contained HTML file of the whole review, checked as
text and, where a browser is installed, rendered in headless Chromium."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from metaall.cli import cli

ROOT = Path(__file__).resolve().parents[1]
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


@pytest.fixture(scope="module")
def review(tmp_path_factory) -> Path:
    """A copy of the review folder with one hostile label, and its report."""
    project = tmp_path_factory.mktemp("review")
    for name in ("extractions", "analyses"):
        shutil.copytree(ROOT / name, project / name)
    shutil.copy(ROOT / "grade.yaml", project / "grade.yaml")
    studies = project / "extractions" / "studies.csv"
    text = studies.read_text(encoding="utf-8").replace("Park et al.", "<b>Park</b> & al.", 1)
    studies.write_text(text, encoding="utf-8")
    out = CliRunner().invoke(cli, ["-C", str(project), "report", "--out", "rep"])
    assert out.exit_code == 0, out.output
    return project


def html(review: Path) -> str:
    return (review / "rep" / "report.html").read_text(encoding="utf-8")


def test_every_analysis_table_figure_and_the_summary_are_in_one_file(review):
    page = html(review)
    titles = re.findall(r'<h2 id="[^"]+">([^<]+)</h2>', page)
    assert titles[:2] == ["Summary of findings", "Risk of bias (ROBINS-I)"]
    assert "Relapse: consolidative allo-HSCT vs CAR-T alone" in titles
    assert len(titles) == 2 + len(list((ROOT / "analyses").glob("*.yaml")))
    assert page.count("<figure>") >= len(titles) - 1  # a forest plot each, and more
    assert "Certainty of the evidence (GRADE)" in page and "References" in page
    assert "Trial sequential analysis: Relapse" in page  # the spec declares tsa:
    assert "Studies not pooled, and why" in page


def test_nothing_is_fetched_and_text_is_escaped(review):
    page = html(review)
    assert "<script" not in page and "<link" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "&lt;b&gt;Park&lt;/b&gt; &amp; al." in page and "<b>Park</b>" not in page


def test_an_existing_report_is_not_replaced_unasked(review):
    again = CliRunner().invoke(cli, ["-C", str(review), "report", "--out", "rep"])
    assert again.exit_code == 1 and "refusing to overwrite" in again.output
    forced = CliRunner().invoke(cli, ["-C", str(review), "report", "--out", "rep", "--overwrite"])
    assert forced.exit_code == 0


def _browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def test_it_renders_in_a_real_browser_and_prints_to_pdf(review, tmp_path):
    executable = _browser()
    if executable is None:
        pytest.skip("no Chromium installed (apt-get install chromium); .ci/run installs it")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    errors, requests = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1000, "height": 1400})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto((review / "rep" / "report.html").as_uri())
        sizes = page.eval_on_selector_all(
            "figure svg",
            "els => els.map(e => e.getBoundingClientRect()).map(r => [r.width, r.height])",
        )
        pdf = page.pdf(format="A4")
        browser.close()
    assert errors == []
    assert [url for url in requests if not url.startswith(("file:", "data:"))] == []
    assert len(sizes) >= 15 and all(w > 100 and h > 50 for w, h in sizes)
    assert pdf.startswith(b"%PDF") and len(pdf) > 50_000
