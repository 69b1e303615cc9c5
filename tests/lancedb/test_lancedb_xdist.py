"""The LanceDB fixtures under two xdist workers: same table names everywhere, nothing left over."""

from __future__ import annotations

import re

import pytest

from tests.conftest import NO_COVERAGE

lancedb = pytest.importorskip("lancedb")
pytest.importorskip("xdist")

TESTS = 40
SUITE = f"""
import pytest


@pytest.fixture(scope="session")
def catalog(lancedb_worker_db, pytestconfig, worker_id):
    seeded = pytestconfig.rootpath / f"seeded-{{worker_id}}.log"
    with seeded.open("a", encoding="utf-8") as log:
        log.write(lancedb_worker_db.uri + "\\n")
    return lancedb_worker_db.create_table("catalog", [{{"sku": "apple"}}, {{"sku": "pear"}}])


@pytest.mark.parametrize("rows", range(1, {TESTS + 1}))
def test_same_table_names_on_every_worker(lancedb_table, catalog, rows):
    items = lancedb_table("items", [{{"id": i, "test": rows}} for i in range(rows)])
    lancedb_table("users", [{{"name": str(rows)}}])
    assert items.count_rows() == rows
    assert set(items.to_arrow().column("test").to_pylist()) == {{rows}}
    assert catalog.count_rows() == 2
"""


@pytest.mark.parametrize("uri", ["memory://", "dbs"])
def test_two_workers_share_nothing_and_leave_nothing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, uri: str
) -> None:
    # The location comes from the environment here, as it would in CI.
    monkeypatch.setenv("LANCEDB_URI", uri)
    pytester.makepyfile(test_workers=SUITE)
    result = pytester.runpytest_subprocess(
        "-n",
        "2",
        "--atom-gates",
        NO_COVERAGE,
        "--atom-gates-seed=7",
        "-v",
    )
    result.assert_outcomes(passed=TESTS)
    assert result.ret == pytest.ExitCode.OK

    # -v prints "[gw0] [  2%] PASSED test_workers.py::..." for every test a worker ran.
    workers = sorted(
        {m.group(1) for m in re.finditer(r"^\[(gw\d+)\] .*PASSED", result.stdout.str(), re.M)}
    )
    logs = sorted(pytester.path.glob("seeded-gw*.log"))
    # Each worker that ran a test seeded its database once, and only those.
    assert workers, result.stdout.str()
    assert [log.stem.removeprefix("seeded-") for log in logs] == workers
    seeded = [log.read_text(encoding="utf-8").splitlines() for log in logs]
    assert all(len(lines) == 1 for lines in seeded), seeded
    uris = [lines[0] for lines in seeded]
    if uri == "dbs":
        assert len(set(uris)) == len(uris)
        assert list((pytester.path / "dbs").iterdir()) == []
