"""The summary-of-findings table and the GRADE certainty behind it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import metaall
from metaall.analysis.certainty import certainty
from metaall.analysis.summary import findings
from metaall.cli import cli
from metaall.data.errors import DataError
from metaall.data.grade import load_judgements
from metaall.reports.sof import sof_table
from metaall.sequential import required_information_size

ROOT = Path(__file__).resolve().parents[1]
PROJECT = metaall.Project(ROOT)


def test_certainty_suggested_from_the_data():
    data, _ = PROJECT.load_analysis("relapse")
    res = PROJECT.analysis("relapse", "mrd_neg")
    rated = {r.domain: r for r in certainty(res, data.risk_of_bias).ratings}
    # every pooled study is ROBINS-I 'serious' overall: rated down twice (Schünemann 2019)
    assert rated["risk_of_bias"].level == "very serious"
    assert "100% of the weight" in rated["risk_of_bias"].reason
    # I² 10%, no prediction interval crossing 1: not serious
    assert rated["inconsistency"].level == "not serious"
    # 404 participants against the OIS at RRR 25% and the pooled control risk 126/221
    ois = required_information_size(126 / 221, rrr=0.25).participants
    assert f"404 participants against an optimal information size of {ois}" in (
        rated["imprecision"].reason
    )
    assert ois == 387 and rated["imprecision"].level == "not serious"  # 404 >= 387
    assert rated["publication_bias"].reason.startswith("not assessable with 7 studies")
    assert certainty(res, data.risk_of_bias).level == "low"


def test_reviewer_judgements_replace_suggestions_and_show_in_footnotes():
    res = PROJECT.analysis("relapse", "mrd_neg")
    data, _ = PROJECT.load_analysis("relapse")
    judged = {"indirectness": {"level": "serious", "reason": "other CAR-T products"}}
    rated = certainty(res, data.risk_of_bias, judged)
    assert rated.level == "very low" and rated.symbols == "⊕◯◯◯"
    table = sof_table(findings(PROJECT, ["relapse:mrd_neg"], {"relapse:mrd_neg": judged}))
    assert any(
        "indirectness: serious (reviewer): other CAR-T products" in f for f in table.footnotes
    )


def test_the_row_carries_the_pooled_numbers():
    (finding,) = findings(PROJECT, ["relapse:mrd_neg"])
    fit = finding.group.fit
    row = sof_table([finding]).lines[0].cells
    assert row[1] == "404 (7 studies)"
    assert row[2] == f"RR {finding.result.display(fit.estimate):.2f} (0.21 to 0.45)"
    assert row[3] == "570 per 1000" and row[4] == "177 per 1000 (121 to 259)"
    assert row[5] == "393 fewer per 1000 (from 449 fewer to 311 fewer)"
    assert row[6].startswith("⊕⊕◯◯ Low")
    assert any(
        "404 participants against an optimal information size of 387 (RRR 25%, control risk "
        "57%, α 0.05, power 80%)" in note
        for note in sof_table([finding]).footnotes
    )


def test_grade_file_is_validated(tmp_path):
    path = tmp_path / "grade.yaml"
    path.write_text("relapse:\n  directness: serious\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"relapse\.directness: .directness. is not one of"):
        load_judgements(path)
    path.write_text("relapse:\n  indirectness:\n    level: bad\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"grade.yaml:3: relapse.indirectness.level"):
        load_judgements(path)
    path.write_text("relapse:\n  indirectness: serious\n", encoding="utf-8")
    assert load_judgements(path)["relapse"]["indirectness"]["level"] == "serious"


def test_sof_command_formats(tmp_path):
    project = tmp_path / "review"
    for name in ("extractions", "analyses"):
        shutil.copytree(ROOT / name, project / name)
    shutil.copy(ROOT / "grade.yaml", project / "grade.yaml")
    runner = CliRunner()
    md = runner.invoke(cli, ["-C", str(project), "sof", "relapse:mrd_neg"])
    assert md.exit_code == 0 and "| Relapse: consolidative allo-HSCT vs CAR-T alone" in md.output
    html = runner.invoke(cli, ["-C", str(project), "sof", "relapse:mrd_neg", "--format", "html"])
    assert "<table>" in html.output and "⊕⊕◯◯ Low" in html.output
    target = tmp_path / "sof.docx"
    word = runner.invoke(
        cli, ["-C", str(project), "sof", "relapse", "--format", "docx", "-o", str(target)]
    )
    assert word.exit_code == 0 and target.read_bytes().startswith(b"PK")
    (project / "grade.yaml").write_text("nope:\n  indirectness: serious\n", encoding="utf-8")
    bad = runner.invoke(cli, ["-C", str(project), "sof"])
    assert bad.exit_code == 1 and "grade.yaml:0: nope: no analysis 'nope'" in bad.output
