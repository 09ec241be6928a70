"""Single source of the package version (read by the CLI and report footers)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("metaall")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
