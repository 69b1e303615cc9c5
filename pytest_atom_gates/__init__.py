"""pytest-atom-gates: a CI pipeline's test-quality gates in one pytest plugin.

PYTEST_DONT_REWRITE: the plugin's own asserts are invariants, not test assertions.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version


def _import_submodules_unrewritten() -> None:
    """Import the rest of this package the usual way, not through pytest's assertion rewriter.

    pytest rewrites every module of a plugin's distribution. Its asserts are invariants, so
    rewriting gains nothing, and it costs every run a parse and compile of each module wherever
    the rewritten code cannot be cached (``PYTHONDONTWRITEBYTECODE``, read-only site-packages):
    about 5 ms per module, against reading the ``.pyc`` that pip wrote at install time.
    """
    for finder in sys.meta_path:  # pytest's rewriter keeps the names it rewrites in a set
        marked = getattr(finder, "_must_rewrite", None)
        if isinstance(marked, set):
            marked.discard(__name__)


_import_submodules_unrewritten()

try:
    __version__ = version("pytest-atom-gates")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
