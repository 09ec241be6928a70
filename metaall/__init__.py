"""metaall: meta-analysis of clinical evidence on acute lymphoblastic leukemia.

The numeric core (effect sizes, models) imports only numpy and scipy.
"""

from metaall._version import __version__

__all__ = ["__version__"]
