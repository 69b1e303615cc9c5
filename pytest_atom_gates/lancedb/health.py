"""The health check: before the first test uses a location, write, read and drop a table there.

Run once per process and location. When it fails, every LanceDB test at that location fails with
the one message made here, naming the location and the cause, instead of a traceback per test.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_atom_gates.lancedb.databases import Database
    from pytest_atom_gates.lancedb.settings import LanceDBSettings

PROBE_TABLE = "atom_gates_health_check"
PROBE_IDS = [1, 2]
MAX_CAUSE = 1000
"""Object store errors can run to pages; the start says what went wrong."""


def probe(database: Database) -> None:
    """Write a table, read it back and drop it; raises on the first step that fails."""
    connection = database.connect()
    table = connection.create_table(PROBE_TABLE, [{"id": i, "text": "probe"} for i in PROBE_IDS])
    read = sorted(table.to_arrow().column("id").to_pylist())
    if read != PROBE_IDS:
        raise RuntimeError(f"wrote ids {PROBE_IDS}, read back {read}")
    database.remove(connection)


def check(database: Database, settings: LanceDBSettings) -> str | None:
    """None when the probe passes, else the message every LanceDB test there fails with."""
    try:
        probe(database)
    except Exception as exc:
        # Best effort: whatever stopped the probe may stop its cleanup too.
        with contextlib.suppress(Exception):
            database.remove()
        cause = settings.cause(exc)
        if len(cause) > MAX_CAUSE:
            cause = cause[:MAX_CAUSE] + " [...]"
        return (
            f"LanceDB health check failed at {database.location.uri} "
            f"(writing, reading and dropping a table in {database.uri}): {cause}"
        )
    return None
