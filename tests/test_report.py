"""The JSON report: valid against the shipped schema, atomic, and written whatever happens."""

from __future__ import annotations

import json

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_atom_gates.reporting.atomic import write_atomically
from pytest_atom_gates.reporting.json_report import schema
from tests.conftest import NO_COVERAGE, Gates

MIXED_SUITE = """
    import pytest
    @pytest.mark.parametrize("n", range(30))
    def test_pass(n): pass
    def test_fail(): assert False, "deliberate"
    @pytest.mark.skip(reason="later")
    def test_skip(): pass
    @pytest.mark.xfail
    def test_xfail(): assert False
    class TestGroup:
        def test_one(self): pass
        def test_two(self): pass
"""


def test_report_matches_the_schema(pytester: pytest.Pytester, any_engine: Gates) -> None:
    pytester.makepyfile(test_mixed=MIXED_SUITE)
    run = any_engine.run("--atom-gates-seed=42", "--atom-gates-min-pass-rate=90")
    report = run.report
    jsonschema.validate(report, schema())
    assert report["seed"] == 42
    assert report["exit_status"] == run.ret == 0
    assert report["summary"] == {
        "selected": 35,
        "passed": 32,
        "flaky": 0,
        "failed": 1,
        "skipped": 1,
        "xfailed": 1,
        "xpassed": 0,
        "not-run": 0,
    }
    assert len(report["order"]) == 35
    gates = [v["gate"] for v in report["verdicts"]]
    assert gates == ["TQ-01", "TQ-02", "TQ-03", "TQ-04", "TQ-05", "TQ-06"]
    failed = next(t for t in report["tests"] if t["nodeid"] == "test_mixed.py::test_fail")
    assert failed["attempts"][0]["error"] == "AssertionError: deliberate"
    assert report["environment"]["pytest"] == pytest.__version__


def test_xdist_run_equals_single_process_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_mixed=MIXED_SUITE)
    flags = ("--atom-gates-seed=42", "--atom-gates-min-pass-rate=90")
    single = Gates(pytester, "single").run(*flags, subprocess=True).report
    xdist = Gates(pytester, "xdist").run(*flags).report
    assert xdist["environment"]["workers"] == 2
    for key in ("seed", "summary", "order", "complete", "exit_status", "collection_errors"):
        assert single[key] == xdist[key], key

    def verdicts(report: dict[str, object]) -> list[tuple[object, ...]]:
        return [(v["gate"], v["verdict"], v["required"]) for v in report["verdicts"]]  # type: ignore[attr-defined, index]

    assert verdicts(single) == verdicts(xdist)
    assert [v["measured"] for v in single["verdicts"][:2]] == [
        v["measured"] for v in xdist["verdicts"][:2]
    ]

    def outcomes(report: dict[str, object]) -> dict[str, str]:
        return {t["nodeid"]: t["outcome"] for t in report["tests"]}  # type: ignore[attr-defined]

    assert outcomes(single) == outcomes(xdist)


def test_crashed_worker_leaves_its_test_failed_and_named(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_crash="""
        import os, pytest
        @pytest.mark.parametrize("n", range(20))
        def test_fine(n): pass
        def test_dies():
            os._exit(3)
    """
    )
    run = Gates(pytester, "xdist").run("--atom-gates-mode=TQ-01:off")
    assert run.ret == 1
    output = run.output
    assert "INTERNALERROR" not in output
    report = run.report
    jsonschema.validate(report, schema())
    dies = next(t for t in report["tests"] if t["nodeid"] == "test_crash.py::test_dies")
    assert dies["outcome"] == "failed"
    assert dies["attempts"][-1]["phase"] == "crash"
    assert "crashed while running 'test_crash.py::test_dies'" in dies["attempts"][-1]["error"]
    assert report["summary"]["passed"] == 20
    run.result.stdout.fnmatch_lines(
        ["failed tests (1):", "  test_crash.py::test_dies - worker * crashed*"]
    )


def test_no_temporary_files_are_left_when_the_write_fails(pytester: pytest.Pytester) -> None:
    """The disk fills while the report is written: the old report stays, no temporary file is
    left (in a subprocess: the patch must not leak into other in-process runs)."""
    pytester.makepyfile(test_s="def test_ok(): pass\n")
    (pytester.path / "out.json").write_text('{"previous": true}', encoding="utf-8")
    pytester.makeconftest("""
        import os
        def full_disk(fd):
            raise OSError(28, "No space left on device")
        os.fsync = full_disk
    """)
    result = pytester.runpytest_subprocess(
        "--atom-gates", NO_COVERAGE, "--atom-gates-report=out.json"
    )
    result.stdout.fnmatch_lines(["atom-gates: could not write the report to *out.json: *"])
    assert (pytester.path / "out.json").read_text(encoding="utf-8") == '{"previous": true}'
    leftovers = [p.name for p in pytester.path.iterdir() if p.name.startswith(".out.json")]
    assert leftovers == []


def test_report_write_failure_is_reported_not_raised(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_s="def test_ok(): pass\n")
    pytester.makeconftest("""
        import pytest_atom_gates.reporting.json_report as json_report
        def fail(path, report):
            raise OSError(28, "No space left on device")
        json_report.write_report = fail
    """)
    # In a subprocess: the patch must not leak into other in-process runs of this worker.
    result = pytester.runpytest_subprocess(
        "--atom-gates", NO_COVERAGE, "--atom-gates-report=out.json"
    )
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        ["atom-gates: could not write the report to *out.json: *No space left*"]
    )


@given(
    st.dictionaries(
        st.text(),
        st.recursive(
            st.none() | st.integers() | st.text(), lambda inner: st.lists(inner, max_size=3)
        ),
    )
)
def test_atomic_write_round_trips(
    tmp_path_factory: pytest.TempPathFactory, data: dict[str, object]
) -> None:
    path = tmp_path_factory.mktemp("atomic") / "report.json"
    write_atomically(path, json.dumps(data))
    assert json.loads(path.read_text(encoding="utf-8")) == data
    assert [p.name for p in path.parent.iterdir()] == ["report.json"]
