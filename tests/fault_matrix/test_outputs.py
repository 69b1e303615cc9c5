"""Fault matrix: what the plugin writes (step summary, report files, reproduce commands)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_atom_gates.reporting.github import DETAIL_LIMIT, SUMMARY_LIMIT
from tests.conftest import Gates, no_traceback

QUIET = ("--atom-gates-reruns=0", "--atom-gates-mode=TQ-01:off", "--tb=no", "-q")
"""Many failures, each judged once: no reruns, no alone-runs, no tracebacks printed."""


@pytest.fixture
def summary_file(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    summary = pytester.path / "step-summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_WORKSPACE", str(pytester.path))
    return summary


def test_step_summary_shortens_long_messages(
    pytester: pytest.Pytester, gates: Gates, summary_file: Path
) -> None:
    pytester.makepyfile(
        test_s="""
        import pytest
        @pytest.mark.parametrize("n", range(600))
        def test_big(n):
            assert 0, "x" * 30_000
    """
    )
    run = gates.run(*QUIET)
    assert run.ret == 1
    assert no_traceback(run.output)
    text = summary_file.read_text(encoding="utf-8")
    assert len(text.encode()) < 64 * 1024
    assert "#### Failed tests (600)" in text
    entries = [line for line in text.splitlines() if line.startswith("- `test_s.py::test_big[")]
    assert len(entries) == 50
    shortened = "x" * (DETAIL_LIMIT - len("AssertionError: ") - 3) + "..."
    assert entries[0].endswith(f" - `AssertionError: {shortened}`")
    assert "- ... and 550 more: every entry is in the JSON report atom-gates-report.json" in text


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
