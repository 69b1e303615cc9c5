"""The plugin's folder in pytest's cache, checked once per session on the controller.

pytest's cache only warns when it cannot write, but ``Cache.mkdir`` raises: a ``.pytest_cache``
that is a file, or a read-only one, must cost the seed record and the flake history, never the
verdicts. What the run could not save is said once, in the header.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

FOLDER = "atom_gates"


class PluginCache(NamedTuple):
    """The plugin's cache folder, or why there is none (``None``: the cache is switched off)."""

    folder: Path | None
    problem: str | None = None


def open_cache(config: pytest.Config) -> PluginCache:
    cache = getattr(config, "cache", None)
    if cache is None:
        return PluginCache(None)
    root = getattr(cache, "_cachedir", None) or config.rootpath / ".pytest_cache"
    starts_it = not root.exists()
    try:
        folder = cache.mkdir(FOLDER)
        if starts_it:
            _mark_as_pytest_does(cache, root)
    except OSError as exc:
        return PluginCache(None, f"pytest's cache {root} is unusable ({exc.strerror or exc})")
    return PluginCache(folder)


def _mark_as_pytest_does(cache: pytest.Cache, root: Path) -> None:
    """Give a cache folder the gates started the .gitignore, README.md and CACHEDIR.TAG that
    pytest gives one it starts: before pytest 8.2, ``Cache.mkdir`` left them out (only
    ``Cache.set`` wrote them), so git saw every cache file as new."""
    add_files = getattr(cache, "_ensure_supporting_files", None)  # pytest 8.0 and 8.1
    if add_files is not None and not (root / ".gitignore").exists():
        add_files()
