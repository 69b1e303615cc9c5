"""Warnings about the configuration, shown in pytest's warnings summary and never fatal.

``Config.issue_config_time_warning`` raises the warning when the project's filters make warnings
errors (``filterwarnings = error``): a former ini key's name or a broken reseeder would then end
the run with a traceback. Here such a warning is recorded all the same, and the run goes on.
"""

from __future__ import annotations

import sys
import warnings

import pytest


def warn_at_config(config: pytest.Config, text: str, stacklevel: int = 3) -> None:
    """Show ``text`` as a ``PytestConfigWarning`` (from an xdist worker too)."""
    warning = pytest.PytestConfigWarning(text)
    try:
        config.issue_config_time_warning(warning, stacklevel=stacklevel)
    except Warning:
        frame = sys._getframe(1)
        where = (frame.f_code.co_filename, frame.f_lineno)
        config.hook.pytest_warning_recorded.call_historic(
            kwargs={
                "warning_message": warnings.WarningMessage(warning, type(warning), *where),
                "when": "config",
                "nodeid": "",
                "location": (*where, frame.f_code.co_name),
            }
        )
