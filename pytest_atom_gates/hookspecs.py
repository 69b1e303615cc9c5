"""The hook through which a conftest or another plugin adds gates of its own."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_atom_gates.extension import GateRegistry


@pytest.hookspec
def pytest_atom_gates_add_gates(config: pytest.Config, gates: GateRegistry) -> None:
    """Add gates to an ``--atom-gates`` run with ``gates.add(gate)``.

    Called once per run, at start-up, in the process that judges (the single process, or the
    xdist controller), after the settings are read and before any test is collected; never
    without ``--atom-gates``. Implement it in a plugin or in a conftest.py that pytest loads at
    start-up (the rootdir's or a test path's). See ``pytest_atom_gates.extension``.
    """
