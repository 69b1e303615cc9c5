"""Fault matrix: messages that say what was wrong, where it was set, and what happened."""

from __future__ import annotations

import pytest

from tests.conftest import Gates, no_traceback


def test_a_garbage_seed_cache_is_named_as_such(pytester: pytest.Pytester) -> None:
    cache = pytester.path / ".pytest_cache" / "v" / "atom_gates"
    cache.mkdir(parents=True)
    (cache / "seed").write_text("garbage{", encoding="utf-8")
    pytester.makepyfile(test_one="def test_one():\n    pass\n")
    result = pytester.runpytest("--atom-gates", "--atom-gates-seed=last")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: --atom-gates-seed=last: the cache entry 'atom_gates/seed' in *.pytest_cache "
            "cannot be read (not JSON), so it holds no seed. Pass --atom-gates-seed=random to "
            "replace it, or clear it with --cache-clear."
        ]
    )


def test_an_unwritable_report_path_from_the_ini_file_names_the_ini_key(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\natom_gates_report = missing/dir/report.json\n")
    (pytester.path / "missing").write_text("a file, not a folder", encoding="utf-8")
    pytester.makepyfile(test_one="def test_one():\n    pass\n")
    result = pytester.runpytest("--atom-gates")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: ini option atom_gates_report in {pytester.path / 'tox.ini'}: cannot write *"]
    )


@pytest.mark.parametrize("where", ["ini", "-o"])
def test_an_empty_report_path_in_the_ini_file_is_refused_like_on_the_command_line(
    pytester: pytest.Pytester, where: str
) -> None:
    pytester.makepyfile(test_one="def test_one():\n    pass\n")
    if where == "ini":
        pytester.makeini("[pytest]\natom_gates_report =\n")
        result = pytester.runpytest("--atom-gates")
        source = f"ini option atom_gates_report in {pytester.path / 'tox.ini'}"
    else:
        result = pytester.runpytest("--atom-gates", "-o", "atom_gates_report=")
        source = "ini option atom_gates_report"
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {source}*: invalid value '' (empty). Accepted: *"])
    cli = pytester.runpytest("--atom-gates", "--atom-gates-report=")
    cli.stderr.fnmatch_lines(["ERROR: --atom-gates-report: invalid value '' (empty). Accepted: *"])


COLLECTION_ERROR = {
    "test_bad": "def broken(\n",
    "test_ok": "".join(f"def test_{n}():\n    pass\n\n" for n in range(6)),
}


def test_a_collection_error_names_the_exception_and_counts_alike_under_xdist(
    pytester: pytest.Pytester, any_engine: Gates
) -> None:
    pytester.makepyfile(**COLLECTION_ERROR)
    run = any_engine.run()
    assert run.ret == 1, run.output
    verdict = run.verdict("TQ-02")
    assert verdict["measured"] == "0.00 % (0/6)"
    assert verdict["reason"].startswith(
        "6 tests of 6 did not pass, below the minimum of 98 %; collection failed: 1 error "
        "(first: test_bad.py: SyntaxError: '(' was never closed); "
    )
    assert verdict["reason"].endswith("6 selected tests did not run")
    assert set(run.outcomes().values()) == {"not-run"}


def test_a_partial_run_of_two_files_names_both(pytester: pytest.Pytester, gates: Gates) -> None:
    pytester.makepyfile(
        test_a="def test_a():\n    pass\n",
        test_b="def test_b():\n    pass\n",
        test_c="def test_c():\n    pass\n",
    )
    run = gates.run("test_a.py", "test_b.py")
    assert run.report["run"]["partial"] == "files test_a.py, test_b.py"


def test_a_crashed_alone_run_says_how_it_ended(pytester: pytest.Pytester, gates: Gates) -> None:
    """The child of the alone-run dies of SIGSEGV: say so, not a traceback's last line."""
    pytester.makepyfile(
        test_crash="""
        import ctypes
        import pathlib

        def test_crashes_alone():
            mark = pathlib.Path("ran-once")
            if mark.exists():  # the alone-run
                ctypes.string_at(0)
            mark.write_text("yes")
            assert 0
        """
    )
    run = gates.run("--atom-gates-reruns=0", "--atom-gates-min-pass-rate=0")
    assert no_traceback(run.output)
    (check,) = run.report["order_checks"]
    assert (check["result"], check["detail"]) == (
        "inconclusive",
        "the alone-run gave no result (killed by SIGSEGV)",
    )
