"""LanceDB fixtures for every suite that installs pytest-atom-gates, with or without --atom-gates.

A pytest entry point of its own, so ``-p no:atom_gates_lancedb`` switches it off. At start-up only
the settings are read; the rest of the fixtures' machinery is imported when a test first uses a
LanceDB fixture, and lancedb itself (with pyarrow and pydantic) when a database is first made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from pytest_atom_gates.lancedb.settings import (
    MARKER,
    MISSING_REASON,
    OPTIONS,
    LanceDBSettings,
    Switch,
    lancedb_installed,
    load_settings,
)
from pytest_atom_gates.marks import MarkIndex
from pytest_atom_gates.settings import add_options

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from lancedb import AsyncConnection, DBConnection

    from pytest_atom_gates.lancedb.databases import Database, Databases
    from pytest_atom_gates.lancedb.tables import AsyncTableFactory, TableFactory

SETTINGS_KEY = pytest.StashKey[LanceDBSettings]()
USAGE_ERROR_KEY = "atom_gates_lancedb_usage_error"
DATABASES_KEY = pytest.StashKey["Databases"]()
FIXTURES = frozenset(
    {
        "lancedb_uri",
        "lancedb_db",
        "lancedb_async_db",
        "lancedb_table",
        "lancedb_async_table",
        "lancedb_worker_db",
    }
)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser, OPTIONS)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}: a LanceDB integration test; added to every test that uses a LanceDB fixture.",
    )


def _settings(config: pytest.Config) -> LanceDBSettings:
    """The LanceDB settings, read and checked when a collected test first needs them.

    Not in ``pytest_configure``: a ``LANCEDB_URI`` meant for another tool (LanceDB Cloud's
    ``db://``, say) must not stop a run that uses no LanceDB fixture.
    """
    settings = config.stash.get(SETTINGS_KEY, None)
    if settings is None:
        settings = config.stash[SETTINGS_KEY] = load_settings(config)
    return settings


def _databases(config: pytest.Config) -> Databases:
    """This process's LanceDB state, made when a LanceDB fixture is first used."""
    databases = config.stash.get(DATABASES_KEY, None)
    if databases is None:
        from pytest_atom_gates.lancedb.databases import Databases

        databases = Databases.for_config(config, _settings(config))
        config.stash[DATABASES_KEY] = databases
    return databases


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    # trylast: after pytest has torn down the session fixtures (lancedb_worker_db among them), and
    # still before an xdist worker reports that it has finished and may be shut down.
    databases = session.config.stash.get(DATABASES_KEY, None)
    if databases is not None:
        databases.finish()


def pytest_report_header(config: pytest.Config) -> list[str]:
    # Before collection, so before the settings are checked: a bad value shows no line here, and
    # is a usage error only if a LanceDB test is collected.
    try:
        settings = load_settings(config)
    except pytest.UsageError:
        return []
    if not settings.configured:
        return []
    line = f"lancedb: test databases in {settings.location.uri}"
    if settings.storage_options:
        line += f" (storage options: {settings.shown_options()})"
    if settings.switch is not Switch.AUTO:
        line += f"; {settings.switch_text}"
    return [line]


def _skip_reason(settings: LanceDBSettings) -> str | None:
    if settings.switch is Switch.DISABLED:
        return settings.disabled_reason
    if settings.switch is Switch.AUTO and not lancedb_installed():
        return MISSING_REASON
    return None


def _own_fixture(fixturedef: pytest.FixtureDef[object]) -> bool:
    return getattr(fixturedef.func, "__module__", None) == __name__


def uses_lancedb_fixtures(item: pytest.Item) -> bool:
    """Whether ``item`` uses one of this plugin's LanceDB fixtures, not one of the same name.

    A project's own ``lancedb_db`` is not ours, unless it requests ours (the one it overrides).
    """
    info = getattr(item, "_fixtureinfo", None)
    if info is None or FIXTURES.isdisjoint(info.names_closure):  # most tests: no new set
        return False
    for name in FIXTURES.intersection(info.names_closure):
        definitions = info.name2fixturedefs.get(name, ())
        for definition in reversed(definitions):
            if _own_fixture(definition):
                return True
            if name not in definition.argnames:
                break
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # tryfirst: the marker must be there before -m deselects. Every pytest run with this
    # plugin installed pays this loop, so a module's or class's marks are read once.
    marked = MarkIndex((MARKER,))
    lancedb_items = []
    for item in items:
        if uses_lancedb_fixtures(item):
            item.add_marker(MARKER)
            lancedb_items.append(item)
        elif marked.marks(item):
            lancedb_items.append(item)
    if not lancedb_items:
        return
    try:
        settings = _settings(config)
    except pytest.UsageError as exc:
        workeroutput = getattr(config, "workeroutput", None)
        if workeroutput is not None:  # an xdist worker: the controller raises it again
            workeroutput[USAGE_ERROR_KEY] = str(exc)
        raise
    skip_reason = _skip_reason(settings)
    if skip_reason is not None:
        for item in lancedb_items:
            item.add_marker(pytest.mark.skip(reason=skip_reason))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    # On the xdist controller, which collects nothing: a worker's bad LanceDB setting stops the
    # run with the same usage error (exit 4) as a single process, before any test is sent.
    message = getattr(node, "workeroutput", {}).get(USAGE_ERROR_KEY)
    if message:
        raise pytest.UsageError(message)


def _open(request: pytest.FixtureRequest, uri: str) -> tuple[Databases, Database]:
    databases = _databases(request.config)

    def tmp_dir(name: str) -> Path:
        tmp_path: Path = request.getfixturevalue("tmp_path")
        return tmp_path / name

    location = databases.location_for(uri)
    return databases, databases.open(location, request.node.name, tmp_dir)


@pytest.fixture
def lancedb_uri(pytestconfig: pytest.Config) -> str:
    """Where this test's LanceDB database is made: the configured location.

    That is ``--atom-gates-lancedb-uri``, else ``LANCEDB_URI``, else the ini key
    ``atom_gates_lancedb_uri``, else ``memory://``. Override this fixture (in a module, a class or
    a conftest) or parametrize it to move some tests elsewhere, for example to ``"tmp_path"``.
    """
    return _settings(pytestconfig).location.uri


@pytest.fixture
def lancedb_db(request: pytest.FixtureRequest, lancedb_uri: str) -> Iterator[DBConnection]:
    """A connection to a new, empty LanceDB database of this test's own.

    At teardown every table is dropped, the table list is checked to be empty, and the database's
    directory, if it has one, is removed.
    """
    databases, database = _open(request, lancedb_uri)
    connection = database.connect()
    yield connection
    databases.remove(database, connection)


@pytest.fixture
def lancedb_async_db(request: pytest.FixtureRequest, lancedb_uri: str) -> Iterator[AsyncConnection]:
    """Like ``lancedb_db``, an ``AsyncConnection`` for ``async def`` tests.

    A plain fixture, so it works with pytest-asyncio (any mode) and with anyio's asyncio backend.
    """
    databases, database = _open(request, lancedb_uri)
    connection = database.connect_async()
    yield connection
    connection.close()
    databases.remove(database)


@pytest.fixture
def lancedb_table(request: pytest.FixtureRequest, lancedb_db: DBConnection) -> TableFactory:
    """Make tables in ``lancedb_db``: ``lancedb_table(name, data=None, *, schema=None, **options)``.

    ``data`` is what ``create_table`` takes (a list of dicts or of ``LanceModel`` instances, a
    pyarrow table, ...), or a schema alone (pyarrow or a ``LanceModel`` class) for an empty
    table, or the path of a ``.jsonl`` or ``.parquet`` file, relative to the test file's
    directory. The tables are dropped with the database at teardown.
    """
    from pytest_atom_gates.lancedb.tables import table_factory

    return table_factory(lancedb_db, request.path.parent)


@pytest.fixture
def lancedb_async_table(
    request: pytest.FixtureRequest, lancedb_async_db: AsyncConnection
) -> AsyncTableFactory:
    """``lancedb_table`` for ``async def`` tests: ``await lancedb_async_table(name, data)``."""
    from pytest_atom_gates.lancedb.tables import async_table_factory

    return async_table_factory(lancedb_async_db, request.path.parent)


@pytest.fixture(scope="session")
def lancedb_worker_db(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DBConnection]:
    """A LanceDB database for the whole session of this process: one per xdist worker.

    For expensive data that tests only read: seed it in a session-scoped fixture of your own,
    which then runs once per worker. It lives at the configured location, in a place named after
    the run and the worker, and is removed at the end of the session.
    """
    databases = _databases(pytestconfig)
    database = databases.open(databases.settings.location, "worker", tmp_path_factory.mktemp)
    connection = database.connect()
    yield connection
    databases.remove(database, connection)
