"""The durations file: each test's last recorded duration, read to balance CI shards.

A run with ``--atom-gates-durations=PATH`` writes it (one whole run, or ``atom-gates merge`` over
the shards); a shard only reads it, so that every machine splits from the same figures. The
format is JSON, ``{"version": 1, "durations": {node id: seconds}}``, sorted so that it diffs well
when checked in; pytest-split's ``.test_durations`` is read as well.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from pytest_atom_gates.reporting.atomic import UnreadableJson, read_json, write_atomically

VERSION = 1


class DurationsProblem(Exception):
    """The file exists but cannot be used; the message says why."""


def read_durations(path: Path) -> dict[str, float]:
    """The recorded durations; an absent file records none. Raises ``DurationsProblem``.

    pytest-split's ``.test_durations`` is read too (``{node id: seconds}``, or its older list of
    ``[node id, seconds]`` pairs), so a team moving over keeps its figures; what a run writes is
    this plugin's own format.
    """
    try:
        data = read_json(path)
    except UnreadableJson as exc:
        raise DurationsProblem(str(exc)) from None
    if data is None:
        return {}
    entries = _entries(data)
    if entries is None:
        raise DurationsProblem(
            f'is not a durations file (expected {{"version": {VERSION}, "durations": {{...}}}},'
            " or pytest-split's {node id: seconds})"
        )
    return {
        nodeid: float(seconds)
        for nodeid, seconds in entries.items()
        if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds >= 0
    }


def _entries(data: object) -> dict[str, object] | None:
    """The node ids and figures of a durations document in either format, else ``None``."""
    if isinstance(data, dict) and "durations" in data:
        entries = data["durations"]
        return entries if isinstance(entries, dict) and data.get("version") == VERSION else None
    if isinstance(data, dict) and all(isinstance(key, str) for key in data):
        return data  # pytest-split
    if isinstance(data, list) and all(
        isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str) for pair in data
    ):
        return dict(data)  # pytest-split before 0.3
    return None


def write_durations(path: Path, measured: Mapping[str, float]) -> None:
    """Record ``measured`` over what the file held: new figures replace old ones, tests that did
    not run keep theirs. Raises ``OSError`` and ``DurationsProblem``."""
    merged = {**read_durations(path), **measured}
    document = {"version": VERSION, "durations": {n: round(merged[n], 6) for n in sorted(merged)}}
    write_atomically(path, json.dumps(document, indent=1) + "\n")


def durations_digest(durations: Mapping[str, float], tests: Sequence[str]) -> str:
    """A short fingerprint of the figures that ``tests`` were split by: shards that split from
    different figures would not agree on who runs what."""
    digest = hashlib.blake2b(digest_size=12)
    for nodeid in tests:
        seconds = durations.get(nodeid)
        if seconds is not None:
            digest.update(f"{nodeid}\0{seconds!r}\n".encode())
    return digest.hexdigest()
