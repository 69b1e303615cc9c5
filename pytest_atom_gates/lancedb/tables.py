"""The table factories: a table from rows, Arrow data, a schema, a LanceModel or a data file.

A factory passes everything on to ``create_table`` of the test's connection, so its tables go with
that database at teardown. Only two things are its own: a schema (Arrow or ``LanceModel``) may be
given in place of data, for an empty table, and a ``.jsonl``/``.parquet`` path is read first.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Awaitable
    from pathlib import Path

    from lancedb.table import AsyncTable, Table

JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")
PARQUET_SUFFIX = ".parquet"


class TableFactory(Protocol):
    """``lancedb_table(name, data=None, *, schema=None, **create_table_options)``."""

    def __call__(
        self, name: str, data: Any = None, *, schema: Any = None, **options: Any
    ) -> Table: ...


class AsyncTableFactory(Protocol):
    """``await lancedb_async_table(name, data=None, *, schema=None, **create_table_options)``."""

    def __call__(
        self, name: str, data: Any = None, *, schema: Any = None, **options: Any
    ) -> Awaitable[AsyncTable]: ...


def read_json_lines(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSON Lines file; blank lines are allowed, anything but an object is not."""
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{number}: a row must be a JSON object, not {row!r}")
            rows.append(row)
    return rows


def read_data_file(path: Path) -> Any:
    suffix = path.suffix.lower()
    if suffix in JSON_LINES_SUFFIXES:
        # Rows rather than pyarrow's JSON reader: lancedb then infers types (vectors included)
        # exactly as for a list of dicts.
        return read_json_lines(path)
    if suffix == PARQUET_SUFFIX:
        import pyarrow.parquet

        return pyarrow.parquet.read_table(path)
    accepted = ", ".join((*JSON_LINES_SUFFIXES, PARQUET_SUFFIX))
    raise ValueError(
        f"{path}: cannot make a table from a {suffix or 'suffix-less'} file; accepted: {accepted}"
    )


def _is_schema(value: Any) -> bool:
    import pyarrow
    from lancedb.pydantic import LanceModel

    return isinstance(value, pyarrow.Schema) or (
        isinstance(value, type) and issubclass(value, LanceModel)
    )


def table_arguments(data: Any, schema: Any, base: Path) -> tuple[Any, Any]:
    """The ``data`` and ``schema`` to create a table with; relative paths start at ``base``."""
    if isinstance(data, (str, os.PathLike)):
        return read_data_file(base / data), schema
    if data is not None and _is_schema(data):
        if schema is not None:
            raise TypeError("a schema was given twice: as data and as schema=")
        return None, data
    return data, schema


def table_factory(connection: Any, base: Path) -> TableFactory:
    def create(name: str, data: Any = None, *, schema: Any = None, **options: Any) -> Table:
        data, schema = table_arguments(data, schema, base)
        return connection.create_table(name, data=data, schema=schema, **options)

    return create


def async_table_factory(connection: Any, base: Path) -> AsyncTableFactory:
    async def create(name: str, data: Any = None, *, schema: Any = None, **options: Any) -> Any:
        data, schema = table_arguments(data, schema, base)
        return await connection.create_table(name, data=data, schema=schema, **options)

    return create
