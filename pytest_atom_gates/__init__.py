"""pytest-atom-gates: a CI pipeline's test-quality gates in one pytest plugin.

PYTEST_DONT_REWRITE: the plugin's own asserts are invariants, not test assertions.
"""

from __future__ import annotations

import sys


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


def __getattr__(name: str) -> str:
    """``__version__``, read from the installed metadata when first asked for: only the reports
    and the command line print it, and a run need not parse the package's metadata for it."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        value = version("pytest-atom-gates")
    except PackageNotFoundError:  # running from a source tree that is not installed
        value = "0+unknown"
    globals()["__version__"] = value
    return value


__all__ = ["__version__"]
