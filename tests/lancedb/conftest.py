"""Fixtures for the LanceDB fixture tests: a clean environment, lancedb made missing or broken."""

from __future__ import annotations

import importlib.util

import pytest

from pytest_atom_gates.lancedb.settings import DISABLE_ENV, URI_ENV
from tests.lancedb.child_files import BROKEN, NOT_INSTALLED


@pytest.fixture(autouse=True)
def _clean_lancedb_environment(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Child runs see only the LanceDB settings a test gives them, not the developer's."""
    for name in (DISABLE_ENV, URI_ENV, "LANCEDB_LOG"):
        monkeypatch.delenv(name, raising=False)
    if importlib.util.find_spec("pytest_asyncio") is not None:
        # Else pytest-asyncio warns at the start of every child run. Set after pytester, which
        # clears PYTEST_ADDOPTS when it starts.
        monkeypatch.setenv("PYTEST_ADDOPTS", "-o asyncio_default_fixture_loop_scope=function")


@pytest.fixture
def lancedb_not_installed(pytester: pytest.Pytester) -> None:
    """Child processes started by ``pytester`` cannot find lancedb."""
    pytester.makepyfile(sitecustomize=NOT_INSTALLED)


@pytest.fixture
def lancedb_broken(pytester: pytest.Pytester) -> None:
    """Child processes find lancedb, but importing it fails."""
    pytester.makepyfile(sitecustomize=BROKEN)
