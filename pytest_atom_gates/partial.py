"""Whether a run covers only part of the suite, and why.

Whole-suite gates (coverage) only judge whole runs; on a partial run they warn instead of failing
unless ``--atom-gates-strict`` is set.

What the ini file's ``addopts`` select (``-m "not stress"``, ``-k``, ``--deselect``, paths) is
the project's own definition of its suite: only what the command line or ``PYTEST_ADDOPTS``
select makes a run partial.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import pytest

from pytest_atom_gates.invocation import given_arguments


def _given_dests(config: pytest.Config) -> set[str | None]:
    """The options (by destination) given on the command line or in ``PYTEST_ADDOPTS``;
    ``file_or_dir`` for paths and node ids."""
    return {argument.dest for argument in given_arguments(config)}


def _narrower_args(config: pytest.Config, given: Collection[str | None]) -> str | None:
    if config.args_source is not pytest.Config.ArgsSource.ARGS or "file_or_dir" not in given:
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


def partial_reason(
    config: pytest.Config, deselected: int, given: Collection[str | None] | None = None
) -> str | None:
    """A short explanation of why this run is partial, or None for a whole-suite run.

    ``given``: the options given for this run, by destination (``given_arguments``)."""
    reasons = []
    given = _given_dests(config) if given is None else given
    narrower = _narrower_args(config, given)
    if narrower:
        reasons.append(narrower)
    # The ini file's own selection, when nothing given overrides it: deselection is then its.
    defined = False
    for dest, flag in (("keyword", "-k"), ("markexpr", "-m")):
        value = config.getoption(dest, "")
        if value and dest in given:
            reasons.append(f"{flag} {value!r}")
        defined = defined or bool(value and dest not in given)
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
        if "deselect" in given:
            reasons.append("--deselect")
        else:
            defined = True
    elif deselected and not reasons and not defined:
        reasons.append(f"{deselected} tests deselected")
    return ", ".join(reasons) or None
