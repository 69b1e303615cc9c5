"""The run's assertion rewriting, kept for TQ-01's checks.

Under ``PYTHONDONTWRITEBYTECODE`` pytest rewrites a test module's assertions in every process
that imports it and keeps nothing, so each group of the checks' server would rewrite its
modules again (about 70 ms for a module of 100 tests). While the run collects, this writes
each module pytest rewrites into a folder of its own, laid out as ``sys.pycache_prefix`` lays
out bytecode; the server uses that folder as its prefix, so its groups read what the run
rewrote. pytest checks each cached module against its source before it trusts it.

pytest offers no hook for this: ``_rewrite_test`` and ``_write_pyc`` are its own functions.
Where they are missing (another pytest), nothing is kept and the checks rewrite as before.
"""

from __future__ import annotations

import marshal
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Generator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from _pytest.assertion import rewrite

from pytest_atom_gates.check_environment import fork_unavailable
from pytest_atom_gates.run import GatesRun, is_xdist_controller, is_xdist_worker
from pytest_atom_gates.settings import GateMode, Settings

KEPT_BYTECODE_KEY = "atom_gates_kept_bytecode"
"""A worker's ``workerinput`` key: the folder the controller keeps the rewriting in."""


def keep_rewriting(config: pytest.Config, run: GatesRun) -> None:
    """Where it is worth it, keep the assertion rewriting of the processes that collect: the
    controller makes the folder, its workers write there too."""
    if is_xdist_worker(config):
        folder = config.workerinput.get(KEPT_BYTECODE_KEY)  # type: ignore[attr-defined]
        run.kept_bytecode = None if folder is None else Path(folder)
    elif worth_keeping(config, run.settings):
        run.kept_bytecode = new_folder(config)
    if run.kept_bytecode is not None and not is_xdist_controller(config):
        config.pluginmanager.register(KeptRewriting(run.kept_bytecode), "atom-gates-bytecode")


def worth_keeping(config: pytest.Config, settings: Settings) -> bool:
    """Whether this run's checks could read kept rewriting: they may run, in forked copies,
    and nothing else keeps it (no bytecode is written, assertions are rewritten)."""
    if not sys.dont_write_bytecode or config.getoption("assertmode", "rewrite") != "rewrite":
        return False
    if settings.mode("TQ-01") is GateMode.OFF or settings.order_checks <= 0:
        return False
    if not all(hasattr(rewrite, name) for name in ("_rewrite_test", "_write_pyc", "PYC_TAIL")):
        return False

    return fork_unavailable(os.environ) is None


def new_folder(config: pytest.Config) -> Path | None:
    """A folder for the rewriting, removed when the session's configuration ends; None where
    none can be made (the checks only rewrite their modules themselves)."""
    try:
        folder = Path(tempfile.mkdtemp(prefix="atom-gates-bytecode-"))
    except OSError:
        return None
    config.add_cleanup(partial(shutil.rmtree, folder, ignore_errors=True))
    return folder


def cached_path(prefix: Path, source: Path) -> Path:
    """Where pytest looks for ``source``'s rewritten module under ``sys.pycache_prefix``."""
    return prefix.joinpath(*source.parts[1:-1]) / (source.name[:-3] + rewrite.PYC_TAIL)


class KeptRewriting:
    """While the run collects, every module pytest rewrites is also written under ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @pytest.hookimpl(wrapper=True)
    def pytest_collection(self, session: pytest.Session) -> Generator[None, Any, Any]:
        original = rewrite._rewrite_test
        rewrite._rewrite_test = self._keeping(original)  # type: ignore[assignment]
        try:
            return (yield)
        finally:
            rewrite._rewrite_test = original

    def _keeping(
        self, original: Callable[[Path, pytest.Config], Any]
    ) -> Callable[[Path, pytest.Config], Any]:
        def rewrite_and_keep(source: Path, config: pytest.Config) -> Any:
            result = original(source, config)
            # The first item is what pytest validates the cache with (a hash, or a stat).
            validation, code = result
            pyc = cached_path(self.folder, source)
            try:
                pyc.parent.mkdir(parents=True, exist_ok=True)
            except OSError:  # only the checks' speed depends on it
                return result
            # Only pytest's rewriting calls this, so its assertion state is there.
            rewrite._write_pyc(config.stash[rewrite.assertstate_key], code, validation, pyc)
            # Writing made CPython keep a copy of each function's bytecode on its code object
            # (marshal reads ``co_code``, which caches it): about 85 bytes a trivial test for
            # the whole session. The module runs from a fresh copy instead, as it would from a
            # cached module, and the written one goes.
            return validation, marshal.loads(marshal.dumps(code))

        return rewrite_and_keep
