"""pytest-atom-gates: a CI pipeline's test-quality gates in one pytest plugin.

PYTEST_DONT_REWRITE: the plugin's own asserts are invariants, not test assertions.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pytest-atom-gates")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
