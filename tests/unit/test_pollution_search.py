"""The polluter search's logic, with the question answered by a model of a polluted suite."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_atom_gates.pollution import (
    FLAKY_IN_ORDER,
    FOUND,
    INCONCLUSIVE,
    NOT_ANALYSED,
    PolluterSearch,
    Probes,
    StopSearch,
    ddmin,
    find_polluters,
    probe_points,
    search,
)

QUESTION_LIMIT = 10_000
"""More questions than any search of these suites asks: a search that goes on asking never
ends, and fails its test at once instead."""


class Suite:
    """The victim fails after any run that holds every test of one of the polluter sets."""

    def __init__(self, *polluter_sets: Sequence[str]) -> None:
        self.sets = [set(s) for s in polluter_sets]
        self.asked: list[list[str]] = []

    def __call__(self, tests: Sequence[str]) -> bool:
        assert len(self.asked) < QUESTION_LIMIT, "the search does not end"
        self.asked.append(list(tests))
        return any(s <= set(tests) for s in self.sets)


def prefix(count: int) -> list[str]:
    return [f"t.py::test_{n}" for n in range(count)]


def test_one_polluter_in_ceil_log2_plus_two_runs() -> None:
    tests = prefix(200)
    suite = Suite(["t.py::test_37"])
    found = search("t.py::victim", tests, suite)
    # 1 run on the whole prefix, 7 halvings, each trying the earlier half; the last of them
    # asked about the polluter alone, which confirms it with no run of its own.
    assert found == PolluterSearch("t.py::victim", FOUND, ("t.py::test_37",), 8)
    assert [len(asked) for asked in suite.asked] == [200, 100, 50, 25, 12, 6, 3, 1]
    assert found.runs <= math.ceil(math.log2(200)) + 2
    assert suite.asked[0] == tests  # first: does it replay after the whole prefix?
    assert suite.asked[-1] == ["t.py::test_37"]  # last: the polluter alone


def test_two_polluters_needed_together_are_both_named() -> None:
    tests = prefix(64)
    found = search("t.py::victim", tests, Suite(["t.py::test_3", "t.py::test_50"]))
    assert found.result == FOUND
    assert found.polluters == ("t.py::test_3", "t.py::test_50")


def test_a_victim_that_passes_after_its_whole_prefix_is_flaky_in_order() -> None:
    found = search("t.py::victim", prefix(8), Suite())
    assert found == PolluterSearch(
        "t.py::victim", FLAKY_IN_ORDER, (), 1, "passed again after the 8 tests that ran before it"
    )
    assert search("t.py::victim", [], Suite()) == PolluterSearch(
        "t.py::victim", FLAKY_IN_ORDER, (), 0, "nothing ran before it"
    )


def test_no_question_is_asked_twice() -> None:
    tests = prefix(6)
    suite = Suite(["t.py::test_0", "t.py::test_5"])
    found = search("t.py::victim", tests, suite)
    assert found.polluters == ("t.py::test_0", "t.py::test_5")
    assert len(suite.asked) == len({tuple(asked) for asked in suite.asked}) == found.runs


def test_a_run_without_an_answer_makes_the_search_inconclusive() -> None:
    answers = iter([True, None])
    found = search("t.py::victim", prefix(4), lambda tests: next(answers))
    assert found == PolluterSearch(
        "t.py::victim", INCONCLUSIVE, (), 2, "run 2 of the search gave no result"
    )


def test_a_spent_budget_stops_the_search_and_says_so() -> None:
    def spent(tests: Sequence[str]) -> bool:
        raise StopSearch(NOT_ANALYSED, "limit of 0 polluter-search runs")

    found = search("t.py::victim", prefix(4), spent)
    assert found == PolluterSearch(
        "t.py::victim", NOT_ANALYSED, (), 0, "limit of 0 polluter-search runs"
    )


class Polluted:
    """Each victim fails after any run holding every test of its polluter set."""

    def __init__(self, polluters: dict[str, Sequence[str]]) -> None:
        self.suites = {victim: Suite(found) for victim, found in polluters.items()}

    def __call__(self, victim: str, tests: Sequence[str]) -> bool:
        return self.suites[victim](tests)

    def asked(self, victim: str) -> list[list[str]]:
        return self.suites[victim].asked


def test_a_polluter_found_once_is_tried_on_every_other_victim_in_one_short_run() -> None:
    tests = prefix(100)
    victims = [f"t.py::victim_{n}" for n in range(5)]
    polluted = Polluted({v: ["t.py::test_5"] for v in victims[:4]} | {victims[4]: ["t.py::test_9"]})
    heard: list[str] = []
    found = find_polluters(
        victims, dict.fromkeys(victims, tests), polluted, settled=lambda f: heard.append(f.victim)
    )
    # The whole prefix, 7 halvings, then test_5 alone, which confirms it.
    assert found[victims[0]] == PolluterSearch(victims[0], FOUND, ("t.py::test_5",), 9)
    for victim in victims[1:4]:
        assert found[victim] == PolluterSearch(victim, FOUND, ("t.py::test_5",), 1)
        assert polluted.asked(victim) == [["t.py::test_5"]]
    # The last one failed its short run, then had a search of its own, counted with it.
    assert found[victims[4]].polluters == ("t.py::test_9",)
    alone = search(victims[4], tests, Suite(["t.py::test_9"]))
    assert found[victims[4]].runs == 1 + alone.runs == 8
    assert polluted.asked(victims[4])[0] == ["t.py::test_5"]
    assert heard == [victims[0], *victims[1:4], victims[4]]


def test_a_known_polluter_that_did_not_run_before_a_victim_is_not_tried_on_it() -> None:
    polluted = Polluted({"t.py::v0": ["t.py::test_1"], "t.py::v1": ["t.py::other"]})
    prefixes = {"t.py::v0": prefix(2), "t.py::v1": ["t.py::other"]}
    found = find_polluters(["t.py::v0", "t.py::v1"], prefixes, polluted)
    assert found["t.py::v1"] == PolluterSearch("t.py::v1", FOUND, ("t.py::other",), 1)
    assert polluted.asked("t.py::v1") == [["t.py::other"]]


def test_short_runs_go_to_the_parallel_runner_as_one_group() -> None:
    victims = ["t.py::v0", "t.py::v1", "t.py::v2"]
    polluted = Polluted({victim: ["t.py::test_0"] for victim in victims})
    groups: list[list[str]] = []

    def in_parallel(one, group):  # type: ignore[no-untyped-def]
        groups.append(list(group))
        return [one(v) for v in group]

    find_polluters(victims, dict.fromkeys(victims, prefix(3)), polluted, in_parallel)
    assert groups == [["t.py::v1", "t.py::v2"]]


def test_an_interrupt_leaves_the_open_victims_not_analysed() -> None:
    def interrupted(victim: str, tests: Sequence[str]) -> bool:
        raise KeyboardInterrupt

    found = find_polluters(
        ["t.py::v0", "t.py::v1"], {"t.py::v0": prefix(2), "t.py::v1": []}, interrupted
    )
    assert found == {
        "t.py::v0": PolluterSearch("t.py::v0", NOT_ANALYSED, (), 0, "interrupted"),
        "t.py::v1": PolluterSearch("t.py::v1", NOT_ANALYSED, (), 0, "interrupted"),
    }


def test_a_spent_budget_leaves_each_open_victim_not_analysed() -> None:
    def spent(victim: str, tests: Sequence[str]) -> bool:
        raise StopSearch(NOT_ANALYSED, "the session's time budget is spent")

    found = find_polluters(["t.py::v0"], {"t.py::v0": prefix(3)}, spent)
    assert found["t.py::v0"] == PolluterSearch(
        "t.py::v0", NOT_ANALYSED, (), 0, "the session's time budget is spent"
    )


@given(st.integers(2, 40), st.data())
def test_ddmin_finds_a_one_minimal_set(count: int, data: st.DataObject) -> None:
    tests = prefix(count)
    needed = data.draw(st.sets(st.sampled_from(tests), min_size=1, max_size=3))
    suite = Suite(sorted(needed))
    found = ddmin(tests, suite)
    assert set(found) == needed
    for index in range(len(found)):  # 1-minimal: no test of it can go
        assert not suite([*found[:index], *found[index + 1 :]])


@pytest.mark.parametrize("count", [1, 2, 3, 17])
def test_one_polluter_at_every_position(count: int) -> None:
    tests = prefix(count)
    for polluter in tests:
        found = search("t.py::victim", tests, Suite([polluter]))
        assert found.polluters == (polluter,)
        assert found.runs <= math.ceil(math.log2(count)) + 2


def test_the_checks_budget_names_what_ran_out() -> None:
    from pytest_atom_gates.check_runs import Budget

    now = [0.0]
    budget = Budget(2, lambda: False, 10.0, clock=lambda: now[0])
    budget.take()
    now[0] = 9.9
    budget.take()
    with pytest.raises(StopSearch) as stopped:
        budget.take()
    assert stopped.value.result == NOT_ANALYSED
    assert stopped.value.detail == "limit of 2 questions (--atom-gates-order-checks)"
    budget = Budget(5, lambda: False, 10.0, clock=lambda: now[0])
    now[0] = 20.0
    assert budget.reason() == (
        "the checks' share of the run's time is spent (--atom-gates-order-check-time)"
    )
    assert Budget(5, lambda: True, None).reason() == "the session's time budget is spent"
    assert Budget(5, lambda: False, None).reason() is None


def test_checks_in_parallel_keep_their_order_and_stop_on_an_interrupt() -> None:
    from pytest_atom_gates.check_runs import Parallel

    stopped: list[bool] = []
    parallel = Parallel(3, lambda: stopped.append(True))
    assert parallel.map(lambda n: n * 2, [1, 2, 3, 4, 5]) == [2, 4, 6, 8, 10]

    def interrupted(n: int) -> int:
        if n == 2:
            raise KeyboardInterrupt
        return n

    one = Parallel(1, lambda: stopped.append(True))
    assert one.map(interrupted, [1, 2, 3]) == [1, None, None]
    assert one.interrupted
    assert one.map(lambda n: n, [7]) == [None]  # nothing more starts once interrupted


def test_ddmin_asks_no_complement_that_equals_a_half() -> None:
    # With two parts, each complement is the other part, already asked: 15 questions, not 19.
    suite = Suite(["t.py::test_0", "t.py::test_3"])
    assert ddmin(prefix(4), suite) == ["t.py::test_0", "t.py::test_3"]
    assert len(suite.asked) == 15


class Probed:
    """``Suite``'s question with probes, as a forked copy answers it: each probe answers for the
    prefix up to its test, and the first the victim fails after ends the question there, with
    no answer for the whole. Probes are counted apart from the questions; ``ran`` is what the
    first question ran."""

    def __init__(self, suite: Suite) -> None:
        self.suite = suite
        self.probed: list[list[str]] = []
        self.ran = 0

    def __call__(
        self, victim: str, tests: Sequence[str], after: Sequence[str]
    ) -> tuple[bool | None, dict[str, bool]]:
        answers = {}
        for test in after:
            start = list(tests[: tests.index(test) + 1])
            self.probed.append(start)
            answers[test] = any(s <= set(start) for s in self.suite.sets)
            if answers[test]:
                self.ran = len(start)
                return None, answers
        self.ran = len(tests)
        return self.suite(tests), answers


def probes_of(suite: Suite, cost: float = 25.0) -> tuple[Probed, Probes]:
    probed = Probed(suite)
    return probed, Probes(probed, lambda victim, tests: cost)


def test_probes_bound_the_bisection_to_the_stretch_where_the_victim_starts_failing() -> None:
    tests = prefix(7202)
    suite = Suite(["t.py::test_4321"])
    probed, probes = probes_of(suite)
    found = search("t.py::victim", tests, suite, probes)
    assert found == PolluterSearch("t.py::victim", FOUND, ("t.py::test_4321",), 9)
    # Probes about 288 tests apart; the victim passes after the 15th (4,321 tests, up to the
    # polluter) and fails after the 16th, which ends the first question there.
    assert [len(p) for p in probed.probed[-2:]] == [4321, 4609]
    assert len(probed.probed) == 16
    assert probed.ran == 4609
    # Then the halvings of the 288 tests between those two probes, the last of them the
    # polluter alone: 4,895 tests run, where bisecting the whole prefix runs 14,401.
    assert [len(asked) for asked in suite.asked] == [144, 72, 36, 18, 9, 4, 2, 1]
    assert probed.ran + sum(len(asked) for asked in suite.asked) == 4895
    assert suite.asked[-1] == ["t.py::test_4321"]
    plain = Suite(["t.py::test_4321"])
    assert search("t.py::victim", tests, plain) == replace(found, runs=14)  # the same test
    assert sum(len(asked) for asked in plain.asked) == 14401


def test_probes_bound_delta_debugging_when_two_tests_pollute_together() -> None:
    tests = prefix(4000)
    suite = Suite(["t.py::test_100", "t.py::test_2500"])
    probed, probes = probes_of(suite)
    found = search("t.py::victim", tests, suite, probes)
    assert found == PolluterSearch("t.py::victim", FOUND, ("t.py::test_100", "t.py::test_2500"), 82)
    # The first probe the victim fails after ends 2,526 tests in, and the first question with
    # it: bisecting between it and the probe before finds no single polluter, so those 2,526
    # tests are asked about once as a question, then delta debugging starts there. No
    # question holds a later test.
    first_failing = probed.probed[-1]
    assert len(first_failing) == probed.ran == 2526
    assert suite.asked[9] == first_failing
    assert all(set(asked) <= set(first_failing) for asked in suite.asked)
    assert probed.ran + sum(len(asked) for asked in suite.asked) == 22689  # 35,988 without


@pytest.mark.parametrize("seen", [True, False])
def test_a_probe_that_saw_wrong_misleads_no_search(seen: bool) -> None:
    tests = prefix(3000)
    suite = Suite(["t.py::test_1000", "t.py::test_2000"])
    lying = Probes(lambda v, t, after: (suite(t), dict.fromkeys(after, seen)), lambda v, t: 25.0)
    found = search("t.py::victim", tests, suite, lying)
    assert found.result == FOUND
    assert found.polluters == ("t.py::test_1000", "t.py::test_2000")


def test_probes_that_give_no_answer_leave_the_whole_prefix_to_bisect() -> None:
    tests = prefix(2000)
    suite = Suite(["t.py::test_1999"])
    found = search(
        "t.py::victim", tests, suite, Probes(lambda v, t, a: (suite(t), {}), lambda v, t: 2.0)
    )
    plain = search("t.py::victim", tests, Suite(["t.py::test_1999"]))
    assert found == plain


@pytest.mark.parametrize(
    ("count", "cost", "probes"),
    [(7202, 25.0, 24), (10000, 25.0, 28), (100000, 25.0, 32), (100, 2.0, 10), (300, 25.0, 0)],
)
def test_probes_are_taken_only_where_they_pay(count: int, cost: float, probes: int) -> None:
    tests = prefix(count)
    points = probe_points(tests, cost)
    assert len(points) == probes
    assert len(set(points)) == probes
    assert tests[-1] not in points


@given(st.integers(2, 600), st.data())
def test_probed_searches_find_what_plain_searches_find(count: int, data: st.DataObject) -> None:
    tests = prefix(count)
    needed = sorted(data.draw(st.sets(st.sampled_from(tests), min_size=1, max_size=2)))
    _, probes = probes_of(Suite(needed), cost=2.0)
    found = search("t.py::victim", tests, Suite(needed), probes)
    assert found.result == FOUND
    assert set(found.polluters) == set(needed)


def test_a_probe_that_ended_the_first_question_wrongly_leaves_the_victim_flaky_in_order() -> None:
    """The probe saw the victim fail, so the first question ended there; no question fails
    after any of its prefix: it was chance, and no polluter is named."""
    tests = prefix(3000)
    never = Suite()

    def first_probe_fails(
        victim: str, tests: Sequence[str], after: Sequence[str]
    ) -> tuple[bool | None, dict[str, bool]]:
        return None, {after[0]: True}

    found = search("t.py::victim", tests, never, Probes(first_probe_fails, lambda v, t: 25.0))
    assert found.result == FLAKY_IN_ORDER
    assert found.detail == "passed again after the 3000 tests that ran before it"
    # The first question, the bisection between no probe and the first, the first probe's
    # prefix once more, then the whole prefix.
    assert never.asked[-2:] == [tests[: len(never.asked[-2])], tests]
    assert found.runs == len(never.asked) + 1


class CollectingSuite(Suite):
    """``Suite``, where a question that names no file collects every one of ``files`` too, as
    the victim's process did (``order_check``), and one that names files collects only
    those."""

    def __init__(self, files: Sequence[str], *polluter_sets: Sequence[str]) -> None:
        super().__init__(*polluter_sets)
        self.files = list(files)

    def __call__(self, tests: Sequence[str]) -> bool:
        named = [t for t in tests if "::" not in t]
        collected = set(named) if named else set(self.files)
        assert len(self.asked) < QUESTION_LIMIT, "the search does not end"
        self.asked.append(list(tests))
        return any(s <= {*tests, *collected} for s in self.sets)


FILES = ["a.py", "b.py", "c.py", "d.py"]


def test_a_first_test_broken_by_collecting_a_file_names_that_file() -> None:
    suite = CollectingSuite(FILES, ["c.py"])
    found = search("v.py::victim", [], suite, collection=FILES)
    assert found == PolluterSearch("v.py::victim", FOUND, ("c.py",), 3)
    # Nothing but the collection; then bisection of the files, known to fail all together.
    assert suite.asked == [[], ["a.py", "b.py"], ["c.py"]]


def test_a_first_test_that_passes_after_the_collection_is_flaky_in_order() -> None:
    suite = CollectingSuite(FILES)
    found = search("v.py::victim", [], suite, collection=FILES)
    detail = (
        "nothing ran before it, and it passed after collecting the 4 other files its process "
        "collected"
    )
    assert found == PolluterSearch("v.py::victim", FLAKY_IN_ORDER, (), 1, detail)
    assert search("v.py::victim", [], suite) == PolluterSearch(
        "v.py::victim", FLAKY_IN_ORDER, (), 0, "nothing ran before it"
    )


def test_two_files_needed_together_are_both_named() -> None:
    suite = CollectingSuite(FILES, ["a.py", "d.py"])
    found = search("v.py::victim", [], suite, collection=FILES)
    assert (found.result, found.polluters) == (FOUND, ("a.py", "d.py"))


def test_a_victim_broken_by_the_collection_is_not_blamed_on_the_first_test_before_it() -> None:
    """Every question collects the files, so the victim fails after any test: bisection ends
    at the first one, which is then asked about without it."""
    tests = prefix(8)
    suite = CollectingSuite(FILES, ["b.py"])
    found = search("v.py::victim", tests, suite, collection=FILES)
    assert found == PolluterSearch("v.py::victim", FOUND, ("b.py",), 8)
    assert suite.asked[3:] == [["t.py::test_0"], [], ["a.py", "b.py"], ["a.py"], ["b.py"]]


def test_a_first_test_that_pollutes_is_asked_about_once_more_without_it() -> None:
    tests = prefix(8)
    suite = CollectingSuite(FILES, ["t.py::test_0"])
    found = search("v.py::victim", tests, suite, collection=FILES)
    assert found == PolluterSearch("v.py::victim", FOUND, ("t.py::test_0",), 5)
    assert suite.asked[-1] == []
    # Any other polluter costs no question more.
    other = CollectingSuite(FILES, ["t.py::test_5"])
    assert search("v.py::victim", tests, other, collection=FILES).runs == 5
    assert [] not in other.asked


def test_a_file_found_once_is_tried_on_every_victim_whose_process_collected_it() -> None:
    collections = {"v.py::first": FILES, "v.py::second": FILES, "w.py::third": ["a.py"]}
    suites = {victim: CollectingSuite(files, ["c.py"]) for victim, files in collections.items()}
    found = find_polluters(
        list(collections),
        {"v.py::first": [], "v.py::second": prefix(3), "w.py::third": []},
        lambda victim, tests: suites[victim](tests),
        collections=collections,
    )
    assert found["v.py::first"] == PolluterSearch("v.py::first", FOUND, ("c.py",), 3)
    assert found["v.py::second"] == PolluterSearch("v.py::second", FOUND, ("c.py",), 1)
    # The third's process did not collect c.py: it is searched on its own.
    assert found["w.py::third"] == PolluterSearch(
        "w.py::third",
        FLAKY_IN_ORDER,
        (),
        1,
        "nothing ran before it, and it passed after collecting the 1 other file its process "
        "collected",
    )


def test_a_short_run_collects_only_the_sets_files() -> None:
    """The second victim fails after collecting ``c.py`` alone, so after any set when every
    file is collected: its short run after the first victim's polluter must not settle it."""
    suite = CollectingSuite(FILES, ["c.py"])
    first = CollectingSuite(FILES, ["t.py::test_1"])
    asked: list[tuple[str, list[str]]] = []

    def short_ask(victim: str, tests: Sequence[str]) -> bool:
        asked.append((victim, list(tests)))
        return any(s <= set(tests) for s in suite.sets)  # no other file collected

    found = find_polluters(
        ["v.py::first", "v.py::second"],
        {"v.py::first": prefix(3), "v.py::second": prefix(3)},
        lambda victim, tests: (first if victim == "v.py::first" else suite)(tests),
        collections={"v.py::first": FILES, "v.py::second": FILES},
        short_ask=short_ask,
    )
    assert found["v.py::first"].polluters == ("t.py::test_1",)
    assert asked == [("v.py::second", ["t.py::test_1"])]
    assert (found["v.py::second"].result, found["v.py::second"].polluters) == (FOUND, ("c.py",))
