"""Whether a run covers only part of the suite, and why.

Whole-suite gates (coverage) only judge whole runs; on a partial run they warn instead of failing
unless ``--atom-gates-strict`` is set.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def _narrower_args(config: pytest.Config) -> str | None:
    if config.args_source is not pytest.Config.ArgsSource.ARGS:
        return None
    testpaths = [config.rootpath / path for path in config.getini("testpaths")]
    for arg in config.args:
        if "::" in arg:
            return f"node id {arg}"
    paths = [
        Path(config.invocation_params.dir, arg.split("::")[0]).resolve() for arg in config.args
    ]
    if not testpaths:
        files = [p.name for p in paths if p.is_file()]
        if not files:
            return None
        shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
        return f"{'file' if len(files) == 1 else 'files'} {shown}"
    uncovered = [
        root
        for root in testpaths
        if not any(root.resolve() == p or p in root.resolve().parents for p in paths)
    ]
    if uncovered:
        return "paths narrower than testpaths"
    return None


def partial_reason(config: pytest.Config, deselected: int) -> str | None:
    """A short explanation of why this run is partial, or None for a whole-suite run."""
    reasons = []
    narrower = _narrower_args(config)
    if narrower:
        reasons.append(narrower)
    if config.getoption("keyword", ""):
        reasons.append(f"-k {config.getoption('keyword')!r}")
    if config.getoption("markexpr", ""):
        reasons.append(f"-m {config.getoption('markexpr')!r}")
    lfplugin = config.pluginmanager.getplugin("lfplugin")
    # --lf narrows the run only when a failure on record is among the tests: otherwise pytest
    # runs them all ("no previously failed tests", "known failures not in selected tests").
    if (
        config.getoption("lf", False)
        and lfplugin is not None
        and getattr(lfplugin, "_previously_failed_count", None)
    ):
        reasons.append("--lf")
    if config.getoption("stepwise", False):
        reasons.append("--stepwise")
    if config.getoption("deselect", None):
        reasons.append("--deselect")
    elif deselected and not reasons:
        reasons.append(f"{deselected} tests deselected")
    return ", ".join(reasons) or None
