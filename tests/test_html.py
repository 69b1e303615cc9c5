"""The HTML page: written by a run or rendered from a report, self-contained and escaped.

What the page shows in a browser is tested in tests/browser/, with a real Chromium.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_atom_gates.cli import main as cli_main
from pytest_atom_gates.html import page
from tests.conftest import Gates

SUITE = """
    def test_ok():
        pass
    def test_broken():
        assert 0, "</script><script>alert(1)</script>"
"""


def _page(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_a_run_writes_the_page_beside_the_verdict(pytester: pytest.Pytester, gates: Gates) -> None:
    pytester.makepyfile(test_s=SUITE)
    html = pytester.path / "out" / "gates.html"
    run = gates.run(f"--atom-gates-html={html}", "--atom-gates-mode=TQ-01:off")
    assert run.ret == 1
    text = _page(html)
    assert "<title>atom-gates: FAIL (seed " in text
    run.result.stdout.fnmatch_lines(["HTML page: out*gates.html", "atom-gates: FAIL - TQ-02*"])
    # Nothing outside the file: no URL to load, no external script, style or image.
    assert re.findall(r"""(?:src|href)=["'](?!#)""", text) == []
    assert "http://" not in text
    assert "https://" not in text
    # The failure's text is data, never markup: the only script tags are the page's own two.
    assert text.count("<script") == 2
    assert "AssertionError: &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_the_page_from_a_report_is_the_page_of_the_run(
    pytester: pytest.Pytester, gates: Gates, capsys: pytest.CaptureFixture[str]
) -> None:
    pytester.makepyfile(test_s=SUITE)
    html = pytester.path / "run.html"
    run = gates.run(f"--atom-gates-html={html}", "--atom-gates-mode=TQ-01:off")
    again = pytester.path / "again.html"
    capsys.readouterr()  # the run's own output
    assert cli_main(["html", str(run.report_path), "-o", str(again)]) == 0
    assert capsys.readouterr().out == f"atom-gates html: wrote {again}\n"
    assert _page(again) == _page(html)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "no such file"),
        ("{", "not JSON"),
        ('{"hello": 1}', "not a pytest-atom-gates report (no schema_version or tool)"),
    ],
)
def test_a_report_the_page_cannot_use_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, problem: str
) -> None:
    source = tmp_path / "report.json"
    if content is not None:
        source.write_text(content, encoding="utf-8")
    assert cli_main(["html", str(source), "-o", str(tmp_path / "p.html")]) == 4
    err = capsys.readouterr().err
    assert err.startswith(f"atom-gates html: error: {source}: {problem}")
    assert err.endswith(". Accepted: a JSON report of pytest --atom-gates or atom-gates merge\n")
    assert not (tmp_path / "p.html").exists()


def test_the_option_without_jinja2_is_a_usage_error(
    pytester: pytest.Pytester, gates: Gates, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_s="def test_ok(): pass\n")
    monkeypatch.setitem(sys.modules, "jinja2", None)  # import jinja2 now raises ImportError
    page._template.cache_clear()
    try:
        run = gates.run("--atom-gates-html=p.html", report=False)
    finally:
        page._template.cache_clear()
    assert run.ret == 4
    run.result.stderr.fnmatch_lines(
        [
            "ERROR: --atom-gates-html: the HTML page needs Jinja2: "
            "pip install 'pytest-atom-gates[html]'."
        ]
    )
    assert not (pytester.path / "p.html").exists()


def test_an_unwritable_page_path_is_a_usage_error(pytester: pytest.Pytester, gates: Gates) -> None:
    pytester.makepyfile(test_s="def test_ok(): pass\n")
    (pytester.path / "file").write_text("not a directory")
    run = gates.run("--atom-gates-html=file/p.html", report=False)
    assert run.ret == 4
    run.result.stderr.fnmatch_lines(
        [f"ERROR: --atom-gates-html: cannot write {pytester.path / 'file' / 'p.html'}: *"]
    )


def test_without_the_option_the_page_module_is_not_imported(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    pytester.makepyfile(
        test_s="""
        import sys
        def test_no_page_code():
            assert "pytest_atom_gates.html" not in sys.modules
            assert "jinja2" not in sys.modules
        """
    )
    run = gates.run(subprocess=True)
    assert run.outcomes() == {"test_s.py::test_no_page_code": "passed"}


def _report(tests: list[dict[str, object]], **extra: object) -> dict[str, object]:
    return {
        "seed": 1,
        "verdicts": [],
        "tests": tests,
        "settings": {},
        "environment": {},
        "run": {"duration": 1.0},
        **extra,
    }


def _test(nodeid: str, outcome: str, *attempts: tuple[str, float]) -> dict[str, object]:
    return {
        "nodeid": nodeid,
        "outcome": outcome,
        "duration": sum(seconds for _, seconds in attempts),
        "attempts": [
            {"outcome": o, "duration": s, "phase": "call" if o == "failed" else None, "error": None}
            for o, s in attempts
        ],
    }


def test_the_attempts_of_a_flaky_test_share_one_bar() -> None:
    report = _report(
        [_test("t.py::f", "flaky", ("failed", 3.0), ("passed", 1.0))],
        determinism={
            "flaky": [{"nodeid": "t.py::f", "history": {"flaky": 2, "runs": 3, "outcomes": "PKK"}}]
        },
    )
    (flaky,) = page.view(report)["flaky"]
    assert [(s["outcome"], round(s["x"], 3), round(s["width"], 3)) for s in flaky["timeline"]] == [
        ("failed", 0.0, 0.75),
        ("passed", 0.75, 0.25),
    ]
    assert flaky["timeline"][0]["text"] == "attempt 1: failed in call, 3.00 s"
    assert (flaky["strip"], flaky["rate"]) == (["P", "K", "K"], "flaky in 2 of the last 3 runs")


def test_durations_fall_into_buckets_and_the_slowest_are_ranked() -> None:
    report = _report(
        [
            _test(f"t.py::t{i}", "passed", ("passed", seconds))
            for i, seconds in enumerate([0.0005, 0.002, 0.003, 0.5, 2.0, 75.0])
        ]
    )
    view = page.view(report)
    assert [(b.label, b.value) for b in view["histogram"]] == [
        ("< 1 ms", 1),
        ("1-10 ms", 2),
        ("10-100 ms", 0),
        ("0.1-1 s", 1),
        ("1-10 s", 1),
        ("10-60 s", 0),
        (">= 60 s", 1),
    ]
    assert [(b.label, b.text) for b in view["slowest"][:3]] == [
        ("t.py::t5", "75.00 s"),
        ("t.py::t4", "2.00 s"),
        ("t.py::t3", "500.0 ms"),
    ]
    assert view["slowest"][0].share == 1.0


def test_coverage_by_top_directory_against_the_minimum() -> None:
    report = _report(
        [],
        coverage={
            "totals": {"percent": 60.0},
            "required": {"total": "50"},
            "packages": [],
            "files": [
                {"path": "core/a.py", "statements": 10, "missing": 2},
                {"path": "core/b.py", "statements": 10, "missing": 0},
                {"path": "api/c.py", "statements": 10, "missing": 8},
            ],
        },
    )
    assert page.view(report)["coverage"] == {
        "total": 60.0,
        "minimum": 50.0,
        "packages": [
            {"name": "api", "percent": 20.0, "minimum": 50.0, "passed": False},
            {"name": "core", "percent": 90.0, "minimum": 50.0, "passed": True},
        ],
    }


def test_the_embedded_table_cannot_end_its_script() -> None:
    text, counts = page._all_tests(_report([_test("t.py::t[</script><!--]", "failed")]))
    assert "<" not in text
    assert json.loads(text) == [["t.py::t[</script><!--]", "failed", 0]]
    assert counts == [("failed", 1)]


def test_a_merged_report_has_a_page_too(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.test_sharding import merge, reports, run_shard

    pytester.makepyfile(test_s="".join(f"def test_{i}():\n    assert {i != 3}\n" for i in range(6)))
    for k in (1, 2):
        run_shard(pytester, k, 2, "--atom-gates-seed=5", "--atom-gates-mode=TQ-01:off")
    merged = pytester.path / "merged.json"
    code, _, _ = merge(capsys, *reports(pytester, 1, 2), "-o", str(merged))
    assert code == 1
    html = pytester.path / "merged.html"
    assert cli_main(["html", str(merged), "-o", str(html)]) == 0
    view = page.view(json.loads(merged.read_text(encoding="utf-8")))
    assert (view["verdict"], view["total"]) == ("FAIL", 6)
    assert [row["nodeid"] for row in view["problems"]] == ["test_s.py::test_3"]
    assert "<title>atom-gates: FAIL (seed 5)</title>" in _page(html)


def test_alone_runs_and_reproduce_commands_write_no_page(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    """The page is the run's own: a child run that repeated the option would write over it."""
    pytester.makepyfile(
        state="polluted = []\n",
        test_a="import state\ndef test_pollutes():\n    state.polluted.append(1)\n",
        test_b="import state\ndef test_victim():\n    assert not state.polluted\n",
    )
    html = pytester.path / "page.html"
    run = gates.run(f"--atom-gates-html={html}", "--atom-gates-order=file")
    (check,) = run.report["order_checks"]
    assert check["result"] == "order-dependent"
    assert "--atom-gates-html" not in check["reproduce"]
    assert "--atom-gates-order=file" in check["reproduce"]
    assert "test_b.py::test_victim" in _page(html)


def test_the_page_and_the_json_report_cannot_share_a_path(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    pytester.makepyfile(test_s="def test_ok(): pass\n")
    report = pytester.path / "r.json"
    run = gates.run(f"--atom-gates-report={report}", f"--atom-gates-html={report}", report=False)
    assert run.ret == 4
    run.result.stderr.fnmatch_lines(
        [
            f"ERROR: --atom-gates-html: {report} is the JSON report's path too "
            "(--atom-gates-report), which the page would overwrite. Accepted: another file path."
        ]
    )


@pytest.mark.parametrize(
    "damage",
    [
        lambda r: r["tests"][0].update(duration=float("nan")),
        lambda r: r.update(environment="x"),
        lambda r: r["tests"][0].update(outcome="flaky", attempts=[]),
    ],
    ids=["nan-duration", "environment-not-an-object", "flaky-without-attempts"],
)
def test_a_hand_edited_report_still_renders(
    pytester: pytest.Pytester, gates: Gates, capsys: pytest.CaptureFixture[str], damage: Any
) -> None:
    pytester.makepyfile(test_s=SUITE)
    run = gates.run("--atom-gates-mode=TQ-01:off")
    document = json.loads(run.report_path.read_text(encoding="utf-8"))
    damage(document)
    source = pytester.path / "edited.json"
    source.write_text(json.dumps(document), encoding="utf-8")
    capsys.readouterr()
    assert cli_main(["html", str(source), "-o", str(pytester.path / "p.html")]) == 0
    assert "Traceback" not in capsys.readouterr().err


def _check(nodeid: str, **fields: object) -> dict[str, object]:
    return {
        "nodeid": nodeid,
        "result": "order-dependent",
        "detail": "passed when run alone",
        "ran_before": ["t.py::a"],
        "reproduce": f"pytest --atom-gates {nodeid}",
        "polluters": [],
        "brittle": False,
        "passes": None,
        "origin": "failed",
        "search": None,
        **fields,
    }


def test_order_dependent_tests_read_as_in_the_terminal() -> None:
    report = _report(
        [],
        order_checks=[
            _check(
                "t.py::cut_short",
                search={
                    "result": "not-analysed",
                    "runs": 0,
                    "detail": "the session's time budget is spent",
                    "confirmations": 0,
                },
            ),
            _check(
                "t.py::brittle",
                detail="failed alone too, passed after the 1 tests before it in file order",
                brittle=True,
                polluters=["t.py::setter"],
                passes="pytest --atom-gates --atom-gates-order=file t.py::setter t.py::brittle",
                search={"result": "found", "runs": 2, "detail": "", "confirmations": 6},
            ),
        ],
    )
    cut_short, brittle = page.view(report)["order_dependent"]
    assert cut_short["detail"] == (
        "failed in the shuffled run, passed when run alone; polluter not found (not-analysed): "
        "the session's time budget is spent"
    )
    assert brittle["detail"] == "fails alone, passes only after t.py::setter (found in 2 runs)"
    assert brittle["passes"] == (
        "pytest --atom-gates --atom-gates-order=file t.py::setter t.py::brittle"
    )
    html = page.render_page(report)
    assert "polluted by" not in html
    assert "passes:" in html


def test_uncovered_changed_lines_are_shown_in_their_source(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    source = [f"line {n} <{n}>" for n in range(1, 13)]
    (tmp_path / "pkg" / "calc.py").write_text("\n".join(source) + "\n", encoding="utf-8")
    report = _report([], coverage={"totals": {"percent": 50.0}, "root": str(tmp_path)})
    report["patch_coverage"] = {
        "ref": "main",
        "files": [{"path": "pkg/calc.py", "lines": [2, 3, 4, 10], "missing": [3, 4, 10]}],
        "unmeasured": [{"path": "pkg/gone.py", "lines": [1], "missing": [1]}],
    }
    patch = page.view(report)["patch"]
    assert patch == {
        "ref": "main",
        "left_out": 0,
        "files": [
            {
                "path": "pkg/calc.py",
                "never": False,
                "runs": [
                    {
                        "first": 3,
                        "last": 4,
                        "lines": [
                            (1, "line 1 <1>", False),
                            (2, "line 2 <2>", False),
                            (3, "line 3 <3>", True),
                            (4, "line 4 <4>", True),
                            (5, "line 5 <5>", False),
                            (6, "line 6 <6>", False),
                        ],
                    },
                    {
                        "first": 10,
                        "last": 10,
                        "lines": [
                            (8, "line 8 <8>", False),
                            (9, "line 9 <9>", False),
                            (10, "line 10 <10>", True),
                            (11, "line 11 <11>", False),
                            (12, "line 12 <12>", False),
                        ],
                    },
                ],
            },
            {"path": "pkg/gone.py", "never": True, "runs": [{"first": 1, "last": 1, "lines": []}]},
        ],
    }
    html = page.render_page(report)
    assert '<span class="missed"><span class="number">3</span>line 3 &lt;3&gt;</span>' in html
    assert "pkg/gone.py <small>(never measured)</small>" in html
    assert '<a href="#patch">Changed lines not covered</a>' in html
