"""Entry point of pytest-atom-gates: options, configuration and wiring.

Without ``--atom-gates`` nothing here changes how pytest runs. This module imports nothing heavy;
the parts of a run are imported when a run is switched on.
"""

from __future__ import annotations

import os

import pytest

from pytest_atom_gates.settings import add_options

MARKERS = (
    "atom_gates_keep_order: keep the tests of this module or class in file order when "
    "--atom-gates shuffles (the module or class itself still moves).",
    "atom_gates_reruns(count, delay=None): reruns for this test under --atom-gates; "
    "0 switches them off.",
    "atom_gates_quarantine(reason): the test runs and is reported, but counts for no gate.",
)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from pytest_atom_gates import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


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
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    if config.getoption("atom_gates_history"):
        from _pytest.main import wrap_session

        from pytest_atom_gates.history import show_history

        return int(wrap_session(config, show_history))
    if config.getoption("atom_gates"):
        from pytest_atom_gates.compat import switch_off_other_rerunners

        switch_off_other_rerunners(config)
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    # Before conftest files are imported, so that what they and the package under test run on
    # import counts towards TQ-05. xdist workers build their configuration the same way.
    if getattr(early_config.known_args_namespace, "atom_gates", False):
        from pytest_atom_gates.cov.measure import start_early

        start_early(early_config)


def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    if config.getoption("atom_gates"):
        from pytest_atom_gates import determinism
        from pytest_atom_gates.check_environment import SERVE_ENV, STATE_ENV
        from pytest_atom_gates.cov import feature as coverage
        from pytest_atom_gates.session import start

        # TQ-04 and TQ-05 come in through pytest_atom_gates_add_gates, as extensions' gates do.
        for name, module in (("determinism", determinism), ("coverage", coverage)):
            config.pluginmanager.register(module, f"atom-gates-{name}-gate")
        start(config)
        coverage.setup_worker(config)
        # The check engine is imported only in the processes TQ-01's checks start.
        if SERVE_ENV in os.environ:  # this pytest answers the checks' questions
            from pytest_atom_gates.fork_server import serve_if_asked

            serve_if_asked(config)
        if STATE_ENV in os.environ:  # it replays a set found, with snapshots of the state
            from pytest_atom_gates.process_state import record_if_asked

            record_if_asked(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    if config.getoption("atom_gates"):
        from pytest_atom_gates.session import stop

        stop(config)
