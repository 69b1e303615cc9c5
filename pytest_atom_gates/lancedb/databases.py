"""Each test's own LanceDB database: where it lives, connecting to it, and cleaning it away.

One ``Databases`` per process, kept in ``config.stash``, names the places so that they never
collide: below the configured location, ``atom-gates-<run id>/<worker id>/<counter>-<test>``. The
run id is pytest-xdist's ``testrunuid`` (shared by the workers of one run, new for every run), the
worker id keeps workers apart, since two processes writing one table can lose rows, and the counter
keeps a rerun of a test apart from its failed attempt. lancedb is imported on first use only.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import os
import re
import shutil
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from pytest_atom_gates.lancedb import health
from pytest_atom_gates.lancedb.settings import (
    ACCEPTED_URIS,
    MISSING_REASON,
    Kind,
    LanceDBSettings,
    Location,
    Switch,
    parse_uri,
    show_uri,
)
from pytest_atom_gates.settings import _Invalid

if TYPE_CHECKING:
    from types import ModuleType

RUN_DIR_PREFIX = "atom-gates-"
MAIN_PROCESS = "main"

T = TypeVar("T")
TmpDir = Callable[[str], Path]
"""Makes a fresh directory for the ``tmp_path`` location, given a name for it."""


def run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to its end on a private event loop in a helper thread.

    Fixtures are set up outside the test's event loop, sometimes while another loop runs in this
    thread; lancedb's async objects are not tied to the loop that made them.
    """
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def list_all_tables(connection: Any) -> list[str]:
    """Every table name, page after page (``table_names()`` stops at ten)."""
    names: list[str] = []
    token = None
    while True:
        page = connection.list_tables(page_token=token)
        names += page.tables
        token = page.page_token
        if not token:
            return names


@dataclass
class Database:
    """One test's database: its URI, how to connect, and how to leave nothing behind."""

    lancedb: ModuleType
    location: Location
    uri: str
    storage_options: dict[str, str] = field(repr=False)
    directory: Path | None
    """The local directory to remove afterwards, if the database has one."""

    def connect(self) -> Any:
        return self.lancedb.connect(self.uri, storage_options=self.storage_options or None)

    def connect_async(self) -> Any:
        return run_coroutine(
            self.lancedb.connect_async(self.uri, storage_options=self.storage_options or None)
        )

    def remove(self, connection: Any = None) -> None:
        """Drop every table, check that none is listed, and remove the directory.

        ``connection`` is the test's own; without it a fresh one is made, except in memory, where
        the data went with the test's (closed) connection.
        """
        if connection is None:
            if self.location.kind is Kind.MEMORY:
                return
            connection = self.connect()
        connection.drop_all_tables()
        left = list_all_tables(connection)
        if left:
            raise RuntimeError(f"tables still listed after dropping them all: {', '.join(left)}")
        if self.directory is not None and self.directory.exists():
            shutil.rmtree(self.directory)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.")[:60] or "test"


def _run_and_worker(config: pytest.Config) -> tuple[str, str]:
    workerinput: dict[str, Any] = getattr(config, "workerinput", {})
    run_id = str(workerinput.get("testrunuid") or uuid.uuid4().hex)
    worker = workerinput.get("workerid") or os.environ.get("PYTEST_XDIST_WORKER") or MAIN_PROCESS
    return run_id[:16], _slug(str(worker))


@dataclass
class Databases:
    """This process's LanceDB state: settings, naming, lancedb once imported, health results."""

    settings: LanceDBSettings
    run_id: str
    worker: str
    invocation_dir: Path
    _numbers: Iterator[int] = field(default_factory=itertools.count)
    _lancedb: ModuleType | None = None
    _import_problem: str | None = None
    _health: dict[str, str | None] = field(default_factory=dict)
    _run_dirs: set[Path] = field(default_factory=set)

    @classmethod
    def for_config(cls, config: pytest.Config, settings: LanceDBSettings) -> Databases:
        run_id, worker = _run_and_worker(config)
        return cls(settings, run_id, worker, config.invocation_params.dir)

    def location_for(self, uri: str) -> Location:
        """The location the ``lancedb_uri`` fixture names; fails the test on a bad value."""
        if uri == self.settings.location.uri:
            return self.settings.location
        try:
            return parse_uri(uri).anchored(self.invocation_dir)
        except _Invalid as exc:
            pytest.fail(
                f"lancedb_uri fixture: invalid value {show_uri(uri)!r} ({exc}). "
                f"Accepted: {ACCEPTED_URIS}.",
                pytrace=False,
            )

    def lancedb(self) -> ModuleType:
        """lancedb, imported on first use; skips or fails the test when it cannot be."""
        settings = self.settings
        if settings.switch is Switch.DISABLED:
            pytest.skip(settings.disabled_reason)
        if self._lancedb is not None:
            return self._lancedb
        if self._import_problem is None:
            # Rust log lines would otherwise land on stderr of every run.
            os.environ.setdefault("LANCEDB_LOG", "error")
            try:
                self._lancedb = importlib.import_module("lancedb")
            except Exception as exc:
                missing = isinstance(exc, ModuleNotFoundError) and exc.name == "lancedb"
                if missing and settings.switch is Switch.AUTO:
                    pytest.skip(MISSING_REASON)
                self._import_problem = f"lancedb could not be imported: {settings.cause(exc)}"
            else:
                return self._lancedb
        pytest.fail(f"{self._import_problem} ({settings.switch_text})", pytrace=False)

    def open(self, location: Location, label: str, tmp_dir: TmpDir) -> Database:
        """A new, empty database for ``label`` at ``location``, once the location is healthy."""
        if location.uri not in self._health:
            probe = self._place(location, "health-check", tmp_dir)
            self._health[location.uri] = health.check(probe, self.settings)
        problem = self._health[location.uri]
        if problem is not None:
            pytest.fail(problem, pytrace=False)
        return self._place(location, label, tmp_dir)

    def _place(self, location: Location, label: str, tmp_dir: TmpDir) -> Database:
        lancedb = self.lancedb()
        options = self.settings.options_for(location)
        name = f"{next(self._numbers):04d}-{_slug(label)}"
        if location.kind is Kind.MEMORY:
            return Database(lancedb, location, location.uri, options, None)
        if location.kind is Kind.TMP_PATH:
            directory = tmp_dir(f"lancedb-{name}")
            return Database(lancedb, location, str(directory), options, directory)
        run_dir = f"{RUN_DIR_PREFIX}{self.run_id}"
        uri = location.join(run_dir, self.worker, name)
        if location.kind is Kind.OBJECT_STORE:
            return Database(lancedb, location, uri, options, None)
        self._run_dirs.add(Path(location.uri, run_dir))
        return Database(lancedb, location, uri, options, Path(uri))

    def remove(self, database: Database, connection: Any = None) -> None:
        """Clean ``database`` away at teardown; fails the test if anything stays behind."""
        try:
            database.remove(connection)
        except Exception as exc:
            pytest.fail(
                f"LanceDB teardown could not remove {database.uri}: {self.settings.cause(exc)}",
                pytrace=False,
            )

    def finish(self) -> None:
        """Remove this process's directories below local locations, once they are empty.

        The run directory goes with the last worker to finish; a directory that still holds
        something (a teardown that failed) is left for someone to look at.
        """
        for run_dir in self._run_dirs:
            for directory in (run_dir / self.worker, run_dir):
                with contextlib.suppress(OSError):
                    directory.rmdir()
