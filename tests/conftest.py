"""Hypothesis profiles: ``ci`` (default: fast, deterministic) and ``thorough``
(``HYPOTHESIS_PROFILE=thorough``: 20 times the examples, random seeds). Tests scale
their own ``max_examples`` by ``settings.default.max_examples / 100``. The ``project``
fixture: a scratch copy of the shipped review folder, to edit."""

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the shipped extractions/ and analyses/ in a temporary folder."""
    for name in ("extractions", "analyses"):
        shutil.copytree(ROOT / name, tmp_path / name)
    return tmp_path


settings.register_profile("ci", max_examples=100, deadline=None, derandomize=True, database=None)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
