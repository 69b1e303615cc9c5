"""More setting parsers, gate aliases, the rerun budget and quarantine marks."""

from __future__ import annotations

import pytest

from pytest_atom_gates.history import status as history_status
from pytest_atom_gates.protocol import RerunPolicy, quarantine_reason
from pytest_atom_gates.settings import (
    _Invalid,
    parse_coverage_report,
    parse_gate_id,
    parse_regex,
    parse_source,
)
from tests.unit.builders import make_settings


def _mark(name: str, *args: object, **kwargs: object) -> pytest.Mark:
    return pytest.Mark(name, args, kwargs, _ispytest=True)


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("term", ("term", None)),
        (" Term-Missing ", ("term-missing", None)),
        ("xml:out/c.xml", ("xml", "out/c.xml")),
        ("html: site ", ("html", "site")),
    ],
)
def test_coverage_report(text: str, parsed: tuple[str, str | None]) -> None:
    assert parse_coverage_report(text) == parsed


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("pdf", "unknown report 'pdf'"),
        ("term:x", "term is shown in the terminal and takes no path"),
        ("xml: ", "empty path after ':'"),
    ],
)
def test_bad_coverage_report(text: str, why: str) -> None:
    with pytest.raises(_Invalid) as raised:
        parse_coverage_report(text)
    assert str(raised.value) == why


def test_source_regex_and_gate_ids() -> None:
    assert parse_source(" pkg ") == "pkg"
    with pytest.raises(_Invalid) as raised:
        parse_source("  ")
    assert str(raised.value) == "empty"
    assert parse_regex("a+").pattern == "a+"
    with pytest.raises(_Invalid) as raised:
        parse_regex("(")
    assert str(raised.value).startswith("not a regular expression: missing ), unterminated")
    aliases = {
        "TQ-01": ["tq-01", "tq01", "independence"],
        "TQ-02": ["TQ-02", "tq02", "pass-rate"],
        "TQ-03": ["tq03", "duration"],
        "TQ-04": ["tq04", "determinism"],
        "TQ-05": ["tq05", "coverage"],
    }
    for gate, names in aliases.items():
        assert [parse_gate_id(name) for name in names] == [gate] * len(names)
    with pytest.raises(_Invalid) as raised:
        parse_gate_id(" tq-9 ")
    assert str(raised.value) == "unknown gate 'tq-9'"


def test_rerun_budget_variants() -> None:
    policy = RerunPolicy(make_settings(reruns=2, rerun_delay=1.0), honour_rerunfailures_marker=True)
    assert policy.budget({"atom_gates_reruns": _mark("atom_gates_reruns", 0)}) == (0, 1.0)
    assert policy.budget({"atom_gates_reruns": _mark("atom_gates_reruns", reruns=4)}) == (4, 1.0)
    assert policy.budget({"atom_gates_reruns": _mark("atom_gates_reruns")}) == (2, 1.0)
    assert policy.budget({"flaky": _mark("flaky", reruns=3)}) == (3, 1.0)
    assert policy.budget({"flaky": _mark("flaky", max_runs=3)}) == (2, 1.0)
    assert policy.budget({"other": _mark("other")}) == (2, 1.0)


def test_quarantine_reason() -> None:
    assert quarantine_reason({}) is None
    mark = "atom_gates_quarantine"
    assert quarantine_reason({mark: _mark(mark, "flaky upstream")}) == "marker: flaky upstream"
    assert quarantine_reason({mark: _mark(mark, reason="known")}) == "marker: known"
    assert quarantine_reason({mark: _mark(mark)}) == "marker"


def test_more_parser_messages() -> None:
    from pytest_atom_gates.settings import (
        GateMode,
        parse_flaky_limit,
        parse_mode,
        parse_package_minimum,
        parse_seed,
    )

    assert parse_seed(" Random ") == "random"
    for parse, text, why in (
        (parse_flaky_limit, "x", "not a whole number >= 0 or a percentage like 2%"),
        (parse_seed, "soon", "not a whole number, 'random' or 'last'"),
        (parse_package_minimum, "core", "missing ':' between package and percentage"),
    ):
        with pytest.raises(_Invalid) as raised:
            parse(text)
        assert str(raised.value) == why
    with pytest.raises(_Invalid) as raised:
        parse_package_minimum("core:60:70")  # the first ':' splits, so "60:70" is no percentage
    assert str(raised.value) == "not a number"
    assert parse_mode("TQ-02:warn") == ("TQ-02", GateMode.WARN)
    assert make_settings(modes={"TQ-02": GateMode.OFF}).mode("TQ-05") is GateMode.ENFORCE


@pytest.mark.parametrize(
    ("recorded", "expected"),
    [
        (5, "stable"),
        ("PPPP", "stable"),
        ("PPF", "failing"),
        ("FF", "failing"),
        ("FFF", "broken"),
        ("PPKPFFF", "broken"),  # flaky once, then failing every run: broken, never flaky
        ("FPFFF", "broken"),
        ("PPKP", "flaky"),
        ("FPF", "flaky"),  # two streaks of failures with a pass between
        ("PFPPFP", "flaky"),
        ("PFFP", "stable"),  # one streak that ended: broken, then mended
        ("FFFP", "stable"),
        ("KFF", "flaky"),
    ],
)
def test_history_status(recorded: str | int, expected: str) -> None:
    assert history_status(recorded) == expected


def test_history_status_counts_the_last_k_runs() -> None:
    assert history_status("PFF", broken_runs=2) == "broken"
    assert history_status("PFF", broken_runs=4) == "failing"


@pytest.mark.parametrize(
    ("text", "gate"),
    [(" sk-01 ", "SK-01"), ("BU-99", "BU-99"), ("ABCDEFGH-01", "ABCDEFGH-01"), ("A1-00", "A1-00")],
)
def test_an_extensions_gate_id_is_taken_as_given(text: str, gate: str) -> None:
    assert parse_gate_id(text) == gate


@pytest.mark.parametrize("text", ["TQ-07", "tq-09", "ABCDEFGHI-01", "1K-01", "SK-1", "SK-001", ""])
def test_what_is_no_gate_id_is_refused(text: str) -> None:
    with pytest.raises(_Invalid) as raised:
        parse_gate_id(text)
    assert str(raised.value) == f"unknown gate {text.strip()!r}"


def test_a_history_too_deep_for_the_decoder_is_damaged(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_atom_gates import history

    def too_deep(text: str) -> object:
        raise RecursionError("maximum recursion depth exceeded while decoding a JSON object")

    monkeypatch.setattr(history.json, "loads", too_deep)
    with pytest.raises(history._Damaged) as raised:
        history._parse(b'{"version": 2, "tests": {}}')
    assert str(raised.value) == "nested too deep to be a history"
