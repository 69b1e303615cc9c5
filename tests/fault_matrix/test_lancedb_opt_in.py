"""Fault matrix: the LanceDB fixtures change nothing for a suite that does not use them.

Every run here is a subprocess that cannot import lancedb, whether or not it is installed.
"""

from __future__ import annotations

import pytest

from pytest_atom_gates.lancedb.settings import DISABLE_ENV, URI_ENV
from tests.conftest import no_traceback
from tests.lancedb.child_files import NOT_INSTALLED

PLAIN = "def test_plain():\n    pass\n"
USES_LANCEDB = "def test_vectors(lancedb_db):\n    pass\n"
ACCEPTED = (
    "Accepted: memory:// (the default), tmp_path (a directory under each test's tmp_path), "
    "a local directory (a path or a file:// URI), or an object store prefix: "
    "s3://BUCKET/PREFIX, gs://BUCKET/PREFIX, az://BUCKET/PREFIX."
)
DB_REASON = (
    "LanceDB Cloud (db://) is not supported: the fixtures make and remove a database for each "
    "test, which needs a directory or an object store prefix"
)
ENGINES = [(), ("-n", "2")]


@pytest.fixture(autouse=True)
def _without_lancedb(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (DISABLE_ENV, URI_ENV):
        monkeypatch.delenv(name, raising=False)
    pytester.makepyfile(sitecustomize=NOT_INSTALLED)


def test_a_projects_own_lancedb_db_fixture_runs(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        "import pytest\n\n@pytest.fixture\ndef lancedb_db():\n    return 'our own'\n"
    )
    pytester.makepyfile(test_own="def test_own(lancedb_db):\n    assert lancedb_db\n")
    result = pytester.runpytest_subprocess("-rs")
    result.assert_outcomes(passed=1)


def test_an_override_that_requests_ours_is_still_a_lancedb_test(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        "import pytest\n\n@pytest.fixture\ndef lancedb_db(lancedb_db):\n    return lancedb_db\n"
        "\n@pytest.fixture\ndef lancedb_uri():\n    return 'tmp_path'\n"
    )
    pytester.makepyfile(
        test_s="def test_db(lancedb_db): pass\n\ndef test_uri_only(lancedb_uri): pass\n"
    )
    result = pytester.runpytest_subprocess("-rs")
    result.assert_outcomes(passed=1, skipped=1)
    assert (
        "SKIPPED [1] test_s.py: lancedb is not installed: pip install 'pytest-atom-gates[lancedb]'"
    ) in result.outlines


@pytest.mark.parametrize("engine", ENGINES, ids=["single", "xdist"])
@pytest.mark.parametrize(
    ("variable", "value"),
    [(URI_ENV, "db://my-project/prod"), (DISABLE_ENV, "false"), (URI_ENV, "sqlite:///x.db")],
)
def test_lancedb_environment_is_ignored_without_lancedb_tests(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    engine: tuple[str, ...],
    variable: str,
    value: str,
) -> None:
    monkeypatch.setenv(variable, value)
    pytester.makepyfile(test_plain=PLAIN)
    result = pytester.runpytest_subprocess(*engine)
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.OK


@pytest.mark.parametrize("engine", ENGINES, ids=["single", "xdist"])
@pytest.mark.parametrize(
    ("setting", "error"),
    [
        (
            (URI_ENV, "db://my-project/prod"),
            f"environment variable {URI_ENV}: invalid value 'db://my-project/prod' "
            f"({DB_REASON}). {ACCEPTED}",
        ),
        (
            (DISABLE_ENV, "false"),
            "ATOM_DISABLE_LANCEDB=false requires lancedb, but it is not installed: "
            "pip install 'pytest-atom-gates[lancedb]'",
        ),
    ],
)
def test_lancedb_environment_is_checked_before_lancedb_tests_run(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    engine: tuple[str, ...],
    setting: tuple[str, str],
    error: str,
) -> None:
    monkeypatch.setenv(*setting)
    pytester.makepyfile(
        test_plain="import pathlib\n\ndef test_plain():\n    pathlib.Path('ran').touch()\n",
        test_vectors=USES_LANCEDB,
    )
    result = pytester.runpytest_subprocess(*engine)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"ERROR: {error}" in result.stderr.lines
    assert no_traceback(result.stdout.str() + result.stderr.str())
    assert not (pytester.path / "ran").exists()


def test_a_file_uri_with_a_query_is_refused(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_vectors=USES_LANCEDB)
    result = pytester.runpytest_subprocess("--atom-gates-lancedb-uri=file:///srv/db?token=SECRET")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert (
        "ERROR: --atom-gates-lancedb-uri: invalid value 'file:///srv/db?***' (a file:// URI "
        f"takes no query or fragment: it names a directory). {ACCEPTED}"
    ) in result.stderr.lines
    assert "SECRET" not in result.stdout.str() + result.stderr.str()
