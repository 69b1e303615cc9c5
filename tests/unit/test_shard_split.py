"""The shard split and the durations file: pure functions, checked without a pytest run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_atom_gates.durations import (
    DurationsProblem,
    durations_digest,
    read_durations,
    write_durations,
)
from pytest_atom_gates.gates.base import GateVerdict, Verdict
from pytest_atom_gates.settings import _Invalid, parse_shard, shard_from_environment
from pytest_atom_gates.shard import ShardFacts, ShardSpec, defer_whole_suite, plan, split_tests

TEN_MODULES = [f"test_{m}.py::t{i}" for m in "abcdefghij" for i in range(3)]


def test_shard_text_is_k_of_n() -> None:
    assert parse_shard("2/4") == (2, 4)
    assert parse_shard(" 1 / 1 ") == (1, 1)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("0/4", "K must be from 1 to 4"),
        ("5/4", "K must be from 1 to 4"),
        ("1/0", "N must be at least 1"),
        ("two/4", "not K/N"),
        ("2", "not K/N"),
        ("-1/4", "not K/N"),
    ],
)
def test_a_bad_shard_says_why(text: str, why: str) -> None:
    with pytest.raises(_Invalid) as caught:
        parse_shard(text)
    assert str(caught.value) == why


def test_the_ci_numbers_its_jobs() -> None:
    assert shard_from_environment({}) == None  # noqa: E711  (exactly None, not falsy)
    assert shard_from_environment({"CI_NODE_INDEX": "3", "CI_NODE_TOTAL": "4"}) == (3, 4)
    assert shard_from_environment({"CI_NODE_INDEX": " ", "CI_NODE_TOTAL": ""}) is None


def test_half_a_ci_shard_is_a_usage_error() -> None:
    with pytest.raises(pytest.UsageError) as caught:
        shard_from_environment({"CI_NODE_INDEX": "2"})
    assert str(caught.value) == (
        "CI_NODE_INDEX='2' and CI_NODE_TOTAL='': both or neither must be set. "
        "Accepted: CI_NODE_INDEX from 1 to CI_NODE_TOTAL, or --atom-gates-shard=K/N."
    )


def test_a_ci_shard_out_of_range_is_a_usage_error() -> None:
    with pytest.raises(pytest.UsageError) as caught:
        shard_from_environment({"CI_NODE_INDEX": "0", "CI_NODE_TOTAL": "4"})
    assert str(caught.value) == (
        "CI_NODE_INDEX='0' and CI_NODE_TOTAL='4': invalid shard (K must be from 1 to 4). "
        "Accepted: CI_NODE_INDEX from 1 to CI_NODE_TOTAL, whole numbers, or "
        "--atom-gates-shard=K/N."
    )


def test_the_shards_are_disjoint_and_hold_every_test() -> None:
    split = split_tests(TEN_MODULES, {}, 3, seed=1)
    together = [test for shard in split.shards for test in shard]
    assert sorted(together) == sorted(TEN_MODULES)
    assert len(together) == len(set(together))


def test_each_shard_keeps_collection_order() -> None:
    for shard in split_tests(TEN_MODULES, {}, 3, seed=1).shards:
        assert shard == sorted(shard, key=TEN_MODULES.index)


def test_the_split_is_the_same_on_every_machine() -> None:
    first = split_tests(TEN_MODULES, {}, 3, seed=5)
    assert split_tests(list(TEN_MODULES), {}, 3, seed=5) == first


def test_without_durations_the_split_is_by_count_keeping_modules_whole() -> None:
    split = split_tests(TEN_MODULES, {}, 3, seed=1)
    assert [len(shard) for shard in split.shards] == [10, 10, 10]
    # Ten modules of three cannot make three shards of ten: one module is spread, and named.
    assert split.split_modules == ["test_j.py"]
    whole = {t.split("::")[0] for t in TEN_MODULES} - {"test_j.py"}
    for module in whole:
        holding = [i for i, shard in enumerate(split.shards) if any(module in t for t in shard)]
        assert len(holding) == 1, module


def test_modules_that_balance_stay_whole() -> None:
    tests = [f"test_{m}.py::t{i}" for m in "abcdef" for i in range(2)]
    split = split_tests(tests, {}, 3, seed=1)
    assert [len(shard) for shard in split.shards] == [4, 4, 4]
    assert split.split_modules == []


def test_a_module_heavier_than_a_share_is_spread() -> None:
    durations = {t: 10.0 if t.startswith("test_a.py") else 1.0 for t in TEN_MODULES}
    split = split_tests(TEN_MODULES, durations, 3, seed=1)
    loads = [sum(durations[t] for t in shard) for shard in split.shards]
    assert loads == [19.0, 19.0, 19.0]
    assert split.split_modules == ["test_a.py"]


def test_an_unknown_test_weighs_the_recorded_mean() -> None:
    tests = ["a.py::slow", "b.py::new1", "c.py::new2", "d.py::quick"]
    split = split_tests(tests, {"a.py::slow": 9.0, "d.py::quick": 1.0}, 2, seed=1)
    # The new tests weigh the mean, 5 each: 9 + 1 against 5 + 5. Weighed as 0 or 1 they would
    # join the slow test's shard.
    assert split.shards == [["a.py::slow", "d.py::quick"], ["b.py::new1", "c.py::new2"]]


def test_no_shard_is_empty_while_there_are_enough_tests() -> None:
    split = split_tests(["m.py::a", "m.py::b", "m.py::c", "m.py::d"], {}, 4, seed=1)
    assert sorted(len(shard) for shard in split.shards) == [1, 1, 1, 1]
    assert split.split_modules == ["m.py"]


def test_more_shards_than_tests_leaves_the_last_shards_empty() -> None:
    split = split_tests(["m.py::a", "m.py::b"], {}, 4, seed=1)
    assert sorted(len(shard) for shard in split.shards) == [0, 0, 1, 1]


def test_a_plan_fingerprints_the_whole_collection() -> None:
    facts = plan(ShardSpec(2, 3), TEN_MODULES, {"test_a.py::t0": 2.0}, seed=1)
    assert (facts.index, facts.total, facts.collection) == (2, 3, TEN_MODULES)
    assert facts.durations_known == 1
    assert facts.durations_digest == durations_digest({"test_a.py::t0": 2.0}, TEN_MODULES)
    again = ShardFacts.from_payload(facts.to_payload(), assigned=facts.assigned)
    assert again == facts


def test_a_shard_defers_only_the_whole_suite_gates() -> None:
    facts = plan(ShardSpec(2, 4), TEN_MODULES, {}, seed=1)
    rate = GateVerdict("TQ-02", Verdict.FAIL, "50 %", ">= 98 %", "1 test of 2 did not pass")
    deferred = defer_whole_suite(rate, facts)
    assert deferred.verdict is Verdict.DEFERRED
    assert deferred.reason == (
        "judged by atom-gates merge over all 4 shards; "
        "shard 2 alone: FAIL: 1 test of 2 did not pass"
    )
    duration = GateVerdict("TQ-03", Verdict.FAIL, "2 s", "<= 1 s")
    assert defer_whole_suite(duration, facts) is duration


def test_a_shard_defers_coverage_to_the_merge_unless_it_is_off() -> None:
    facts = plan(ShardSpec(1, 2), TEN_MODULES, {}, seed=1)
    coverage = GateVerdict("TQ-05", Verdict.FAIL, "10 %", ">= 25 %", "total 10 % is below")
    deferred = defer_whole_suite(coverage, facts)
    assert (deferred.verdict, deferred.measured, deferred.reason) == (
        Verdict.DEFERRED,
        "10 %",
        "judged by atom-gates merge over all 2 shards; shard 1 alone: FAIL: total 10 % is below",
    )
    off = GateVerdict("TQ-05", Verdict.OFF, "-", "-")
    assert defer_whole_suite(off, facts) is off


NOT_DURATIONS = (
    'is not a durations file (expected {"version": 1, "durations": {...}},'
    " or pytest-split's {node id: seconds})"
)


def test_an_absent_durations_file_records_nothing(tmp_path: Path) -> None:
    assert read_durations(tmp_path / "durations.json") == {}


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (
            "{",
            "is not JSON: Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1)",
        ),
        ('{"version": 2, "durations": {}}', NOT_DURATIONS),
        ("[1, 2]", NOT_DURATIONS),
        ('[["a", 1.0, 2]]', NOT_DURATIONS),
        ('"fast"', NOT_DURATIONS),
    ],
)
def test_a_damaged_durations_file_says_why(tmp_path: Path, text: str, why: str) -> None:
    path = tmp_path / "durations.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DurationsProblem) as caught:
        read_durations(path)
    assert str(caught.value) == why


@pytest.mark.parametrize(
    "document",
    [
        {"tests/test_a.py::test_one": 1.5, "tests/test_a.py::test_two": 0.25},
        [["tests/test_a.py::test_one", 1.5], ["tests/test_a.py::test_two", 0.25]],  # before 0.3
    ],
)
def test_pytest_splits_durations_are_read_and_written_back_in_the_own_format(
    tmp_path: Path, document: object
) -> None:
    path = tmp_path / ".test_durations"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert read_durations(path) == {
        "tests/test_a.py::test_one": 1.5,
        "tests/test_a.py::test_two": 0.25,
    }
    write_durations(path, {"tests/test_a.py::test_two": 0.5})
    assert json.loads(path.read_text(encoding="utf-8")) == {
        "version": 1,
        "durations": {"tests/test_a.py::test_one": 1.5, "tests/test_a.py::test_two": 0.5},
    }


def test_figures_that_are_not_durations_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "durations.json"
    entries = {"a": 1.5, "b": -1, "c": "2", "d": True, "e": 0}
    path.write_text(json.dumps({"version": 1, "durations": entries}), encoding="utf-8")
    assert read_durations(path) == {"a": 1.5, "e": 0.0}


def test_writing_durations_keeps_the_figures_of_tests_that_did_not_run(tmp_path: Path) -> None:
    path = tmp_path / "durations.json"
    write_durations(path, {"b": 2.0, "a": 1.0})
    write_durations(path, {"a": 3.0})
    assert read_durations(path) == {"a": 3.0, "b": 2.0}
    assert path.read_text(encoding="utf-8") == (
        '{\n "version": 1,\n "durations": {\n  "a": 3.0,\n  "b": 2.0\n }\n}\n'
    )


def test_the_digest_changes_with_the_figures_the_split_used() -> None:
    tests = ["a", "b"]
    assert durations_digest({"a": 1.0}, tests) == durations_digest({"a": 1.0, "z": 9.0}, tests)
    assert durations_digest({"a": 1.0}, tests) != durations_digest({"a": 1.5}, tests)
