"""Where a coverage source lives on disk, found without importing anything of the project."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def locate(name: str, start_dir: Path) -> Path | None:
    """Where a source or package lives: a directory, or a package or module found the way
    ``import`` finds it, without importing it (nothing of the project runs after measuring)."""
    folder = start_dir / name
    if folder.is_dir():
        return folder.resolve()
    top, *rest = name.split(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        bases = [Path(location) for location in spec.submodule_search_locations]
    elif spec.origin and not rest:
        return Path(spec.origin).resolve()
    else:
        return None
    for base in bases:
        candidate = base.joinpath(*rest)
        if candidate.is_dir():
            return candidate.resolve()
        module = candidate.with_suffix(".py")
        if rest and module.is_file():
            return module.resolve()
    return None


def within(path: Path, place: Path) -> bool:
    return path == place or place in path.parents
