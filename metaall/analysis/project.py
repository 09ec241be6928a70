"""A review project: ``extractions/`` and ``analyses/`` in one folder, and its analyses.

The Python face of the command line: ``Project(".").analysis("relapse",
subgroup="mrd_neg")`` returns the same :class:`~metaall.analysis.AnalysisResult`
that ``metaall pool relapse --subgroup mrd_neg`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from metaall.analysis.result import AnalysisResult
from metaall.analysis.run import run_analysis, with_options
from metaall.data import (
    AnalysisSpec,
    DataError,
    Extractions,
    check_specs_against,
    load_extractions,
    load_spec,
    load_specs,
)


class UnknownAnalysis(ValueError):
    """No spec of that name in ``analyses/``."""


@dataclass(frozen=True)
class Project:
    """A review folder: ``extractions/`` and ``analyses/`` side by side."""

    root: Path = field(default_factory=lambda: Path("."))

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def extractions_dir(self) -> Path:
        return self.root / "extractions"

    @property
    def analyses_dir(self) -> Path:
        return self.root / "analyses"

    def require(self) -> None:
        """DataError when the folder is not a review folder (no extractions/ and
        analyses/), saying how to point metaall at one."""
        missing = [d.name for d in (self.extractions_dir, self.analyses_dir) if not d.is_dir()]
        if missing:
            raise DataError(
                self.root.resolve(),
                0,
                "folder",
                f"not a review folder: no {' and no '.join(f'{m}/' for m in missing)} here; "
                "run metaall in the folder that holds extractions/ and analyses/, or give "
                "-C DIR (or METAALL_PROJECT=DIR)",
            )

    def load(self) -> tuple[Extractions, dict[str, AnalysisSpec]]:
        """Extractions and every spec, validated (the first problem raises DataError)."""
        self.require()
        data = load_extractions(self.extractions_dir)
        specs = load_specs(self.analyses_dir, data.vocabulary)
        return data, _checked(specs, data)

    def load_analysis(self, name: str) -> tuple[Extractions, AnalysisSpec]:
        """Extractions and the one spec ``name``, validated (UnknownAnalysis if absent)."""
        self.require()
        # only the name of a spec in analyses/: never a path ('../x', '/etc/x')
        specs = {p.stem: p for p in self.analyses_dir.glob("*.yaml")}
        path = specs.get(name)
        if path is None or path.name != f"{name}.yaml":
            known = ", ".join(sorted(specs)) or "none"
            raise UnknownAnalysis(f"no analysis '{name}' in {self.analyses_dir}; known: {known}")
        data = load_extractions(self.extractions_dir)
        spec = load_spec(path, data.vocabulary)
        return data, _checked({name: spec}, data)[name]

    def analysis(
        self,
        name: str,
        subgroup: str | None = None,
        **overrides,
    ) -> AnalysisResult:
        """Run analysis ``name`` (optionally one subgroup). Keyword overrides of the
        spec: ``measure``, ``method``, ``test``, ``level``, ``add``, ``to``, ``drop00``."""
        data, spec = self.load_analysis(name)
        return run_analysis(with_options(spec, **overrides), data, subgroup)

    def analyses(self) -> list[AnalysisResult]:
        """Every analysis with all its subgroups, as the specs define them."""
        data, specs = self.load()
        return [run_analysis(spec, data) for spec in specs.values()]


def _checked(specs: dict[str, AnalysisSpec], data: Extractions) -> dict[str, AnalysisSpec]:
    problems = check_specs_against(specs, data)
    if problems:
        raise problems[0]
    return specs
