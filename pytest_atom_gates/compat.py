"""Other shufflers never stack with ours: ``--atom-gates`` switches them off for the run."""

from __future__ import annotations

import pytest

_RANDOMLY_OPTIONS = ("randomly_reorganize", "randomly_reset_seed")
_RANDOM_ORDER_OPTIONS = ("random_order_enabled", "random_order_bucket", "random_order_seed")


def _cannot_switch_off(plugin: str, name: str) -> pytest.UsageError:
    return pytest.UsageError(
        f"{plugin} is active and this version of it cannot be switched off by --atom-gates, "
        f"which shuffles and reseeds by itself. Run with -p no:{name}, or uninstall {plugin}."
    )


def switch_off_other_shufflers(config: pytest.Config) -> list[str]:
    """Turn off pytest-randomly's and pytest-random-order's reordering; return header notes."""
    notes = []
    option = config.option
    if config.pluginmanager.hasplugin("randomly"):
        if not all(hasattr(option, name) for name in _RANDOMLY_OPTIONS):
            raise _cannot_switch_off("pytest-randomly", "randomly")
        option.randomly_reorganize = False
        option.randomly_reset_seed = False
        notes.append("pytest-randomly's reordering and reseeding are off for this run")
    if config.pluginmanager.hasplugin("random_order"):
        if not all(hasattr(option, name) for name in _RANDOM_ORDER_OPTIONS):
            raise _cannot_switch_off("pytest-random-order", "random_order")
        option.random_order_enabled = False
        option.random_order_bucket = "default:none"
        option.random_order_seed = "default:0"
        notes.append("pytest-random-order's reordering is off for this run")
    return notes
