"""The figure commands end to end (click's runner) on the shipped project (on a copy
where a test edits it), and proof that ``metaall pool`` loads no plotting or pandas."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from metaall.cli import cli

ROOT = Path(__file__).resolve().parents[1]


def invoke(*args: str, project: Path = ROOT):
    return CliRunner().invoke(cli, ["-C", str(project), *args])


def scratch_project(folder: Path, analyses: str = "*.yaml") -> Path:
    """A copy of the shipped extractions and of the ``analyses`` specs, to edit."""
    shutil.copytree(ROOT / "extractions", folder / "extractions")
    (folder / "analyses").mkdir()
    for spec in (ROOT / "analyses").glob(analyses):
        shutil.copy(spec, folder / "analyses")
    return folder


def test_pool_loads_neither_matplotlib_nor_pandas():
    code = (
        "import sys, io, contextlib\n"
        "from metaall.cli import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        f"    cli.main(['-C', {str(ROOT)!r}, 'pool', 'relapse'], standalone_mode=False)\n"
        "assert 'Total' in out.getvalue()\n"
        "print(sorted(m for m in ('matplotlib', 'pandas', 'metaall.cli.figures') "
        "if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # the figure commands are registered (their module is loaded) without their libraries
    assert json.loads(done.stdout.strip().replace("'", '"')) == ["metaall.cli.figures"]


def test_forest_writes_the_file_and_refuses_to_overwrite_it(tmp_path: Path):
    out = tmp_path / "forest.pdf"
    done = invoke("forest", "relapse", "--subgroup", "mrd_neg", "-o", str(out))
    assert done.exit_code == 0, done.output
    assert done.output == f"wrote {out}\n"
    assert out.read_bytes().startswith(b"%PDF")
    again = invoke("forest", "relapse", "-o", str(out))
    assert again.exit_code == 1 and "refusing to overwrite" in again.output
    assert len(again.output.strip().splitlines()) == 1
    forced = invoke("forest", "relapse", "-o", str(out), "--overwrite")
    assert forced.exit_code == 0 and out.stat().st_size > 0


def test_forest_options_reach_the_figure(tmp_path: Path):
    out = tmp_path / "forest.svg"
    done = invoke(
        "forest",
        "relapse",
        "--style",
        "jama",
        "--order",
        "weight",
        "--method",
        "DL",
        "--width",
        "160",
        "-o",
        str(out),
    )
    assert done.exit_code == 0, done.output
    svg = out.read_text(encoding="utf-8")
    assert 'width="453.543307pt"' in svg  # 160 mm
    assert "Favors HSCT" in svg and "random effects, DL τ²" in svg
    zhao, park = svg.index("Zhao et al. 2020"), svg.index("Park et al. (NCT01044069)")
    assert zhao < park  # heaviest study first


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["forest", "relapse", "-o", "forest.docx"], "cannot tell the format"),
        (["forest", "relapse", "--width", "60", "-o", "f.pdf"], "at least"),
        (["forest", "relapse", "--width", "wide", "-o", "f.pdf"], "width must be"),
        (["forest", "nope", "-o", "f.pdf"], "no analysis 'nope'"),
        (["forest", "relapse", "--subgroup", "zz", "-o", "f.pdf"], "no subgroup 'zz'"),
        (["forest", "relapse", "--font", "No Such Font", "-o", "f.pdf"], "not installed"),
        (["forest", "relapse", "--order", "size", "-o", "f.pdf"], "--order"),
        (["sensitivity-plot", "relapse", "-o", "s.pdf"], "choose one of"),
        (["export", "--formats", "pdf,doc"], "unknown format doc"),
    ],
)
def test_bad_options_are_usage_errors(tmp_path: Path, args, message):
    done = invoke(*(str(tmp_path / a) if a.endswith((".pdf", ".docx")) else a for a in args))
    assert done.exit_code == 2, done.output
    assert message in done.output


def test_data_errors_exit_1_with_one_line(tmp_path: Path):
    project = scratch_project(tmp_path)
    effects = project / "extractions" / "effects.csv"
    lines = effects.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    broken = lines[1].split(",")
    broken[header.index("events_t")] = "many"
    effects.write_text("\n".join([lines[0], ",".join(broken), *lines[2:]]) + "\n", "utf-8")
    done = invoke("forest", "relapse", "-o", str(project / "f.pdf"), project=project)
    assert done.exit_code == 1
    assert done.output.startswith("error: ") and len(done.output.splitlines()) == 1


def test_funnel_with_contours_trimfill_and_egger(tmp_path: Path):
    out = tmp_path / "funnel.svg"
    done = invoke("funnel", "relapse", "--contours", "--trimfill", "--egger", "-o", str(out))
    assert done.exit_code == 0, done.output
    svg = out.read_text(encoding="utf-8")
    assert "Egger&#x27;s regression" in svg or "Egger's regression" in svg
    assert "Filled studies (k0" in svg and "P &lt; 0.01" in svg


@pytest.mark.parametrize(
    ("flag", "text", "width"),
    [
        ("--leave-one-out", "Study omitted", 175),
        ("--cumulative", "Study added", 175),
        ("--baujat", "Squared Pearson Residual", 85),
    ],
)
def test_sensitivity_plots(tmp_path: Path, flag, text, width):
    out = tmp_path / "plot.svg"
    done = invoke("sensitivity-plot", "relapse", flag, "-o", str(out))
    assert done.exit_code == 0, done.output
    svg = out.read_text(encoding="utf-8")
    assert text in svg
    assert f'width="{width * 72 / 25.4:.6f}pt"' in svg  # each plot's default width


def test_export_writes_figures_and_tables_for_every_analysis_and_subgroup(tmp_path: Path):
    project = scratch_project(tmp_path, "os.yaml")
    out = tmp_path / "fig"
    done = invoke("export", "--out", str(out), "--formats", "svg", project=project)
    assert done.exit_code == 0, done.output
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        ".metaall-run.json",
        "os.csv",
        "os.json",
        "os.md",
        "os.txt",
        "os_cr.csv",
        "os_cr.json",
        "os_cr.md",
        "os_cr.txt",
        "os_cr_forest.svg",
        "os_forest.svg",
        "os_mrd_neg.csv",
        "os_mrd_neg.json",
        "os_mrd_neg.md",
        "os_mrd_neg.txt",
        "os_mrd_neg_forest.svg",
    ]
    assert done.output.startswith(f"1 analyses, 15 files written to {out}")
    again = invoke("export", "--out", str(out), "--formats", "svg", project=project)
    assert again.exit_code == 0 and "no change since the last run" in again.output
    (out / "os_forest.svg").unlink()
    (out / "os_forest.svg").write_text("a user's own file")
    manifest = out / ".metaall-run.json"
    manifest.write_text(manifest.read_text().replace('"os_forest.svg",', ""))
    refused = invoke("export", "--out", str(out), "--formats", "svg", project=project)
    assert refused.exit_code == 1 and "refusing to overwrite" in refused.output
    assert (out / "os_forest.svg").read_text() == "a user's own file"


@pytest.mark.parametrize("command", ["forest", "funnel", "sensitivity-plot", "export"])
def test_every_figure_command_has_help_with_an_example(command):
    done = CliRunner().invoke(cli, [command, "--help"])
    assert done.exit_code == 0
    assert "Example" in done.output and f"metaall {command}" in done.output
