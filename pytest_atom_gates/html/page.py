"""From a JSON report to the page: what each section shows is worked out here, once, in Python;
the template only lays it out, and the page's script only filters the table of all tests."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pytest_atom_gates.cov.patch import spans
from pytest_atom_gates.report import ReportProblem, order_check
from pytest_atom_gates.reporting import order_dependence_text, state_lines
from pytest_atom_gates.reporting.atomic import write_atomically

SLOWEST = 15
"""Tests in the bar chart of the slowest."""
HISTORY_STRIP = 50
_BUCKETS = (
    (0.001, "< 1 ms"),
    (0.01, "1-10 ms"),
    (0.1, "10-100 ms"),
    (1.0, "0.1-1 s"),
    (10.0, "1-10 s"),
    (60.0, "10-60 s"),
    (math.inf, ">= 60 s"),
)
_PROBLEMS = ("failed", "not-run")
_OUTCOME_ORDER = ("failed", "not-run", "flaky", "xpassed", "passed", "skipped", "xfailed")


class HtmlUnavailable(Exception):
    """The page cannot be rendered here; the message says what to install."""


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    share: float
    """0..1 of the chart's width."""
    text: str


def _seconds(value: float) -> str:
    if value >= 100:
        return f"{value:.0f} s"
    if value >= 1:
        return f"{value:.2f} s"
    return f"{value * 1000:.1f} ms"


def overall(report: Mapping[str, Any]) -> tuple[str, str]:
    """The run's verdict as the closing line says it, and its CSS class."""
    verdicts = [v["verdict"] for v in report.get("verdicts", ())]
    if report.get("incomplete_reason") and "FAIL" in verdicts:
        return "FAIL", "fail"
    if "FAIL" in verdicts:
        return "FAIL", "fail"
    if "WARN" in verdicts:
        return "PASS with warnings", "warn"
    return "PASS", "pass"


def _problems(report: Mapping[str, Any], anchors: Mapping[str, str]) -> list[dict[str, Any]]:
    """Failed and not-run tests, with the message and the whole failure of their last failed
    attempt, and the anchor of their order-dependence entry where they have one."""
    pass_rate = next((v for v in report.get("verdicts", ()) if v["gate"] == "TQ-02"), None)
    tolerated = pass_rate is not None and pass_rate["verdict"] in ("PASS", "WARN")
    rows = []
    for test in report.get("tests", ()):
        if test["outcome"] not in _PROBLEMS:
            continue
        failed = [a for a in test.get("attempts", ()) if a["outcome"] == "failed"]
        last = failed[-1] if failed else {}
        rows.append(
            {
                "nodeid": test["nodeid"],
                "outcome": test["outcome"],
                "tolerated": tolerated and test["outcome"] == "failed",
                "phase": last.get("phase"),
                "error": last.get("error") or "",
                "attempts": len(test.get("attempts", ())),
                "failure": _failure(last.get("failure")),
                "order": anchors.get(test["nodeid"]),
            }
        )
    return rows


def _failure(failure: Any) -> dict[str, Any] | None:
    """A failure's texts as the page folds them, and where it failed."""
    if not isinstance(failure, Mapping):
        return None
    where = f"{failure.get('path')}:{failure.get('line')}" if failure.get("path") else ""
    if where and failure.get("function"):
        where += f" in {failure['function']}"
    return {
        "where": where,
        "texts": [
            (title, str(failure.get(name) or ""))
            for name, title in (
                ("traceback", "traceback"),
                ("stdout", "captured stdout"),
                ("stderr", "captured stderr"),
                ("log", "captured log"),
            )
            if failure.get(name)
        ],
    }


def _timeline(attempts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each attempt as a segment of one bar, as wide as its share of the test's time."""
    total = sum(a["duration"] for a in attempts) or 1.0
    segments, start = [], 0.0
    for number, attempt in enumerate(attempts, start=1):
        # A floor, so a quick attempt stays visible beside a slow one.
        width = max(attempt["duration"] / total, 0.04)
        segments.append(
            {
                "number": number,
                "outcome": attempt["outcome"],
                "x": start,
                "width": width,
                "text": f"attempt {number}: {attempt['outcome']}"
                + (f" in {attempt['phase']}" if attempt.get("phase") else "")
                + f", {_seconds(attempt['duration'])}"
                + (f": {attempt['error']}" if attempt.get("error") else ""),
            }
        )
        start += width
    scale = 1 / start if start else 1.0
    for segment in segments:
        segment["x"] *= scale
        segment["width"] *= scale
    return segments


def _flaky(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    tests = {t["nodeid"]: t for t in report.get("tests", ())}
    determinism = report.get("determinism") or {}
    history = {e["nodeid"]: e.get("history") for e in determinism.get("flaky", ())}
    evidence = {e["nodeid"]: e.get("evidence") or [] for e in determinism.get("flaky", ())}
    rows = []
    for nodeid, test in tests.items():
        if test["outcome"] != "flaky":
            continue
        recorded = history.get(nodeid) or {}
        outcomes = str(recorded.get("outcomes") or "")[-HISTORY_STRIP:]
        rows.append(
            {
                "nodeid": nodeid,
                "timeline": _timeline(test.get("attempts", ())),
                "strip": list(outcomes),
                "evidence": [str(fact) for fact in evidence.get(nodeid, ())],
                "rate": f"flaky in {recorded['flaky']} of the last {recorded['runs']} runs"
                if recorded
                else "no history recorded",
            }
        )
    return rows


def _order_dependent(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for check in report.get("order_checks", ()):
        if check["result"] != "order-dependent":
            continue
        try:
            typed = order_check(check)
        except ReportProblem:  # a hand-edited report: show what it says
            rows.append(
                {
                    "anchor": f"order-{len(rows) + 1}",
                    "nodeid": str(check.get("nodeid")),
                    "detail": str(check.get("detail")),
                }
            )
            continue
        rows.append(
            {
                "anchor": f"order-{len(rows) + 1}",
                "nodeid": typed.nodeid,
                # The terminal's words: a search cut short says so, a brittle test's tests
                # are those it passes after, never "polluters".
                "detail": order_dependence_text(typed),
                "reproduce": typed.reproduce or None,
                "passes": typed.passes or None,
                "state": state_lines(typed, limit=None),
            }
        )
    return rows


def _bars(pairs: Iterable[tuple[str, float]], text: Any) -> list[Bar]:
    pairs = list(pairs)
    top = max((value for _, value in pairs), default=0.0) or 1.0
    return [Bar(label, value, value / top, text(value)) for label, value in pairs]


def _durations(report: Mapping[str, Any]) -> tuple[list[Bar], list[Bar]]:
    tests = report.get("tests", ())
    slowest = sorted(tests, key=lambda t: t["duration"], reverse=True)[:SLOWEST]
    counts: Counter[str] = Counter()
    for test in tests:
        duration = test["duration"]
        # The last band takes what compares with no bound (a NaN from a hand-edited report).
        label = next((label for bound, label in _BUCKETS if duration < bound), _BUCKETS[-1][1])
        counts[label] += 1
    histogram = _bars(((label, counts[label]) for _, label in _BUCKETS), lambda n: f"{n:.0f}")
    return _bars(((t["nodeid"], t["duration"]) for t in slowest), _seconds), histogram


def _coverage(report: Mapping[str, Any]) -> dict[str, Any] | None:
    """The total and each package against its minimum; without per-package minimums, the
    files grouped by their top directory, against the total's minimum."""
    coverage = report.get("coverage") or {}
    totals = coverage.get("totals")
    if not totals:
        return None
    minimum = float((coverage.get("required") or {}).get("total") or 0)
    packages = []
    for package in coverage.get("packages") or ():
        percent = (package.get("totals") or {}).get("percent")
        if percent is not None:
            packages.append((package["package"], percent, float(package["min_coverage"])))
    if not packages:
        grouped: dict[str, list[int]] = {}
        for file in coverage.get("files") or ():
            top = file["path"].replace("\\", "/").lstrip("/").split("/", 1)[0]
            counts = grouped.setdefault(top, [0, 0])
            counts[0] += file["statements"]
            counts[1] += file["missing"]
        for name, (statements, missing) in sorted(grouped.items()):
            if statements:
                packages.append((name, 100 * (statements - missing) / statements, minimum))
    return {
        "total": totals["percent"],
        "minimum": minimum,
        "packages": [
            {"name": name, "percent": percent, "minimum": low, "passed": percent >= low}
            for name, percent, low in packages
        ],
    }


CONTEXT = 2
"""Lines shown around each run of uncovered changed lines."""
SNIPPETS = 50
"""Runs of uncovered changed lines shown in their source; the JSON report holds every one."""


def _patch(report: Mapping[str, Any]) -> dict[str, Any] | None:
    """TQ-06's uncovered changed lines, each run shown in its source with a little context
    (read from where coverage measured; a file no longer there shows its line numbers only)."""
    patch = report.get("patch_coverage") or {}
    root = Path((report.get("coverage") or {}).get("root") or ".")
    kinds = [(f, False) for f in patch.get("files") or ()]
    kinds += [(f, True) for f in patch.get("unmeasured") or ()]
    files, shown = [], 0
    for file, never in kinds:
        missing = sorted(set(file["lines"] if never else file["missing"]))
        if not missing:
            continue
        try:
            source = (root / file["path"]).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError, ValueError):
            source = []
        runs = []
        for first, last in spans(missing):
            shown += 1
            if shown > SNIPPETS:
                break
            low, high = max(1, first - CONTEXT), min(len(source), last + CONTEXT)
            lines = [(n, source[n - 1], n in missing) for n in range(low, high + 1)]
            runs.append({"first": first, "last": last, "lines": lines})
        files.append({"path": file["path"], "never": never, "runs": runs})
    if not files:
        return None
    return {"ref": patch.get("ref"), "files": files, "left_out": max(0, shown - SNIPPETS)}


def _all_tests(report: Mapping[str, Any]) -> tuple[str, list[tuple[str, int]]]:
    """The table of every test as compact JSON for the page's script, and the outcome counts."""
    tests = report.get("tests", ())
    rows = [[t["nodeid"], t["outcome"], round(t["duration"], 4)] for t in tests]
    text = json.dumps(rows, separators=(",", ":"), ensure_ascii=False)
    # Inside <script>: no "</script>" or "<!--" may end it early, whatever a node id holds.
    text = text.replace("<", "\\u003c")
    counts = Counter(t["outcome"] for t in tests)
    order = [o for o in _OUTCOME_ORDER if counts[o]] + sorted(set(counts) - set(_OUTCOME_ORDER))
    return text, [(outcome, counts[outcome]) for outcome in order]


def _run(report: Mapping[str, Any]) -> dict[str, Any]:
    environment, settings, run = (
        _mapping(report, key) for key in ("environment", "settings", "run")
    )
    return {
        "seed": report.get("seed"),
        "created": report.get("created"),
        "duration": _seconds(float(run.get("duration") or 0.0)),
        "exit_status": report.get("exit_status"),
        "incomplete_reason": report.get("incomplete_reason"),
        "settings": [(key, json.dumps(value)) for key, value in settings.items()],
        "environment": [
            (key, str(environment[key]))
            for key in ("python", "implementation", "platform", "pytest", "workers", "ci")
            if environment.get(key) is not None
        ],
        "plugins": sorted((environment.get("plugins") or {}).items()),
        "tool": (report.get("tool") or {}).get("version"),
    }


def _mapping(report: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = report.get(key)
    return value if isinstance(value, Mapping) else {}


def view(report: Mapping[str, Any]) -> dict[str, Any]:
    """Everything the template shows."""
    verdict, verdict_class = overall(report)
    slowest, histogram = _durations(report)
    tests_json, counts = _all_tests(report)
    order_dependent = _order_dependent(report)
    anchors = {row["nodeid"]: row["anchor"] for row in order_dependent}
    return {
        "verdict": verdict,
        "verdict_class": verdict_class,
        "gates": list(report.get("verdicts", ())),
        "problems": _problems(report, anchors),
        "flaky": _flaky(report),
        "order_dependent": order_dependent,
        "slowest": slowest,
        "histogram": histogram,
        "coverage": _coverage(report),
        "patch": _patch(report),
        "tests_json": tests_json,
        "counts": counts,
        "total": sum(n for _, n in counts),
        "run": _run(report),
    }


@cache
def _template() -> Any:
    try:
        import jinja2
    except ImportError:
        raise HtmlUnavailable(
            "the HTML page needs Jinja2: pip install 'pytest-atom-gates[html]'"
        ) from None
    folder = resources.files("pytest_atom_gates.html")
    environment = jinja2.Environment(
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    template = environment.from_string(folder.joinpath("page.html.j2").read_text("utf-8"))
    return (
        template,
        folder.joinpath("page.css").read_text("utf-8"),
        folder.joinpath("page.js").read_text("utf-8"),
    )


def available() -> str | None:
    """Why the page cannot be rendered here, or None."""
    try:
        _template()
    except HtmlUnavailable as exc:
        return str(exc)
    return None


def render_page(report: Mapping[str, Any]) -> str:
    template, css, script = _template()
    return str(template.render(css=css, script=script, **view(report)))


def write_page(path: Path, report: Mapping[str, Any]) -> None:
    """Render and write atomically: a reader never sees half a page."""
    text = render_page(report)
    write_atomically(path, text)
