"""Cooperation with the plugins atom-gates replaces or works beside (``tox -e compat``)."""

from __future__ import annotations

import pytest

from tests.conftest import Gates

pytestmark = pytest.mark.compat


def _collected(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if line.startswith("test_")]


@pytest.fixture
def many_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_a="\n".join(f"def test_{i}(): pass" for i in range(20)))


@pytest.mark.usefixtures("many_tests")
@pytest.mark.parametrize("shuffler", ["randomly", "random_order"])
def test_other_shufflers_are_switched_off(pytester: pytest.Pytester, shuffler: str) -> None:
    args = ["--random-order"] if shuffler == "random_order" else []
    ours = pytester.runpytest("--atom-gates", "--atom-gates-seed=5", "--collect-only", "-q", *args)
    without = pytester.runpytest(
        "--atom-gates", "--atom-gates-seed=5", "--collect-only", "-q", "-p", f"no:{shuffler}"
    )
    assert _collected(ours) == _collected(without), "the other shuffler changed the order"
    header = pytester.runpytest("--atom-gates", "--collect-only", *args)
    name = {"randomly": "pytest-randomly's", "random_order": "pytest-random-order's"}[shuffler]
    header.stdout.fnmatch_lines([f"atom-gates: {name} reordering* off for this run"])


def test_the_header_shows_one_seed_the_gates(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_r="def test_one(): pass\n")
    gated = pytester.runpytest("--atom-gates", "--atom-gates-seed=9")
    gated.stdout.fnmatch_lines(["atom-gates: seed 9 *"])
    gated.stdout.no_fnmatch_line("Using --randomly-seed=*")
    plain = pytester.runpytest("-p", "randomly", "-p", "no:cacheprovider")
    plain.stdout.fnmatch_lines(["Using --randomly-seed=*"])  # without --atom-gates, as it was


def test_randomly_does_not_reseed_over_us(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_r="""
        import random
        from pytest_atom_gates.ordering import test_seed
        def test_seeded():
            expected = random.Random(test_seed(9, "test_r.py::test_seeded")).random()
            assert random.random() == expected
    """
    )
    pytester.runpytest("--atom-gates", "--atom-gates-seed=9").assert_outcomes(passed=1)


@pytest.mark.parametrize("plugin", ["rerunfailures", "flaky"])
def test_other_rerunners_are_switched_off(pytester: pytest.Pytester, plugin: str) -> None:
    pytester.makepyfile(
        test_f="""
        import pytest
        @pytest.mark.flaky(reruns=5)
        def test_broken():
            with open("attempts.txt", "a") as out:
                out.write("x")
            assert False
    """
    )
    gates = Gates(pytester)
    run = gates.run(
        "--reruns=7" if plugin == "rerunfailures" else "--force-flaky",
        "--atom-gates-mode=TQ-01:off",
        "--atom-gates-min-pass-rate=0",
    )
    name = {"rerunfailures": "pytest-rerunfailures", "flaky": "flaky"}[plugin]
    run.result.stdout.fnmatch_lines([f"atom-gates: {name} is switched off for this run*"])
    # rerunfailures' flaky(reruns=5) marker is honoured by atom-gates: 1 + 5 attempts, no more.
    assert len((pytester.path / "attempts.txt").read_text()) == 6
    (test,) = run.report["tests"]
    assert len(test["attempts"]) == 6


def test_each_attempt_gets_the_full_timeout(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_t="""
        import pathlib, time, pytest
        @pytest.mark.timeout(1.5)
        def test_slow_then_fast():
            counter = pathlib.Path("count")
            runs = int(counter.read_text()) if counter.exists() else 0
            counter.write_text(str(runs + 1))
            time.sleep(1.0)
            assert runs > 0
    """
    )
    run = Gates(pytester).run("--atom-gates-rerun-delay=0", subprocess=True)
    # Two attempts of 1 s each: only passes if the second attempt got its own 1.5 s.
    assert run.outcomes() == {"test_t.py::test_slow_then_fast": "flaky"}


def test_pytest_order_marks_are_said_to_be_overridden(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_a="""
        import pytest
        @pytest.mark.order(2)
        def test_second(): pass
        @pytest.mark.order(1)
        def test_first(): pass
        """
    )
    header = pytester.runpytest("--atom-gates", "--collect-only")
    header.stdout.fnmatch_lines(
        [
            "atom-gates: pytest-order's order marks are overridden by the shuffle: a module or "
            "class marked atom_gates_keep_order keeps the order pytest-order gives it"
        ]
    )
