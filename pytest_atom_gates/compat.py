"""Other shufflers never stack with ours: ``--atom-gates`` switches them off for the run."""

from __future__ import annotations

from collections.abc import Generator

import pytest

_RANDOMLY_OPTIONS = ("randomly_reorganize", "randomly_reset_seed")
_RANDOM_ORDER_OPTIONS = ("random_order_enabled", "random_order_bucket", "random_order_seed")


def _cannot_switch_off(plugin: str, name: str) -> pytest.UsageError:
    return pytest.UsageError(
        f"{plugin} is active and this version of it cannot be switched off by --atom-gates, "
        f"which shuffles and reseeds by itself. Run with -p no:{name}, or uninstall {plugin}."
    )


class _RandomlySeedUnsaid:
    """pytest-randomly's header line (``Using --randomly-seed=N``) goes: with its reordering and
    reseeding off, that seed orders and seeds nothing; the gates' seed, in their header, does."""

    @pytest.hookimpl(wrapper=True)
    def pytest_report_header(self) -> Generator[None, list[str | list[str]], list[str | list[str]]]:
        lines = yield
        return [line for line in lines if not str(line).startswith(_RANDOMLY_HEADER)]


_RANDOMLY_HEADER = "Using --randomly-seed="


def switch_off_other_shufflers(config: pytest.Config) -> list[str]:
    """Turn off pytest-randomly's and pytest-random-order's reordering, and say that
    pytest-order's marks are overridden; return header notes."""
    notes = []
    option = config.option
    if config.pluginmanager.hasplugin("randomly"):
        if not all(hasattr(option, name) for name in _RANDOMLY_OPTIONS):
            raise _cannot_switch_off("pytest-randomly", "randomly")
        option.randomly_reorganize = False
        option.randomly_reset_seed = False
        config.pluginmanager.register(_RandomlySeedUnsaid(), "atom-gates-randomly-seed-unsaid")
        notes.append("pytest-randomly's reordering and reseeding are off for this run")
    if config.pluginmanager.hasplugin("random_order"):
        if not all(hasattr(option, name) for name in _RANDOM_ORDER_OPTIONS):
            raise _cannot_switch_off("pytest-random-order", "random_order")
        option.random_order_enabled = False
        option.random_order_bucket = "default:none"
        option.random_order_seed = "default:0"
        notes.append("pytest-random-order's reordering is off for this run")
    if config.pluginmanager.hasplugin("pytest_order"):
        # Its marks place tests absolutely; the shuffle moves them all the same. Below a keep-order
        # mark the order the items arrive in, pytest-order's, is kept.
        notes.append(
            "pytest-order's order marks are overridden by the shuffle: a module or class marked "
            "atom_gates_keep_order keeps the order pytest-order gives it"
        )
    return notes


RERUNNERS = {"rerunfailures": "pytest-rerunfailures", "flaky": "flaky"}
SWITCHED_OFF_RERUNNERS = pytest.StashKey[list[str]]()
"""The rerun plugins ``--atom-gates`` switched off for this run, by project name."""


def switch_off_other_rerunners(config: pytest.Config) -> list[str]:
    """Unregister pytest-rerunfailures and flaky before they are configured.

    Called from ``pytest_cmdline_main``, before any ``pytest_configure``, so neither of them ever
    hooks into the run: exactly one rerun engine runs, atom-gates'. Their options stay known (and
    are ignored), so a command line or ini file that mentions them still parses.
    """
    switched_off = []
    for name, project in RERUNNERS.items():
        plugin = config.pluginmanager.get_plugin(name)
        if plugin is not None:
            config.pluginmanager.unregister(plugin)
            switched_off.append(project)
    config.stash[SWITCHED_OFF_RERUNNERS] = switched_off
    return switched_off
