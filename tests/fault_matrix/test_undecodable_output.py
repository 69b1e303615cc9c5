"""Output from a test or a child is bytes until proven text: nothing a test prints, raises or
names may cost a verdict or a report."""

from __future__ import annotations

import pytest

from tests.conftest import Gates


def test_a_lone_surrogate_in_a_failure_costs_no_verdict(
    pytester: pytest.Pytester, gates: Gates, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANG", "C.UTF-8")
    pytester.makepyfile(
        test_names="""
        import os, sys
        def test_file_name():
            sys.stdout.write(os.fsdecode(b"\\xff.csv") + "\\n")
            assert os.fsdecode(b"\\xff.csv") == "a.csv"
        def test_ok(): pass
        """
    )
    html = pytester.path / "page.html"
    run = gates.run("--atom-gates-min-pass-rate=50", f"--atom-gates-html={html}")
    check = run.report["order_checks"][0]
    assert (check["nodeid"], check["result"]) == ("test_names.py::test_file_name", "fails-alone")
    assert run.verdict("TQ-01")["verdict"] == "PASS"
    assert run.ret == 0
    assert html.exists()
    assert "Traceback" not in run.output
    # The report keeps the failure with the undecodable byte as its escape, the page too.
    first = next(t for t in run.report["tests"] if t["nodeid"] == "test_names.py::test_file_name")
    failure = first["attempts"][0]["failure"]
    assert failure["stdout"] == "?.csv\n"  # as pytest captured it
    assert "E         + \\udcff.csv" in failure["traceback"]
    assert "E         + \\udcff.csv" in html.read_text(encoding="utf-8")
