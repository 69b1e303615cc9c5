"""Quarantine: known-bad tests that still run and are reported, but count for no gate.

A test is quarantined by a line in the quarantine file (a node id or a glob, ``#`` comments) or
by the ``atom_gates_quarantine`` marker. Entries that match no test are reported, so a
quarantine list cannot silently rot.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import pytest


class QuarantineEntry(NamedTuple):
    pattern: str
    line: int


@dataclass
class QuarantineList:
    """The entries of a quarantine file."""

    path: Path | None = None
    entries: list[QuarantineEntry] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path | None, source: str = "--atom-gates-quarantine") -> QuarantineList:
        """Read the file; a missing or unreadable file is a usage error naming it and the
        setting (``source``) that named it."""
        if path is None:
            return cls()
        try:
            # utf-8-sig: a byte order mark (Windows editors write one) is no part of a node id.
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise pytest.UsageError(
                f"{source}: cannot read {path}: {reason}. "
                "Accepted: a readable text file with one node id or glob per line."
            ) from None
        entries = []
        for number, raw in enumerate(text.splitlines(), start=1):
            pattern = raw.split("#", 1)[0].strip()
            if pattern:
                entries.append(QuarantineEntry(pattern, number))
        return cls(path, entries)

    def reason(self, nodeid: str) -> str | None:
        for entry in self.entries:
            if nodeid == entry.pattern or fnmatch.fnmatchcase(nodeid, entry.pattern):
                return f"{self.path.name if self.path else 'quarantine'}:{entry.line}"
        return None

    def unused(self, nodeids: Sequence[str]) -> list[QuarantineEntry]:
        """Entries that match none of ``nodeids``."""
        return [
            entry
            for entry in self.entries
            if not any(n == entry.pattern or fnmatch.fnmatchcase(n, entry.pattern) for n in nodeids)
        ]
