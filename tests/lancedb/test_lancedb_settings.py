"""LanceDB settings, switches and the marker: none of these tests needs lancedb installed."""

from __future__ import annotations

import re
import sys

import pytest

from tests.lancedb.child_files import IMPORT_REPORT

SUITE = """
import pytest


@pytest.fixture
def products(lancedb_table):
    return lancedb_table("products", [{"sku": "apple"}])


def test_direct(lancedb_db):
    assert lancedb_db.list_tables().tables == []


def test_through_a_fixture(products):
    assert products.count_rows() == 1


@pytest.mark.lancedb
def test_marked_by_hand():
    pass


def test_plain():
    pass
"""
# Environment variables, ini keys and options, read alike by every Python: py311 runs them
# without lancedb, tox -e lancedb with it.
pytestmark = pytest.mark.one_python

LANCEDB_TESTS = ("test_direct", "test_through_a_fixture", "test_marked_by_hand")
USAGE_ERROR = pytest.ExitCode.USAGE_ERROR


def skipped_with(result: pytest.RunResult, reason: str) -> int:
    """How many tests the short summary (-rs) lists as skipped for exactly ``reason``."""
    pattern = re.compile(r"SKIPPED \[(\d+)\] test_suite\.py(?::\d+)?: (.*)")
    matches = (pattern.fullmatch(line) for line in result.outlines)
    return sum(int(m[1]) for m in matches if m is not None and m[2] == reason)


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(test_suite=SUITE)
    pytester.makeconftest(IMPORT_REPORT)
    return pytester


def test_plugin_module_imports_nothing_heavy(pytester: pytest.Pytester) -> None:
    code = (
        "import sys, pytest_atom_gates.lancedb.plugin; "
        "print(sorted(m for m in ('lancedb', 'pyarrow', 'pandas', 'pydantic') if m in sys.modules))"
    )
    result = pytester.run(sys.executable, "-c", code)
    assert result.ret == 0
    assert result.outlines[-1] == "[]"


@pytest.mark.parametrize("value", ["true", "1", "YES", " On "])
def test_disabled_skips_lancedb_tests_without_importing_lancedb(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("ATOM_DISABLE_LANCEDB", value)
    result = suite.runpytest_subprocess("-rs")
    result.assert_outcomes(passed=1, skipped=3)
    reason = f"LanceDB tests are disabled by ATOM_DISABLE_LANCEDB={value.strip()}"
    assert skipped_with(result, reason) == 3
    result.stdout.fnmatch_lines(["lancedb imported: False"])


@pytest.mark.usefixtures("lancedb_not_installed")
@pytest.mark.parametrize("value", [None, "", "  "])
def test_unset_and_missing_skips_with_the_install_hint(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is not None:
        monkeypatch.setenv("ATOM_DISABLE_LANCEDB", value)
    result = suite.runpytest_subprocess("-rs")
    result.assert_outcomes(passed=1, skipped=3)
    reason = "lancedb is not installed: pip install 'pytest-atom-gates[lancedb]'"
    assert skipped_with(result, reason) == 3
    assert result.ret == pytest.ExitCode.OK


@pytest.mark.usefixtures("lancedb_not_installed")
@pytest.mark.parametrize("value", ["false", "0", "No", "OFF"])
def test_required_and_missing_is_a_usage_error(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("ATOM_DISABLE_LANCEDB", value)
    result = suite.runpytest_subprocess()
    assert result.ret == USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: ATOM_DISABLE_LANCEDB={value} requires lancedb, but it is not installed: "
            "pip install 'pytest-atom-gates[[]lancedb[]]'"
        ]
    )
    result.stdout.no_fnmatch_line("*passed*")


@pytest.mark.usefixtures("lancedb_broken")
@pytest.mark.parametrize(("value", "shown"), [("false", "=false"), (None, " unset")])
def test_installed_but_broken_fails_the_lancedb_tests_with_one_message(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, value: str | None, shown: str
) -> None:
    if value is not None:
        monkeypatch.setenv("ATOM_DISABLE_LANCEDB", value)
    result = suite.runpytest_subprocess()
    result.assert_outcomes(passed=2, errors=2)
    message = (
        "lancedb could not be imported: ImportError: _lancedb.abi3.so: undefined symbol: "
        f"lance_open (ATOM_DISABLE_LANCEDB{shown})"
    )
    assert result.outlines.count(message) == 2
    result.stdout.no_fnmatch_line("*Traceback*")


ACCEPTED = (
    "Accepted: memory:// (the default), tmp_path (a directory under each test's tmp_path), "
    "a local directory (a path or a file:// URI), or an object store prefix: "
    "s3://BUCKET/PREFIX, gs://BUCKET/PREFIX, az://BUCKET/PREFIX."
)
BAD_URIS = [
    ("sqlite:///tmp/lancedb_test.db", "unsupported scheme 'sqlite://'"),
    (
        "db://my-cloud-database",
        "LanceDB Cloud (db://) is not supported: the fixtures make and remove a database for "
        "each test, which needs a directory or an object store prefix",
    ),
    (
        "file:///srv/lancedb?token=x",
        "a file:// URI takes no query or fragment: it names a directory",
    ),
    ("memory://shared", "memory:// takes no name or path: every test gets its own database"),
    ("s3://", "s3:// needs a bucket, as in s3://bucket/prefix"),
    ("gs://bucket/prefix?token=x", "options belong in the storage options, not in the URI"),
    ("file://relative/dir", "a file:// URI needs an absolute path, as in file:///srv/lancedb"),
]


@pytest.mark.parametrize(("uri", "problem"), BAD_URIS)
def test_a_bad_uri_on_the_command_line_is_a_usage_error(
    suite: pytest.Pytester, uri: str, problem: str
) -> None:
    result = suite.runpytest(f"--atom-gates-lancedb-uri={uri}")
    assert result.ret == USAGE_ERROR
    shown = uri.replace("?token=x", "?***")
    line = f"ERROR: --atom-gates-lancedb-uri: invalid value '{shown}' ({problem}). {ACCEPTED}"
    result.stderr.fnmatch_lines([line.replace("[", "[[]").replace("?", "[?]")])


@pytest.mark.parametrize(
    ("variable", "value", "error"),
    [
        (
            "ATOM_DISABLE_LANCEDB",
            "maybe",
            "invalid value 'maybe' (not a boolean). Accepted: true, 1, yes or on to skip the "
            "LanceDB tests; false, 0, no or off to require lancedb; unset to run them when "
            "lancedb is installed (case-insensitive).",
        ),
        (
            "LANCEDB_URI",
            "sqlite:///tmp/lancedb_test.db",
            "invalid value 'sqlite:///tmp/lancedb_test.db' (unsupported scheme 'sqlite://'). "
            + ACCEPTED,
        ),
    ],
)
def test_a_bad_environment_variable_is_a_usage_error(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, error: str
) -> None:
    monkeypatch.setenv(variable, value)
    result = suite.runpytest_subprocess()
    assert result.ret == USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: environment variable {variable}: {error}"])
    result.stdout.no_fnmatch_line("*passed*")


def test_a_bad_uri_in_the_ini_file_is_a_usage_error(suite: pytest.Pytester) -> None:
    suite.makeini("[pytest]\natom_gates_lancedb_uri = sqlite:///tmp/lancedb_test.db\n")
    result = suite.runpytest()
    assert result.ret == USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: ini option atom_gates_lancedb_uri in *tox.ini: invalid value "
            "'sqlite:///tmp/lancedb_test.db' (unsupported scheme 'sqlite://')*"
        ]
    )


def test_credentials_in_a_bad_uri_are_not_shown(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--atom-gates-lancedb-uri=s3://AKIDEXAMPLE:wJalrXUtnFEMI@bucket/x")
    assert result.ret == USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: --atom-gates-lancedb-uri: invalid value 's3://***@bucket/x' "
            "(credentials belong in the storage options, not in the URI)*"
        ]
    )
    assert "wJalrXUtnFEMI" not in result.stderr.str() + result.stdout.str()


@pytest.mark.parametrize(
    ("entry", "shown", "problem"),
    [
        ("aws_secret_access_key:wJalrXUtnFEMI", "***", "no '=' between key and value"),
        ("=wJalrXUtnFEMI", "=***", "a key is made of letters, digits, '_', '.' and '-'"),
        ("bad key=wJalrXUtnFEMI", "bad key=***", "a key is made of letters*"),
    ],
)
def test_a_bad_storage_option_is_a_usage_error_that_hides_the_value(
    suite: pytest.Pytester, entry: str, shown: str, problem: str
) -> None:
    result = suite.runpytest(f"--atom-gates-lancedb-storage-option={entry}")
    assert result.ret == USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: --atom-gates-lancedb-storage-option: invalid value '{shown}' ({problem}*"
            "Accepted: KEY=VALUE pairs*"
        ]
    )
    assert "wJalrXUtnFEMI" not in result.stderr.str() + result.stdout.str()


def test_a_bad_storage_option_in_the_ini_file_names_the_file(suite: pytest.Pytester) -> None:
    suite.makeini(
        "[pytest]\natom_gates_lancedb_storage_option =\n"
        "    aws_region=eu-west-1\n    aws_secret_access_key\n"
    )
    result = suite.runpytest()
    assert result.ret == USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: ini option atom_gates_lancedb_storage_option in *tox.ini: invalid value "
            "'***' (no '=' between key and value)*"
        ]
    )


def test_the_header_shows_the_location_and_hides_secret_storage_options(
    suite: pytest.Pytester,
) -> None:
    suite.makeini(
        "[pytest]\n"
        "atom_gates_lancedb_uri = s3://bucket/tests/\n"
        "atom_gates_lancedb_storage_option =\n"
        "    aws_endpoint=http://127.0.0.1:9000\n"
        "    aws_access_key_id=AKIDEXAMPLE\n"
        "    aws_secret_access_key=wJalrXUtnFEMI\n"
        "    allow_http=true\n"
    )
    result = suite.runpytest("--collect-only")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "lancedb: test databases in s3://bucket/tests (storage options: "
            "aws_endpoint=http://127.0.0.1:9000, aws_access_key_id=***, "
            "aws_secret_access_key=***, allow_http=true)"
        ]
    )
    output = result.stdout.str() + result.stderr.str()
    assert "wJalrXUtnFEMI" not in output
    assert "AKIDEXAMPLE" not in output


def test_the_former_ini_name_of_storage_options_is_read_with_a_warning(
    suite: pytest.Pytester,
) -> None:
    suite.makeini(
        "[pytest]\n"
        "atom_gates_lancedb_uri = s3://bucket/tests/\n"
        "atom_gates_lancedb_storage_options = allow_http=true\n"
    )
    result = suite.runpytest("--collect-only", "--strict-config")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "lancedb: test databases in s3://bucket/tests (storage options: allow_http=true)",
            "*PytestConfigWarning: atom_gates_lancedb_storage_options is the former name of the "
            "ini key atom_gates_lancedb_storage_option (like --atom-gates-lancedb-storage-option):"
            " rename it; the old name is read until 0.2.0",
        ]
    )


def test_no_header_line_with_default_settings(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--collect-only")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.no_fnmatch_line("lancedb:*")


@pytest.mark.parametrize(
    ("cli", "env", "expected"),
    [
        ("from-cli", "from-env", "{cwd}/from-cli"),
        (None, "from-env", "{cwd}/from-env"),
        (None, None, "{ini}/from-ini"),
    ],
)
def test_command_line_beats_environment_beats_ini(
    suite: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    cli: str | None,
    env: str | None,
    expected: str,
) -> None:
    suite.makeini("[pytest]\natom_gates_lancedb_uri = from-ini\n")
    cwd = suite.mkdir("elsewhere")
    monkeypatch.chdir(cwd)
    if env is not None:
        monkeypatch.setenv("LANCEDB_URI", env)
    args = [f"--atom-gates-lancedb-uri={cli}"] if cli else []
    result = suite.runpytest_subprocess("--collect-only", str(suite.path), *args)
    assert result.ret == pytest.ExitCode.OK
    where = expected.format(cwd=cwd, ini=suite.path)
    result.stdout.fnmatch_lines([f"lancedb: test databases in {where}"])


@pytest.mark.parametrize(
    ("expression", "selected"),
    [("lancedb", LANCEDB_TESTS), ("not lancedb", ("test_plain",))],
)
def test_marker_selects_exactly_the_lancedb_tests(
    suite: pytest.Pytester, expression: str, selected: tuple[str, ...]
) -> None:
    result = suite.runpytest("--strict-markers", "-m", expression, "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.OK
    listed = sorted(line.rpartition("::")[2] for line in result.outlines if "::" in line)
    assert listed == sorted(selected)


def test_marker_is_registered(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.lancedb: a LanceDB integration test;*"])


def test_the_plugin_can_be_switched_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_direct(lancedb_db):\n    pass\n")
    result = pytester.runpytest("-p", "no:atom_gates_lancedb")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'lancedb_db' not found*"])
