"""How an order-dependent test is described: victims and brittle tests, in every output."""

from __future__ import annotations

from pytest_atom_gates.gates.independence import ORDER_DEPENDENT, OrderChecks
from pytest_atom_gates.gates.order_findings import AloneCheck
from pytest_atom_gates.pollution import FLAKY_IN_ORDER, FOUND, NOT_ANALYSED
from pytest_atom_gates.reporting import order_dependence_text
from pytest_atom_gates.reporting.github import run_annotations, step_summary
from tests.unit.builders import attempt, facts_of, ledger_of

BRITTLE = AloneCheck(
    "t.py::test_cache_on",
    ORDER_DEPENDENT,
    "failed alone too, passed after the 3 tests before it in file order",
    reproduce="pytest --atom-gates t.py::test_cache_on",
    polluters=("t.py::test_enable",),
    search=FOUND,
    search_runs=3,
    brittle=True,
    passes="pytest --atom-gates --atom-gates-order=file t.py::test_enable t.py::test_cache_on",
)


def test_a_brittle_test_names_what_it_passes_after() -> None:
    assert order_dependence_text(BRITTLE) == (
        "fails alone, passes only after t.py::test_enable (found in 3 runs)"
    )


def test_a_brittle_test_without_its_setter_says_why() -> None:
    for search, detail, expected in (
        (
            FLAKY_IN_ORDER,
            "nothing ran before it",
            "; no state-setter to search: nothing ran before it",
        ),
        (NOT_ANALYSED, "budget", "; state-setter not found (not-analysed): budget"),
    ):
        check = AloneCheck(
            "t.py::b",
            ORDER_DEPENDENT,
            "failed alone too, passed after the 0 tests before it in file order",
            search=search,
            search_detail=detail,
            brittle=True,
        )
        assert order_dependence_text(check) == check.detail + expected


def test_github_outputs_give_both_commands_of_a_brittle_test() -> None:
    facts = facts_of(ledger_of(attempt("t.py::test_cache_on", "failed")))
    facts.extras["order_checks"] = OrderChecks([BRITTLE])
    summary = step_summary(facts, [], budget=100_000)
    assert f"```sh\n  {BRITTLE.reproduce}\n  ```\n\n  passes:\n\n  ```sh\n  {BRITTLE.passes}\n" in (
        summary
    )
    (annotation,) = run_annotations(facts, [], {})
    assert annotation.message.endswith(
        "order-dependent: fails alone, passes only after t.py::test_enable (found in 3 runs). "
        f"Reproduce:\n{BRITTLE.reproduce}\nPasses:\n{BRITTLE.passes}"
    )


def test_a_victim_of_a_files_collection_names_the_file_and_the_test_with_it() -> None:
    check = AloneCheck(
        "t.py::test_v",
        ORDER_DEPENDENT,
        "passed when run alone",
        polluters=("sub/conftest_like.py", "t.py::test_a"),
        search=FOUND,
        search_runs=5,
    )
    assert order_dependence_text(check) == (
        "fails after collecting sub/conftest_like.py and t.py::test_a together (found in 5 runs)"
    )


def test_files_needed_together_are_named_as_one_collection() -> None:
    check = AloneCheck(
        "t.py::test_v",
        ORDER_DEPENDENT,
        "passed when run alone",
        polluters=("a.py", "b.py", "c.py"),
        search=FOUND,
        search_runs=9,
    )
    assert order_dependence_text(check) == (
        "fails after collecting a.py, b.py and c.py together (found in 9 runs)"
    )
