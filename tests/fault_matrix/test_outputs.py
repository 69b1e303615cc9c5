"""Fault matrix: what the plugin writes (step summary, report files, reproduce commands)."""

from __future__ import annotations

import os
import shlex
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_atom_gates.ordering import shuffled_order
from pytest_atom_gates.reporting.github import DETAIL_LIMIT, SUMMARY_LIMIT
from tests.conftest import Gates, no_traceback

QUIET = ("--atom-gates-reruns=0", "--atom-gates-mode=TQ-01:off", "--tb=no", "-q")
"""Many failures, each judged once: no reruns, no alone-runs, no tracebacks printed."""


@pytest.fixture
def summary_file(github_summary: Path) -> Path:
    return github_summary


def test_step_summary_shortens_long_messages(
    pytester: pytest.Pytester, gates: Gates, summary_file: Path
) -> None:
    pytester.makepyfile(
        test_s="""
        import pytest
        @pytest.mark.parametrize("n", range(60))
        def test_big(n):
            assert 0, "x" * 30_000
    """
    )
    run = gates.run(*QUIET)
    assert run.ret == 1
    assert no_traceback(run.output)
    text = summary_file.read_text(encoding="utf-8")
    assert len(text.encode()) < 64 * 1024
    assert "#### Failed tests (60)" in text
    entries = [line for line in text.splitlines() if line.startswith("- `test_s.py::test_big[")]
    assert len(entries) == 50
    shortened = "x" * (DETAIL_LIMIT - len("AssertionError: ") - 3) + "..."
    assert entries[0].endswith(f" - `AssertionError: {shortened}`")
    assert "- ... and 10 more: every entry is in the JSON report atom-gates-report.json" in text


def test_step_summary_stays_within_githubs_limit(
    pytester: pytest.Pytester, gates: Gates, summary_file: Path
) -> None:
    """Earlier output of the same step counts towards GitHub's 1 MiB."""
    earlier = "e" * (SUMMARY_LIMIT - 3000) + "\n"
    summary_file.write_text(earlier, encoding="utf-8")
    pytester.makepyfile(
        test_s="""
        import pytest
        @pytest.mark.parametrize("n", range(60))
        def test_big(n):
            assert 0, "y" * 1000
    """
    )
    run = gates.run(*QUIET)
    assert run.ret == 1
    content = summary_file.read_bytes()
    assert len(content) <= SUMMARY_LIMIT
    added = content.decode()[len(earlier) :]
    assert added.startswith("### atom-gates: FAIL - TQ-02 pass rate")
    assert "| TQ-02 | pass rate | \u274c FAIL | 0.00 % (0/60) | >= 98 % |" in added
    assert added.endswith(
        "\n\n- ... the summary stops here: GitHub takes at most 1 MiB per step. "
        "Every entry is in the JSON report atom-gates-report.json\n\n"
    )


def test_step_summary_without_a_report_says_how_to_get_one(
    pytester: pytest.Pytester, gates: Gates, summary_file: Path
) -> None:
    pytester.makepyfile(
        test_s="""
        import pytest
        @pytest.mark.parametrize("n", range(51))
        def test_bad(n):
            assert 0
    """
    )
    gates.run(*QUIET, report=False)
    text = summary_file.read_text(encoding="utf-8")
    assert "- ... and 1 more: every entry is in the JSON report (--atom-gates-report=PATH)" in text


def test_reproduce_argument_files_are_one_per_test(pytester: pytest.Pytester, gates: Gates) -> None:
    """Node ids that differ only in punctuation never share an argument file."""
    if not hasattr(pytest, "version_tuple") or pytest.version_tuple < (8, 2):
        pytest.skip("pytest reads @file arguments since 8.2")
    pytester.makepyfile(
        test_s="""
        import pytest
        @pytest.mark.parametrize("n", range(45))
        def test_other(n): pass
        @pytest.mark.parametrize("d", ["1.5", "1-5"], ids=["1.5", "1-5"])
        def test_d(request, d):
            assert request.session.testscollected == 1, "not alone"
    """
    )
    chains = [["test_s.py", f"test_s.py::test_other[{n}]"] for n in range(45)]
    chains += [["test_s.py", "test_s.py::test_d[1.5]"], ["test_s.py", "test_s.py::test_d[1-5]"]]
    seed = next(
        s for s in range(2000) if min(shuffled_order(chains, s).index(i) for i in (45, 46)) > 35
    )
    # The alone-runs only: a polluter search would shorten the commands to the polluter.
    run = gates.run(
        f"--atom-gates-seed={seed}", "--atom-gates-min-pass-rate=0", "--atom-gates-order-checks=2"
    )
    checks = {c["nodeid"]: c for c in run.report["order_checks"]}
    assert set(checks) == {"test_s.py::test_d[1.5]", "test_s.py::test_d[1-5]"}
    files = {}
    for nodeid, check in checks.items():
        *_, args_file = shlex.split(check["reproduce"])
        assert args_file.startswith("@")
        lines = Path(args_file[1:]).read_text(encoding="utf-8").splitlines()
        assert lines == [*check["ran_before"], nodeid]
        files[nodeid] = args_file
    assert len(set(files.values())) == 2
    for nodeid, args_file in files.items():
        replay = pytester.runpytest(*shlex.split(checks[nodeid]["reproduce"])[1:-1], args_file)
        ran_before = checks[nodeid]["ran_before"]
        others = sum(n in checks for n in ran_before)  # fail too: they are not alone either
        replay.assert_outcomes(passed=len(ran_before) - others, failed=1 + others)


@pytest.fixture
def umask_027() -> Iterator[None]:
    previous = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
@pytest.mark.usefixtures("umask_027")
def test_report_and_history_follow_the_umask(pytester: pytest.Pytester, any_engine: Gates) -> None:
    pytester.makepyfile(test_s="def test_ok(): pass\n")
    run = any_engine.run()
    assert run.ret == 0
    history = pytester.path.joinpath(".pytest_cache", "d", "atom_gates", "history.json")
    assert stat.S_IMODE(run.report_path.stat().st_mode) == 0o640
    assert stat.S_IMODE(history.stat().st_mode) == 0o640


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
@pytest.mark.usefixtures("umask_027")
def test_rewritten_report_keeps_its_mode(pytester: pytest.Pytester, gates: Gates) -> None:
    """As a file opened for writing would: an existing report's mode stands."""
    pytester.makepyfile(test_s="def test_ok(): pass\n")
    report = pytester.path / "atom-gates-report.json"
    report.write_text("{}")
    report.chmod(0o644)
    run = gates.run()
    assert run.report["exit_status"] == 0
    assert stat.S_IMODE(report.stat().st_mode) == 0o644


FORGED = "x\n::error title=forged::pwned\n# forged heading"
UNESCAPED_IDS = "disable_test_id_escaping_and_forfeit_all_rights_to_community_support = true"


def test_node_ids_with_newlines_stay_on_one_line(
    pytester: pytest.Pytester, any_engine: Gates, summary_file: Path
) -> None:
    pytester.makeini(f"[pytest]\n{UNESCAPED_IDS}\n")
    pytester.makepyfile(
        test_s=f"""
        import pytest
        @pytest.mark.parametrize("v", [1], ids=[{FORGED!r}])
        def test_x(v):
            assert 0, "boom"
    """
    )
    run = any_engine.run(*QUIET, "-rN", "--atom-gates-min-pass-rate=0")
    nodeid = f"test_s.py::test_x[{FORGED}]"
    assert run.outcomes() == {nodeid: "failed"}
    shown = "test_s.py::test_x[x\\n::error title=forged::pwned\\n# forged heading]"
    assert f"  {shown}" in run.result.outlines
    assert not any(line.startswith("::error title=forged") for line in run.result.outlines)
    text = summary_file.read_text(encoding="utf-8")
    assert f"- `{shown}` - `AssertionError: boom`" in text.splitlines()
    assert not any(line.startswith(("::", "# forged")) for line in text.splitlines())
