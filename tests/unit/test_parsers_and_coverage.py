"""Setting parsers, TQ-05's comparisons and the partial-run rule, without a pytest run."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

from pytest_atom_gates.cov.facts import CoverageFacts, Figures, PackageResult
from pytest_atom_gates.cov.gate import (
    CoverageGate,
    below,
    effective_precision,
    required_minimum,
    shown_percent,
)
from pytest_atom_gates.gates.base import Verdict
from pytest_atom_gates.partial import partial_reason
from pytest_atom_gates.settings import (
    GateMode,
    _Invalid,
    parse_bool,
    parse_count,
    parse_delay,
    parse_flaky_limit,
    parse_mode,
    parse_package_minimum,
    parse_percent,
    parse_seconds,
    parse_seed,
)
from tests.unit.builders import attempt, facts_of, ledger_of


@pytest.mark.parametrize(
    ("text", "value"), [("98", Decimal(98)), (" 97.5 % ", Decimal("97.5")), ("0", 0), ("100", 100)]
)
def test_percent(text: str, value: Decimal) -> None:
    assert parse_percent(text) == value


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("x", "not a number"),
        ("nan", "not a finite number"),
        ("100.01", "outside 0..100"),
        ("-1", "outside 0..100"),
    ],
)
def test_bad_percent(text: str, why: str) -> None:
    with pytest.raises(_Invalid, match=rf"^{why}$"):
        parse_percent(text)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),
        ("1.5", 1.5),
        ("2m", 120.0),
        ("1 h", 3600.0),
        ("3 sec", 3.0),
        ("500ms", 0.5),
        ("1h30m", 5400.0),
        ("1h 30min 15s", 5415.0),
        ("2m30s", 150.0),
        ("1s250ms", 1.25),
        ("1.5H", 5400.0),
        ("1e1s", 10.0),
    ],
)
def test_delay(text: str, seconds: float) -> None:
    assert parse_delay(text) == seconds


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("-1", "negative"),
        ("soon", "not a duration"),
        ("1e999", "not a finite duration"),
        ("inf", "not a duration"),
        ("nan", "not a duration"),
        ("30m1h", "not a duration"),
        ("1m1m", "not a duration"),
        ("1h30", "not a duration"),
        ("ms", "not a duration"),
        ("-500ms", "negative"),
        ("1h-30m", "not a duration"),
    ],
)
def test_bad_delay(text: str, why: str) -> None:
    with pytest.raises(_Invalid, match=rf"^{why}$"):
        parse_delay(text)


def test_seconds_must_be_positive() -> None:
    assert parse_seconds("0.5") == 0.5
    with pytest.raises(_Invalid, match=r"^not a positive duration$"):
        parse_seconds("0")


def test_count_seed_bool_mode_and_limits() -> None:
    assert parse_count(" 3 ") == 3
    with pytest.raises(_Invalid, match=r"^not a whole number >= 0$"):
        parse_count("-3")
    with pytest.raises(_Invalid, match=r"^not a whole number >= 0$"):
        parse_count("3x")  # a number at the start is not the whole value
    assert parse_seed("4294967295") == 4294967295
    assert parse_seed(" LAST ") == "last"
    with pytest.raises(_Invalid, match=r"^larger than 4294967295$"):
        parse_seed("4294967296")
    with pytest.raises(_Invalid, match=r"^negative$"):
        parse_seed("-1")
    assert (parse_bool("Yes"), parse_bool("off")) == (True, False)
    with pytest.raises(_Invalid, match=r"^not a boolean$"):
        parse_bool("maybe")
    assert parse_mode("coverage:warn") == ("TQ-05", GateMode.WARN)
    with pytest.raises(_Invalid, match=r"^missing ':' between gate and mode$"):
        parse_mode("TQ-05")
    with pytest.raises(_Invalid, match=r"^unknown mode 'loud'$"):
        parse_mode("TQ-05:loud")
    assert parse_flaky_limit("2%").percent == Decimal(2)
    assert parse_flaky_limit("3").count == 3
    assert parse_package_minimum("core: 60") == ("core", Decimal(60))
    with pytest.raises(_Invalid, match=r"^no package before ':'$"):
        parse_package_minimum(":60")


# -- TQ-05 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("percent", "minimum", "precision", "fails"),
    [
        (24.6, "25", 0, False),
        (24.4, "25", 0, True),
        (24.996, "25", 2, False),
        (24.994, "25", 2, True),
        (25.44, "25.5", 0, True),  # the minimum's own decimal counts
        (25.46, "25.5", 0, False),
        (99.99, "100", 2, True),  # 100 must really be 100
    ],
)
def test_below_agrees_with_coverage_py(
    percent: float, minimum: str, precision: int, fails: bool
) -> None:
    assert (
        below(percent, Decimal(minimum), effective_precision(Decimal(minimum), precision)) is fails
    )


def test_effective_precision_and_display() -> None:
    assert effective_precision(Decimal(25), 0) == 0
    assert effective_precision(Decimal("25.5"), 0) == 1
    assert effective_precision(Decimal("25.25"), 1) == 2
    assert shown_percent(99.9999, Decimal(25), 0) == "99"
    assert shown_percent(0.0001, Decimal(25), 0) == "1"


def test_required_minimum_takes_the_strictest() -> None:
    cov = CoverageFacts("atom-gates", (), user_minimums=[(Decimal(30), "a"), (Decimal(80), "b")])
    assert required_minimum(Decimal(25), cov) == (Decimal(80), "b")
    assert required_minimum(Decimal(90), cov) == (Decimal(90), "")
    assert required_minimum(Decimal(25), None) == (Decimal(25), "")


def _figures(percent: float) -> Figures:
    return Figures(100, int(100 - percent), 0, 0, 0, 0, percent)


def test_the_coverage_gate() -> None:
    ledger = ledger_of(attempt("t.py::a"))
    facts = facts_of(ledger)
    facts.extras["coverage"] = CoverageFacts("atom-gates", ("pkg",), totals=_figures(30.0))
    facts.extras["coverage"].cores["main"] = "ctrace"
    verdict = CoverageGate().evaluate(facts)
    assert (verdict.verdict, verdict.measured, verdict.required) == (
        Verdict.PASS,
        "30 % (ctrace; pkg)",
        ">= 25 %",
    )
    facts.extras["coverage"].missing_workers.append("gw1")
    lost = CoverageGate().evaluate(facts)
    assert (lost.verdict, lost.reason) == (
        Verdict.FAIL,
        "coverage incomplete: data from gw1 missing; partial figure 30 %",
    )
    facts.partial_reason = "-k x"
    assert CoverageGate().evaluate(facts).verdict is Verdict.WARN


def test_the_coverage_gate_without_data_and_with_a_package_below_its_minimum() -> None:
    facts = facts_of(ledger_of(attempt("t.py::a")))
    assert CoverageGate().evaluate(facts).reason == "coverage was not measured"
    cov = CoverageFacts("atom-gates", (), totals=_figures(90.0))
    cov.packages.append(PackageResult("core", Decimal(95), _figures(90.0), 1))
    facts.extras["coverage"] = cov
    verdict = CoverageGate().evaluate(facts)
    assert verdict.reason == "package core: 90 %, minimum 95 %"
    cov.totals = None
    cov.no_data = "no coverage data was collected"
    assert CoverageGate().evaluate(facts).reason == (
        "nothing measured: no coverage data was collected; package core: 90 %, minimum 95 %"
    )


# -- partial runs ------------------------------------------------------------------------------


def _config(tmp_path: Path, args: list[str], testpaths: list[str], **options: object) -> object:
    values = {"keyword": "", "markexpr": "", "lf": False, "stepwise": False, "deselect": None}
    values.update(options)
    return SimpleNamespace(
        args_source=pytest.Config.ArgsSource.ARGS,
        args=args,
        rootpath=tmp_path,
        invocation_params=SimpleNamespace(dir=tmp_path),
        getini=lambda name: testpaths if name == "testpaths" else [],
        getoption=lambda name, default=None: values.get(name, default),
        pluginmanager=SimpleNamespace(getplugin=lambda name: None),
    )


GIVEN = frozenset({"file_or_dir", "keyword", "markexpr", "deselect"})
"""Every selecting option given for the run, on the command line or in ``PYTEST_ADDOPTS``."""


def reason(config: object, deselected: int, given: frozenset[str] = GIVEN) -> str | None:
    return partial_reason(config, deselected, given)


def test_partial_reasons(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("")
    (tmp_path / "test_b.py").write_text("")
    assert reason(_config(tmp_path, ["."], ["tests"]), 0) is None
    assert reason(_config(tmp_path, ["tests"], ["tests"]), 0) is None
    assert reason(_config(tmp_path, ["tests/test_a.py"], ["tests"]), 0) == (
        "paths narrower than testpaths"
    )
    assert reason(_config(tmp_path, ["tests/test_a.py::t"], ["tests"]), 0) == (
        "node id tests/test_a.py::t"
    )
    assert reason(_config(tmp_path, ["test_b.py", "tests/test_a.py"], []), 0) == (
        "files test_b.py, test_a.py"
    )
    config = _config(tmp_path, ["."], ["tests"], keyword="fast", markexpr="not slow")
    assert reason(config, 3) == "-k 'fast', -m 'not slow'"
    assert reason(_config(tmp_path, ["."], ["tests"]), 3) == "3 tests deselected"


def test_more_partial_reasons(tmp_path: Path) -> None:
    # pytest's --lf plugin counts the recorded failures among the selected tests.
    lf_plugin = SimpleNamespace(_previously_failed_count=1)
    config = _config(tmp_path, ["."], ["tests"], lf=True, stepwise=True, deselect=["t.py::b"])
    config.pluginmanager = SimpleNamespace(  # type: ignore[attr-defined]
        getplugin=lambda name: lf_plugin if name == "lfplugin" else None
    )
    assert reason(config, 2) == "--lf, --stepwise, --deselect"
    lf_plugin._previously_failed_count = 0  # none of them: it runs every test
    assert reason(config, 0) == "--stepwise, --deselect"
    from_ini = _config(tmp_path, ["tests/test_a.py"], ["tests"])
    from_ini.args_source = pytest.Config.ArgsSource.TESTPATHS  # type: ignore[attr-defined]
    assert reason(from_ini, 0) is None
    assert reason(_config(tmp_path, ["tests"], []), 0) is None
    many = [f"t{n}.py" for n in range(5)]
    for name in many:
        (tmp_path / name).write_text("")
    assert reason(_config(tmp_path, many, []), 0) == ("files t0.py, t1.py, t2.py and 2 more")
    assert reason(_config(tmp_path, ["t0.py"], []), 0) == "file t0.py"
    three, four = many[:3], many[:4]
    assert reason(_config(tmp_path, three, []), 0) == "files t0.py, t1.py, t2.py"
    assert reason(_config(tmp_path, four, []), 0) == ("files t0.py, t1.py, t2.py and 1 more")


def test_selection_from_the_ini_files_addopts_defines_the_suite(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("")
    selecting = _config(tmp_path, ["tests/test_a.py"], ["tests"], markexpr="not slow", keyword="k")
    assert reason(selecting, 3, frozenset()) is None
    assert reason(selecting, 3, frozenset({"markexpr"})) == "-m 'not slow'"
    assert reason(selecting, 3, frozenset({"keyword"})) == "-k 'k'"
    assert reason(selecting, 3, frozenset({"file_or_dir"})) == "paths narrower than testpaths"
    # Deselected while the ini file's own -m selects: its deselection, not a partial run.
    marked = _config(tmp_path, ["tests"], ["tests"], markexpr="not slow")
    assert reason(marked, 3, frozenset()) is None
    deselecting = _config(tmp_path, ["tests"], ["tests"], deselect=["tests/test_a.py::t"])
    assert reason(deselecting, 1, frozenset()) is None
    assert reason(deselecting, 1, frozenset({"deselect"})) == "--deselect"
    # Nothing selects in the ini file: a deselection is some plugin's, and partial.
    assert reason(_config(tmp_path, ["tests"], ["tests"]), 2, frozenset()) == "2 tests deselected"


@pytest.mark.parametrize("text", ["", "+3", "3.0", "1_000", "٣", "²", "3\u0663", "- 3"])
def test_a_count_and_a_seed_are_ascii_digits_only(text: str) -> None:
    """``int`` reads signs, underscores and other scripts' digits; a count or a seed is 0-9."""
    with pytest.raises(_Invalid, match=r"^not a whole number >= 0$"):
        parse_count(text)
    with pytest.raises(_Invalid, match=r"^not a whole number, 'random' or 'last'$"):
        parse_seed(text)


def test_only_a_minus_before_digits_is_a_negative_seed() -> None:
    with pytest.raises(_Invalid, match=r"^negative$"):
        parse_seed("-0")
    with pytest.raises(_Invalid, match=r"^not a whole number, 'random' or 'last'$"):
        parse_seed("-x")
    with pytest.raises(_Invalid, match=r"^not a whole number, 'random' or 'last'$"):
        parse_seed("-")
