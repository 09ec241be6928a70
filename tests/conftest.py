"""Hypothesis profiles: ``ci`` (default: fast, deterministic) and ``thorough``
(``HYPOTHESIS_PROFILE=thorough``: 20 times the examples, random seeds). Tests scale
their own ``max_examples`` by ``settings.default.max_examples / 100``."""

import os

from hypothesis import settings

settings.register_profile("ci", max_examples=100, deadline=None, derandomize=True, database=None)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
