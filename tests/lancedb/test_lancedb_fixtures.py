"""The LanceDB fixtures against a real lancedb: isolation, teardown, factories, async, health."""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path

import pytest

from tests.conftest import NO_COVERAGE

# Imported before any in-process pytester run, so that its sys.modules snapshot keeps lancedb (and
# pyarrow) loaded instead of importing them again in every run.
lancedb = pytest.importorskip("lancedb")
pyarrow = pytest.importorskip("pyarrow")
parquet = pytest.importorskip("pyarrow.parquet")

ISOLATION_SUITE = """
import pytest


@pytest.mark.parametrize("rows", range(1, 13))
def test_same_names_everywhere(lancedb_db, rows):
    assert lancedb_db.list_tables().tables == []
    lancedb_db.create_table("items", [{"id": i, "test": rows} for i in range(rows)])
    lancedb_db.create_table("users", [{"name": str(rows)}])
    items = lancedb_db.open_table("items").to_arrow()
    assert items.num_rows == rows
    assert set(items.column("test").to_pylist()) == {rows}
    assert sorted(lancedb_db.list_tables().tables) == ["items", "users"]
"""

LEFTOVERS_CONFTEST = """
import os

import pytest

OPENED = []


@pytest.fixture
def leftovers():
    # Set up before the LanceDB fixture, so this teardown runs after it.
    yield OPENED
    connection = OPENED.pop()
    assert connection.list_tables().tables == []
    if not connection.uri.startswith("memory://"):
        assert not os.path.exists(connection.uri), connection.uri
"""

LEFTOVERS_SUITE = """
import pytest


def test_many_tables(leftovers, lancedb_db):
    leftovers.append(lancedb_db)
    for number in range(12):
        lancedb_db.create_table(f"t{number}", [{"n": number}])
    assert len(lancedb_db.list_tables().tables) == 12


def test_factory_tables(leftovers, lancedb_db, lancedb_table):
    leftovers.append(lancedb_db)
    lancedb_table("a", [{"n": 1}])
    lancedb_table("b", [{"n": 2}])


def test_a_failing_test_is_cleaned_too(leftovers, lancedb_db):
    leftovers.append(lancedb_db)
    lancedb_db.create_table("a", [{"n": 1}])
    assert False, "on purpose"
"""


def configure_uri(pytester: pytest.Pytester, uri: str) -> None:
    pytester.makeini(f"[pytest]\natom_gates_lancedb_uri = {uri}\n")


@pytest.mark.parametrize("uri", ["memory://", "tmp_path", "dbs"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_tests_with_the_same_table_names_are_isolated_in_any_order(
    pytester: pytest.Pytester, uri: str, seed: int
) -> None:
    configure_uri(pytester, uri)
    pytester.makepyfile(test_isolation=ISOLATION_SUITE)
    result = pytester.runpytest("--atom-gates", NO_COVERAGE, f"--atom-gates-seed={seed}")
    result.assert_outcomes(passed=12)
    assert result.ret == pytest.ExitCode.OK


@pytest.mark.parametrize("uri", ["memory://", "tmp_path", "dbs"])
def test_teardown_leaves_nothing_behind(pytester: pytest.Pytester, uri: str) -> None:
    configure_uri(pytester, uri)
    pytester.makeconftest(LEFTOVERS_CONFTEST)
    pytester.makepyfile(test_leftovers=LEFTOVERS_SUITE)
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: on purpose*"])
    if uri == "dbs":
        assert list((pytester.path / "dbs").iterdir()) == []


def test_each_test_has_its_own_place_named_after_run_worker_and_test(
    pytester: pytest.Pytester,
) -> None:
    configure_uri(pytester, "dbs")
    pytester.makepyfile(
        """
        import os

        def test_one(lancedb_db):
            print("URI", lancedb_db.uri)

        def test_two(lancedb_db):
            print("URI", lancedb_db.uri)
        """
    )
    result = pytester.runpytest("-rP")
    result.assert_outcomes(passed=2)
    uris = [line.split(" ", 1)[1] for line in result.outlines if line.startswith("URI ")]
    root = pytester.path / "dbs"
    places = [Path(uri).relative_to(root).parts for uri in uris]
    assert len(places) == 2
    (run_one, worker_one, test_one), (run_two, worker_two, test_two) = places
    assert run_one == run_two
    assert run_one.startswith("atom-gates-")
    assert worker_one == worker_two
    assert test_one.endswith("-test_one")
    assert test_two.endswith("-test_two")
    assert test_one != test_two


def test_lancedb_uri_can_be_overridden_per_test_and_per_module(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_override="""
        import pytest

        @pytest.mark.parametrize("lancedb_uri", ["tmp_path"])
        def test_parametrized(lancedb_db, tmp_path):
            lancedb_db.create_table("t", [{"n": 1}])
            assert lancedb_db.uri.startswith(str(tmp_path))

        def test_default(lancedb_db):
            assert lancedb_db.uri == "memory://"
        """,
        test_module_override="""
        import pytest

        @pytest.fixture
        def lancedb_uri(tmp_path_factory):
            return str(tmp_path_factory.getbasetemp() / "module-dbs")

        def test_module_level(lancedb_db, tmp_path_factory):
            lancedb_db.create_table("t", [{"n": 1}])
            assert lancedb_db.uri.startswith(str(tmp_path_factory.getbasetemp() / "module-dbs"))
        """,
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=3)


def test_a_bad_lancedb_uri_override_fails_the_test_with_the_accepted_values(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("lancedb_uri", ["sqlite:///tmp/lancedb_test.db"])
        def test_bad(lancedb_db):
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "lancedb_uri fixture: invalid value 'sqlite:///tmp/lancedb_test.db' "
            "(unsupported scheme 'sqlite://'). Accepted: memory:// (the default)*"
        ]
    )
    result.stdout.no_fnmatch_line("*Traceback*")


def test_table_factory_accepts_every_kind_of_data(pytester: pytest.Pytester) -> None:
    data = pytester.mkdir("data")
    (data / "products.jsonl").write_text(
        '{"sku": "apple", "vector": [1.0, 0.0]}\n\n{"sku": "pear", "vector": [0.0, 1.0]}\n',
        encoding="utf-8",
    )
    parquet.write_table(pyarrow.table({"sku": ["plum", "fig", "kiwi"]}), data / "more.parquet")
    pytester.makepyfile(
        """
        import pyarrow as pa
        import pytest
        from lancedb.pydantic import LanceModel, Vector


        class Product(LanceModel):
            sku: str
            vector: Vector(2)


        @pytest.mark.parametrize(
            ("data", "rows"),
            [
                ([{"sku": "apple"}, {"sku": "pear"}], 2),
                (pa.table({"sku": ["apple"]}), 1),
                (pa.schema([("sku", pa.string())]), 0),
                (Product, 0),
                ([Product(sku="apple", vector=[1, 0])], 1),
                ("data/products.jsonl", 2),
                ("data/more.parquet", 3),
            ],
        )
        def test_kinds(lancedb_table, data, rows):
            assert lancedb_table("products", data).count_rows() == rows


        def test_file_with_a_schema(lancedb_table):
            table = lancedb_table("products", "data/products.jsonl", schema=Product)
            assert table.schema.field("vector").type == pa.list_(pa.float32(), 2)
            assert table.search([1.0, 0.0]).limit(1).to_list()[0]["sku"] == "apple"


        def test_options_reach_create_table(lancedb_table):
            lancedb_table("products", [{"sku": "apple"}])
            table = lancedb_table("products", [{"sku": "pear"}], mode="overwrite")
            assert table.to_arrow().column("sku").to_pylist() == ["pear"]


        def test_absolute_path(lancedb_table, request):
            path = request.path.parent / "data" / "products.jsonl"
            assert lancedb_table("products", path).count_rows() == 2
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=10)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        ('lancedb_table("t", "data/rows.csv")', "*data/rows.csv: cannot make a table from a .csv*"),
        ('lancedb_table("t", "data/bad.jsonl")', "*data/bad.jsonl:2: not JSON (Expecting value)"),
        ('lancedb_table("t", "data/list.jsonl")', "*list.jsonl:1: a row must be a JSON object*"),
        ('lancedb_table("t", SCHEMA, schema=SCHEMA)', "*a schema was given twice*"),
    ],
)
def test_table_factory_errors_say_what_is_wrong(
    pytester: pytest.Pytester, call: str, error: str
) -> None:
    data = pytester.mkdir("data")
    (data / "rows.csv").write_text("sku\napple\n", encoding="utf-8")
    (data / "bad.jsonl").write_text('{"sku": "apple"}\nnot json\n', encoding="utf-8")
    (data / "list.jsonl").write_text("[1, 2]\n", encoding="utf-8")
    pytester.makepyfile(
        f"""
        import pyarrow as pa

        SCHEMA = pa.schema([("sku", pa.string())])

        def test_bad(lancedb_table):
            {call}
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"E   *{error}"])


def test_worker_database_is_seeded_once_and_removed_at_the_end(pytester: pytest.Pytester) -> None:
    configure_uri(pytester, "dbs")
    pytester.makeconftest(
        """
        import pytest

        SEEDED = []


        @pytest.fixture(scope="session")
        def catalog(lancedb_worker_db):
            SEEDED.append(lancedb_worker_db.uri)
            return lancedb_worker_db.create_table("catalog", [{"sku": "apple"}, {"sku": "pear"}])
        """
    )
    pytester.makepyfile(
        """
        import pytest
        from conftest import SEEDED

        @pytest.mark.parametrize("n", range(4))
        def test_reads(catalog, n):
            assert catalog.count_rows() == 2
            assert len(SEEDED) == 1
            assert SEEDED[0].endswith("-worker")
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=4)
    assert list((pytester.path / "dbs").iterdir()) == []


ASYNC_SUITE = """
import pytest


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def check(db, make_table):
    assert (await db.list_tables()).tables == []
    table = await make_table("items", [{"n": 1}, {"n": 2}])
    assert await table.count_rows() == 2
    assert (await db.list_tables()).tables == ["items"]


@pytest.mark.asyncio
@pytest.mark.parametrize("run", range(3))
async def test_with_pytest_asyncio(lancedb_async_db, lancedb_async_table, run):
    await check(lancedb_async_db, lancedb_async_table)


@pytest.mark.anyio
@pytest.mark.parametrize("run", range(3))
async def test_with_anyio(lancedb_async_db, lancedb_async_table, run):
    await check(lancedb_async_db, lancedb_async_table)
"""


@pytest.mark.parametrize("uri", ["memory://", "tmp_path", "dbs"])
def test_async_fixtures_work_with_pytest_asyncio_and_anyio(
    pytester: pytest.Pytester, uri: str
) -> None:
    pytest.importorskip("pytest_asyncio")
    pytest.importorskip("anyio")
    configure_uri(pytester, uri)
    pytester.makepyfile(test_async=ASYNC_SUITE)
    result = pytester.runpytest("-p", "anyio")
    result.assert_outcomes(passed=6)
    if uri == "dbs":
        assert list((pytester.path / "dbs").iterdir()) == []


def test_a_failed_health_check_fails_each_lancedb_test_with_one_message(
    pytester: pytest.Pytester,
) -> None:
    blocker = pytester.path / "not-a-directory"
    blocker.write_text("a file where the databases should go\n", encoding="utf-8")
    configure_uri(pytester, "not-a-directory")
    pytester.makepyfile(
        """
        def test_one(lancedb_db):
            pass

        def test_two(lancedb_table):
            pass

        def test_plain():
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=2)
    message = (
        f"LanceDB health check failed at {blocker} (writing, reading and dropping a table in "
        f"{blocker}/atom-gates-*/*/0000-health-check): *Error: *"
    )
    assert sum(fnmatch(line, message) for line in result.outlines) == 2
    result.stdout.no_fnmatch_line("*Traceback*")


def test_the_health_check_runs_once_per_process_and_location(pytester: pytest.Pytester) -> None:
    configure_uri(pytester, "dbs")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("n", range(3))
        def test_configured(lancedb_db, n):
            pass

        @pytest.mark.parametrize("lancedb_uri", ["tmp_path"])
        @pytest.mark.parametrize("n", range(2))
        def test_elsewhere(lancedb_db, n):
            pass
        """
    )
    # A stand-in for the write-read-drop probe would test the stand-in; count the real probes by
    # the tables lancedb is asked to create under the probe's name.
    pytester.makeconftest(
        """
        import lancedb.db

        from pytest_atom_gates.lancedb.health import PROBE_TABLE

        PROBES = []
        _create = lancedb.db.LanceDBConnection.create_table


        def counting_create(self, name, *args, **kwargs):
            if name == PROBE_TABLE:
                PROBES.append(self.uri)
            return _create(self, name, *args, **kwargs)


        lancedb.db.LanceDBConnection.create_table = counting_create


        def pytest_terminal_summary(terminalreporter):
            terminalreporter.write_line(f"probes: {len(PROBES)}")
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["probes: 2"])
