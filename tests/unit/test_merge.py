"""``atom-gates merge`` over shard reports made by the report writer itself, without pytest runs."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pytest_atom_gates.cov.gate import CoverageGate
from pytest_atom_gates.cov.patch_gate import PatchCoverageGate
from pytest_atom_gates.cov.shards import ShardSection, shard_coverage
from pytest_atom_gates.gates import default_gates, evaluate
from pytest_atom_gates.gates.base import Verdict
from pytest_atom_gates.gates.determinism import DeterminismGate
from pytest_atom_gates.ledger import RERUN
from pytest_atom_gates.merge import Merged, MergeRefused, Shard, as_shard, merge
from pytest_atom_gates.outcomes import FAILED
from pytest_atom_gates.report import ReportProblem, load, parse
from pytest_atom_gates.reporting.json_report import build_report
from pytest_atom_gates.settings import GateMode
from pytest_atom_gates.shard import SHARD_KEY, ShardSpec, defer_whole_suite, plan

from .builders import attempt, facts_of, ledger_of, make_settings

SUITE = ["a.py::t1", "a.py::t2", "b.py::t1", "b.py::t2"]
ENVIRONMENT = {"python": "3", "implementation": "CPython", "platform": "linux", "pytest": "8"}


def shard_document(
    index: int,
    total: int,
    results: Mapping[str, Sequence[str]],
    *,
    collection: Sequence[str] = SUITE,
    seed: int = 1,
    elapsed: float = 1.0,
    durations: Mapping[str, float] | None = None,
    exit_status: int = 0,
    incomplete_reason: str | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """A shard's report as the writer makes it: ``results`` gives each test's attempt outcomes."""
    attempts = [
        attempt(nodeid, outcome) for nodeid, outcomes in results.items() for outcome in outcomes
    ]
    ledger = ledger_of(*attempts, selected=list(results))
    # These shards measure no coverage: TQ-05 is off, and judged off, as a real run reports it.
    settings.setdefault("modes", {"TQ-05": GateMode.OFF})
    facts = facts_of(ledger, settings=make_settings(seed=seed, **settings), elapsed=elapsed)
    facts.seed = seed
    shard = plan(ShardSpec(index, total), collection, durations or {}, seed)
    shard.assigned = list(results)
    facts.extras[SHARD_KEY] = shard
    verdicts = [
        defer_whole_suite(v, shard)
        for v in evaluate(
            [*default_gates(), DeterminismGate(), CoverageGate(), PatchCoverageGate(None)], facts
        )
    ]
    return build_report(
        facts,
        verdicts,
        exit_status=exit_status,
        incomplete_reason=incomplete_reason,
        environment=ENVIRONMENT,
    )


def shards_of(*documents: dict[str, Any]) -> list[Shard]:
    return [
        as_shard(parse(json.loads(json.dumps(d)), Path(f"r{i}.json")))
        for i, d in enumerate(documents, 1)
    ]


def merged(*documents: dict[str, Any]) -> Merged:
    return merge(shards_of(*documents), Path.cwd())


def verdict(result: Merged, gate: str) -> Any:
    return next(v for v in result.verdicts if v.gate == gate)


PASS = ("passed",)


def test_two_healthy_shards_pass_as_one_run() -> None:
    result = merged(
        shard_document(1, 2, {"a.py::t1": PASS, "a.py::t2": PASS}),
        shard_document(2, 2, {"b.py::t1": PASS, "b.py::t2": PASS}),
    )
    rate = verdict(result, "TQ-02")
    assert (rate.verdict, rate.measured, rate.reason) == (Verdict.PASS, "100.00 % (4/4)", None)
    assert result.exit_status == 0
    assert list(result.facts.ledger.nodeids()) == SUITE


def test_the_pass_rate_counts_every_shards_outcomes() -> None:
    result = merged(
        shard_document(1, 2, {"a.py::t1": PASS, "a.py::t2": ("failed", "failed", "failed")}),
        shard_document(2, 2, {"b.py::t1": (RERUN, "passed"), "b.py::t2": PASS}),
    )
    rate = verdict(result, "TQ-02")
    assert (rate.verdict, rate.measured) == (Verdict.FAIL, "75.00 % (3/4)")
    assert rate.reason == "1 test of 4 did not pass, below the minimum of 98 %"
    flaky = verdict(result, "TQ-04")
    assert (flaky.verdict, flaky.measured, flaky.reason) == (
        Verdict.WARN,
        "1 flaky",
        "flaky: b.py::t1",
    )
    assert result.facts.ledger.with_outcome(FAILED) == ["a.py::t2"]
    assert result.exit_status == 1


def test_a_missing_shard_fails_and_its_tests_count_as_not_run() -> None:
    result = merged(shard_document(1, 2, {"a.py::t1": PASS, "a.py::t2": PASS}))
    rate = verdict(result, "TQ-02")
    assert (rate.verdict, rate.measured) == (Verdict.FAIL, "50.00 % (2/4)")
    assert rate.reason == (
        "shard 2 of 2 is missing: no report (it crashed, was cancelled, or its artifact was not "
        "downloaded); its tests count as not run; 2 tests of 4 did not pass, below the minimum "
        "of 98 %; 2 selected tests did not run"
    )
    assert result.facts.ledger.with_outcome("not-run") == ["b.py::t1", "b.py::t2"]


def test_a_missing_shard_fails_even_when_the_rate_would_pass() -> None:
    big = [f"m.py::t{i}" for i in range(200)]
    first = dict.fromkeys(big[:199], PASS)
    result = merged(
        shard_document(1, 2, first, collection=big, min_pass_rate=Decimal(0)),
    )
    rate = verdict(result, "TQ-02")
    assert rate.verdict is Verdict.FAIL
    assert rate.reason.startswith("shard 2 of 2 is missing: ")


def test_a_shard_given_twice_fails_naming_both_reports() -> None:
    one = shard_document(1, 2, {"a.py::t1": PASS, "a.py::t2": PASS})
    two = shard_document(2, 2, {"b.py::t1": PASS, "b.py::t2": PASS})
    result = merged(one, two, two)
    rate = verdict(result, "TQ-02")
    assert (rate.verdict, rate.measured) == (Verdict.FAIL, "100.00 % (4/4)")
    assert (
        rate.reason == "shard 2 of 2 was given 2 times (r2.json, r3.json): only r2.json was counted"
    )


def test_a_test_in_two_shards_fails_naming_it() -> None:
    result = merged(
        shard_document(1, 2, {"a.py::t1": PASS, "a.py::t2": PASS, "b.py::t1": PASS}),
        shard_document(2, 2, {"b.py::t1": PASS, "b.py::t2": PASS}),
    )
    rate = verdict(result, "TQ-02")
    assert rate.verdict is Verdict.FAIL
    assert rate.reason == "1 tests ran in two shards: b.py::t1 (shards 1 and 2)"


def test_a_test_in_no_shard_fails_naming_it() -> None:
    result = merged(
        shard_document(1, 2, {"a.py::t1": PASS, "a.py::t2": PASS}),
        shard_document(2, 2, {"b.py::t1": PASS}),
    )
    rate = verdict(result, "TQ-02")
    assert (rate.verdict, rate.measured) == (Verdict.FAIL, "75.00 % (3/4)")
    assert rate.reason == (
        "1 tests were in no shard's selection: b.py::t2; 1 test of 4 did not pass, below the "
        "minimum of 98 %; 1 selected test did not run"
    )


def test_the_duration_is_the_slowest_shards_and_the_sum_is_shown() -> None:
    result = merged(
        shard_document(1, 2, {"a.py::t1": PASS, "a.py::t2": PASS}, elapsed=30.0, max_duration=40.0),
        shard_document(2, 2, {"b.py::t1": PASS, "b.py::t2": PASS}, elapsed=50.0, max_duration=40.0),
    )
    duration = verdict(result, "TQ-03")
    assert duration.verdict is Verdict.FAIL
    assert duration.measured == "50.0 s (slowest: shard 2; sum of 2 shards 80.0 s)"
    assert duration.reason == "shard 2 took 50.0 s, over its budget of 40.0 s"
    assert duration.data["shards"] == {"1": 30.0, "2": 50.0}


@pytest.mark.parametrize(
    ("second", "message"),
    [
        (
            {"seed": 2},
            "different seeds: shard 1 (r1.json) has 1, shard 2 (r2.json) has 2",
        ),
        (
            {"min_pass_rate": Decimal(90)},
            "different settings: min_pass_rate is '98' in shard 1 (r1.json) and '90' in "
            "shard 2 (r2.json)",
        ),
        (
            {"collection": [*SUITE, "c.py::t1"]},
            "the shards collected different suites (4 tests in shard 1 (r1.json), 5 in shard 2 "
            "(r2.json); only in shard 2 (r2.json): c.py::t1)",
        ),
        (
            {"collection": list(reversed(SUITE))},
            "the shards collected different suites (4 tests in shard 1 (r1.json), 4 in shard 2 "
            "(r2.json); the same tests in a different order)",
        ),
    ],
)
def test_shards_of_different_runs_are_refused(second: dict[str, Any], message: str) -> None:
    one = shard_document(1, 2, {"a.py::t1": PASS, "a.py::t2": PASS})
    two = shard_document(2, 2, {"b.py::t1": PASS, "b.py::t2": PASS}, **second)
    with pytest.raises(MergeRefused) as caught:
        merged(one, two)
    assert str(caught.value) == message


def test_shards_of_different_counts_are_refused() -> None:
    with pytest.raises(MergeRefused) as caught:
        merged(
            shard_document(1, 2, {"a.py::t1": PASS, "a.py::t2": PASS}),
            shard_document(2, 3, {"b.py::t1": PASS}),
        )
    assert str(caught.value) == (
        "different shard counts N: shard 1 (r1.json) has 2, shard 2 (r2.json) has 3"
    )


def test_a_report_of_a_whole_run_is_refused() -> None:
    document = shard_document(1, 1, {"a.py::t1": PASS})
    del document[SHARD_KEY]
    with pytest.raises(MergeRefused) as caught:
        shards_of(document)
    assert str(caught.value) == (
        "r1.json is not a shard's report: it was written without --atom-gates-shard=K/N "
        "(or CI_NODE_INDEX/CI_NODE_TOTAL)"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "{",
            "not JSON (Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1))",
        ),
        ("[]", "the document is not an object"),
        ('{"a": 1}', "not a pytest-atom-gates report (no schema_version or tool)"),
        ('{"schema_version": 1, "tool": {}}', "report schema 1; this version reads schemas 3, 4"),
    ],
)
def test_a_file_that_is_no_report_says_why(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "r.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ReportProblem) as caught:
        load(path)
    assert str(caught.value) == f"{path}: {message}"


def test_a_report_with_a_damaged_field_names_it(tmp_path: Path) -> None:
    document = shard_document(1, 1, {"a.py::t1": PASS})
    document["tests"][0]["attempts"][0]["duration"] = "slow"
    with pytest.raises(ReportProblem) as caught:
        parse(document, tmp_path / "r.json")
    assert str(caught.value) == f"{tmp_path / 'r.json'}: field 'duration' has the wrong type (str)"


def test_a_missing_report_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ReportProblem) as caught:
        load(tmp_path / "absent.json")
    assert str(caught.value) == f"{tmp_path / 'absent.json'}: no such file"


def with_extension_verdict(document: dict[str, Any], verdict: str, measured: str) -> dict[str, Any]:
    """The shard's report as if an extension's gate SK-01 had judged it so."""
    document["verdicts"].append(
        {
            "gate": "SK-01",
            "name": "skipped tests",
            "verdict": verdict,
            "mode": "enforce",
            "measured": measured,
            "required": "<= 2 %",
            "reason": None if verdict == "PASS" else f"{measured} skipped",
            "data": {},
        }
    )
    return document


def test_an_extension_gate_keeps_its_worst_shards_verdict() -> None:
    result = merged(
        with_extension_verdict(shard_document(1, 3, {"a.py::t1": PASS}), "PASS", "0.0 %"),
        with_extension_verdict(shard_document(2, 3, {"a.py::t2": PASS}), "FAIL", "50.0 %"),
        with_extension_verdict(
            shard_document(3, 3, {"b.py::t1": PASS, "b.py::t2": PASS}), "FAIL", "9.0 %"
        ),
    )
    skipped = verdict(result, "SK-01")
    assert (skipped.verdict, skipped.name, skipped.measured, skipped.reason) == (
        Verdict.FAIL,
        "skipped tests",
        "50.0 % (worst of 3 shards: shard 2)",
        "50.0 % skipped",
    )
    assert result.exit_status == 1
    assert [v.gate for v in result.verdicts][-1] == "SK-01"


def test_an_extension_gate_missing_from_a_shard_fails_naming_it() -> None:
    result = merged(
        with_extension_verdict(
            shard_document(1, 2, {"a.py::t1": PASS, "a.py::t2": PASS}), "PASS", "0.0 %"
        ),
        shard_document(2, 2, {"b.py::t1": PASS, "b.py::t2": PASS}),
    )
    skipped = verdict(result, "SK-01")
    assert (skipped.verdict, skipped.measured, skipped.reason) == (
        Verdict.FAIL,
        "0.0 % (1 shard: shard 1)",
        "shard 2 did not judge SK-01: it was not added on every shard",
    )
    assert result.exit_status == 1


def test_shards_split_from_different_recorded_durations_are_refused() -> None:
    """Each machine must split by the same figures, else some tests ran twice or never."""
    one = shard_document(1, 2, {"a.py::t1": PASS, "a.py::t2": PASS})
    two = shard_document(2, 2, {"b.py::t1": PASS, "b.py::t2": PASS}, durations={"a.py::t1": 9.0})
    first = plan(ShardSpec(1, 2), SUITE, {}, 1).durations_digest
    second = plan(ShardSpec(2, 2), SUITE, {"a.py::t1": 9.0}, 1).durations_digest
    assert first != second
    with pytest.raises(MergeRefused) as caught:
        merged(one, two)
    assert str(caught.value) == (
        f"split by different recorded durations (digest): shard 1 (r1.json) has {first!r}, "
        f"shard 2 (r2.json) has {second!r}"
    )


def test_an_interrupted_shard_fails_the_pass_rate_naming_it() -> None:
    """A shard that ended with exit status 2 ran part of its tests: its passing ones prove
    nothing about the rest, whatever the rate."""
    one = shard_document(1, 2, {"a.py::t1": PASS, "a.py::t2": PASS})
    two = shard_document(
        2,
        2,
        {"b.py::t1": PASS, "b.py::t2": PASS},
        exit_status=2,
        incomplete_reason="interrupted by SIGINT",
    )
    rate = verdict(merged(one, two), "TQ-02")
    assert rate.verdict is Verdict.FAIL
    assert rate.reason == "shard 2 (r2.json) ended with exit status 2 (interrupted by SIGINT)"


def test_a_missing_shard_counts_among_the_missing_parts_of_the_merged_coverage(
    tmp_path: Path,
) -> None:
    """The combined figure of the shards that did report is partial: the missing shard's tests
    ran nowhere, and TQ-05 must say whose data it lacks."""
    section = {"measured_by": "atom-gates", "sources": ["pkg"], "data_file": None}
    shards = [ShardSection(1, tmp_path / "r1.json", section)]
    facts = shard_coverage(shards, [2], make_settings(), tmp_path)
    assert facts.missing_workers == ["shard 2", "shard 1"]
    assert facts.problems == [
        "shard 1: no coverage data (its report names no data file (nothing was measured))"
    ]
    assert facts.no_data == "no shard's coverage data was found"


def test_shards_of_different_change_bases_are_refused() -> None:
    """TQ-06 judges the change since one base: shards of different bases judged different
    changes."""
    one = shard_document(1, 2, {"a.py::t1": PASS, "a.py::t2": PASS})
    two = shard_document(2, 2, {"b.py::t1": PASS, "b.py::t2": PASS})
    one["patch_coverage"] = {"ref": "main", "commit": "aaa"}
    two["patch_coverage"] = {"ref": "main", "commit": "bbb"}
    with pytest.raises(MergeRefused) as caught:
        merged(one, two)
    assert str(caught.value) == (
        "different change bases (--atom-gates-changed-since): shard 1 (r1.json) has 'aaa', "
        "shard 2 (r2.json) has 'bbb'"
    )


@pytest.mark.parametrize(
    ("change", "damage"),
    [
        ({"root": "/r", "lines": "oops"}, "AttributeError"),
        ({"root": "/r", "lines": {"a.py": [[1]]}}, "ValueError"),
    ],
)
def test_a_damaged_change_record_is_refused_naming_the_report(
    change: dict[str, Any], damage: str
) -> None:
    one = shard_document(1, 2, {"a.py::t1": PASS, "a.py::t2": PASS})
    two = shard_document(2, 2, {"b.py::t1": PASS, "b.py::t2": PASS})
    for document in (one, two):
        document["patch_coverage"] = {"ref": "main", "commit": "aaa", "change": change}
    with pytest.raises(MergeRefused) as caught:
        merged(one, two)
    assert str(caught.value).startswith(f"r1.json: patch_coverage.change is damaged ({damage}(")


def test_a_deferred_patch_gate_without_a_recorded_change_fails_instead_of_turning_off() -> None:
    documents = [
        shard_document(1, 2, {"a.py::t1": PASS, "a.py::t2": PASS}),
        shard_document(2, 2, {"b.py::t1": PASS, "b.py::t2": PASS}),
    ]
    for document in documents:
        (patch,) = [v for v in document["verdicts"] if v["gate"] == "TQ-06"]
        patch["verdict"] = "DEFERRED"
    result = verdict(merged(*documents), "TQ-06")
    assert (result.verdict, result.reason) == (
        Verdict.FAIL,
        "the shards deferred TQ-06 to the merge, but their reports hold no change to judge it "
        "by (patch_coverage.change)",
    )
