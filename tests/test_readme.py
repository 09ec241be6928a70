"""README.md tells the truth: every `metaall` command in its shell blocks runs on the
shipped evidence, the output it shows is what the first command prints, and the Python
API block runs and gives the numbers its comments state."""

from __future__ import annotations

import math
import shlex
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from metaall.cli import cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    """The fenced blocks of the README in ``language`` ("" for plain ones)."""
    blocks, current, lang = [], None, ""
    for line in README.splitlines(keepends=True):
        if line.startswith("```"):
            if current is None:
                current, lang = [], line[3:].strip()
            else:
                if lang == language:
                    blocks.append("".join(current))
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def _commands() -> list[str]:
    out = []
    for block in _blocks("sh"):
        for line in block.splitlines():
            command = line.split("  #")[0].strip()
            if command.startswith("metaall "):
                out.append(command)
    return out


COMMANDS = _commands()


def test_the_readme_shows_the_commands_an_issue_asks_for():
    shown = " ".join(COMMANDS)
    for words in (
        "--method CM.EL",
        "--method bayes",
        "--width single",
        "--format docx",
        "metaall sof",
        "metaall report",
        "metaall methods",
    ):
        assert words in shown, words


@pytest.mark.parametrize("command", COMMANDS)
def test_every_readme_command_runs(command, project, monkeypatch):
    monkeypatch.chdir(project)
    result = CliRunner().invoke(cli, shlex.split(command)[1:])
    assert result.exit_code == 0, f"{command}: {result.output}"
    for i, word in enumerate(shlex.split(command)):
        if word in ("-o", "--out"):  # the file or folder it names was written
            target = project / shlex.split(command)[i + 1]
            assert target.exists() and (target.is_dir() or target.stat().st_size > 0)


def test_the_first_output_shown_is_what_the_first_command_prints(project):
    shown = next(b for b in _blocks("") if b.startswith("Relapse: consolidative"))
    printed = (
        CliRunner()
        .invoke(cli, ["-C", str(project), "pool", "relapse", "--subgroup", "mrd_neg"])
        .output.splitlines()
    )
    for line in shown.splitlines():
        if line != "...":
            assert line in printed, line


@pytest.mark.filterwarnings("ignore::metaall.FewStudiesWarning")
def test_the_python_api_block_runs_and_gives_its_numbers(project, monkeypatch):
    (block,) = _blocks("python")
    monkeypatch.chdir(project)
    counts = np.array([[6, 16, 10, 16], [2, 11, 16, 29], [0, 4, 22, 53], [3, 18, 19, 27]])
    rng = np.random.default_rng(1)
    namespace = {
        "ai": counts[:, 0],
        "n1i": counts[:, 1],
        "ci": counts[:, 2],
        "n2i": counts[:, 3],
        "Y": rng.normal(size=(3, 5)),
        "V": rng.uniform(0.05, 0.5, size=(3, 5)),
    }
    exec(compile(block, "README.md", "exec"), namespace)  # our own README
    result = namespace["result"]
    assert round(result.display(result.overall.fit.estimate), 2) == 0.31
    assert namespace["res"].k == 4 and namespace["glmm"].method == "CM.EL"
    assert 0.99 < namespace["bayes"].prob_mu_below(0.0) < 1
    assert math.isfinite(namespace["glmm"].loglik)
