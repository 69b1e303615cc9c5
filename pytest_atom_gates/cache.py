"""The plugin's folder in pytest's cache, checked once per session on the controller.

pytest's cache only warns when it cannot write, but ``Cache.mkdir`` raises: a ``.pytest_cache``
that is a file, or a read-only one, must cost the seed record and the flake history, never the
verdicts. What the run could not save is said once, in the header.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

FOLDER = "atom_gates"


@dataclass(frozen=True)
class PluginCache:
    """The plugin's cache folder, or why there is none (``None``: the cache is switched off)."""

    folder: Path | None
    problem: str | None = None


def open_cache(config: pytest.Config) -> PluginCache:
    cache = getattr(config, "cache", None)
    if cache is None:
        return PluginCache(None)
    try:
        return PluginCache(cache.mkdir(FOLDER))
    except OSError as exc:
        where = getattr(cache, "_cachedir", None) or config.rootpath / ".pytest_cache"
        return PluginCache(None, f"pytest's cache {where} is unusable ({exc.strerror or exc})")
