"""Entry point of pytest-atom-gates: options, configuration and wiring.

Without ``--atom-gates`` nothing here changes how pytest runs. This module imports nothing heavy;
the parts of a run are imported when a run is switched on.
"""

from __future__ import annotations

import pytest

from pytest_atom_gates.ordering import KEEP_ORDER_MARKER
from pytest_atom_gates.settings import add_options


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("atom-gates", "test-quality gates (pytest-atom-gates)")
    group.addoption(
        "--atom-gates",
        action="store_true",
        dest="atom_gates",
        default=False,
        help="Run the test-quality gates: shuffled order, pass rate, duration, reruns, coverage.",
    )
    group.addoption(
        "--no-atom-gates",
        action="store_false",
        dest="atom_gates",
        help="Cancel --atom-gates given earlier, for example in addopts.",
    )
    add_options(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    # Before conftest files are imported, so that what they and the package under test run on
    # import counts towards TQ-05. xdist workers build their configuration the same way.
    if getattr(early_config.known_args_namespace, "atom_gates", False):
        from pytest_atom_gates.cov.measure import start_early

        start_early(early_config)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{KEEP_ORDER_MARKER}: keep the tests of this module or class in file order when "
        "--atom-gates shuffles (the module or class itself still moves).",
    )
    if config.getoption("atom_gates"):
        from pytest_atom_gates.session import start

        start(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    if config.getoption("atom_gates"):
        from pytest_atom_gates.session import stop

        stop(config)
