"""TQ-01 mechanism: the shuffled order, its seed, and per-test reseeding of the RNGs."""

from __future__ import annotations

import json
import random
import re
import shutil
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_atom_gates.ordering import shuffled_order, test_seed
from tests.conftest import NO_COVERAGE, Gates, no_traceback

seeds = st.integers(min_value=0, max_value=2**32 - 1)


@st.composite
def suites(draw: st.DrawFn) -> list[list[str]]:
    """Chains of node ids (file, optional class, test) as pytest would collect them."""
    chains = []
    for f in range(draw(st.integers(1, 4))):
        file = f"tests/test_{f}.py"
        for c in range(draw(st.integers(0, 2))):
            for t in range(draw(st.integers(1, 4))):
                chains.append([file, f"{file}::C{c}", f"{file}::C{c}::t{t}"])
        for t in range(draw(st.integers(1, 4))):
            chains.append([file, f"{file}::t{t}"])
    return chains


@given(suites(), seeds)
def test_shuffle_is_a_permutation(chains: list[list[str]], seed: int) -> None:
    assert sorted(shuffled_order(chains, seed)) == list(range(len(chains)))


_IN_ANOTHER_PROCESS = """
import json, sys
from pytest_atom_gates.ordering import shuffled_order, test_seed
chains, seed = json.loads(sys.stdin.read())
print(json.dumps([shuffled_order(chains, seed), [test_seed(seed, c[-1]) for c in chains]]))
"""


@pytest.mark.parametrize("hash_seed", ["0", "4242"])
def test_order_and_test_seeds_are_the_same_in_another_process(hash_seed: str) -> None:
    """What the controller and every xdist worker compute on their own must agree, whatever
    Python's string hashing in each process."""
    import os
    import subprocess

    chains = [[f"t{f}.py", f"t{f}.py::C", f"t{f}.py::C::t{t}"] for f in range(5) for t in range(5)]
    chains += [[f"t{f}.py", f"t{f}.py::f{t}"] for f in range(5) for t in range(3)]
    seed = 2183307544
    done = subprocess.run(
        [sys.executable, "-c", _IN_ANOTHER_PROCESS],
        input=json.dumps([chains, seed]),
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": hash_seed},
    )
    order, seeds_there = json.loads(done.stdout)
    assert order == shuffled_order(chains, seed)
    assert seeds_there == [test_seed(seed, chain[-1]) for chain in chains]
    assert order != list(range(len(chains)))


@given(suites(), seeds, st.data())
def test_shuffle_is_stable_for_subsets(
    chains: list[list[str]], seed: int, data: st.DataObject
) -> None:
    full = [chains[i][-1] for i in shuffled_order(chains, seed)]
    subset = data.draw(st.lists(st.sampled_from(chains), unique_by=lambda c: c[-1]))
    ordered_subset = [subset[i][-1] for i in shuffled_order(subset, seed)]
    assert ordered_subset == [test for test in full if test in {c[-1] for c in subset}]


@given(suites(), seeds)
def test_files_and_classes_stay_together(chains: list[list[str]], seed: int) -> None:
    order = [chains[i] for i in shuffled_order(chains, seed)]
    for level in (0, 1):
        groups = [chain[level] for chain in order if len(chain) > level + 1]
        runs = [g for i, g in enumerate(groups) if i == 0 or groups[i - 1] != g]
        assert len(runs) == len(set(runs)), f"level {level} split apart: {runs}"


@given(suites(), seeds)
def test_keep_order_keeps_file_order_below_the_marked_node(
    chains: list[list[str]], seed: int
) -> None:
    files = {chain[0] for chain in chains}
    order = [chains[i] for i in shuffled_order(chains, seed, keep_order=files)]
    for file in files:
        inside = [chain for chain in order if chain[0] == file]
        assert inside == [chain for chain in chains if chain[0] == file]


def test_different_seeds_give_different_orders() -> None:
    chains = [["t.py", f"t.py::t{i}"] for i in range(30)]
    orders = {tuple(shuffled_order(chains, seed)) for seed in range(5)}
    assert len(orders) == 5


def test_per_test_seeds_differ_by_test_and_by_session_seed() -> None:
    nodeids = [f"tests/test_x.py::test_{n}" for n in range(200)]
    assert len({test_seed(7, nodeid) for nodeid in nodeids}) == 200
    assert all(test_seed(7, nodeid) != test_seed(8, nodeid) for nodeid in nodeids)


def _collected(result: pytest.RunResult) -> list[str]:
    return [line.strip() for line in result.outlines if "::" in line and line.startswith("test_")]


@pytest.fixture
def three_files(pytester: pytest.Pytester) -> None:
    for name in "abc":
        pytester.makepyfile(
            **{f"test_{name}": "\n".join(f"def test_{name}{i}():\n    pass\n" for i in range(6))}
        )


@pytest.mark.usefixtures("three_files")
def test_same_seed_same_order_printed_seed_reproduces(pytester: pytest.Pytester) -> None:
    first = pytester.runpytest("--atom-gates", "--atom-gates-seed=123", "--collect-only", "-q")
    again = pytester.runpytest("--atom-gates", "--atom-gates-seed=123", "--collect-only", "-q")
    other = pytester.runpytest("--atom-gates", "--atom-gates-seed=124", "--collect-only", "-q")
    plain = pytester.runpytest("--collect-only", "-q")
    assert _collected(first) == _collected(again)
    assert _collected(first) != _collected(other)
    assert sorted(_collected(first)) == sorted(_collected(plain))
    assert _collected(plain) == sorted(_collected(plain))  # without the flag: file order


def test_a_run_orders_its_tests_as_the_shuffle_of_their_chains(pytester: pytest.Pytester) -> None:
    """What a run collects is ordered by the same keys ``shuffled_order`` gives its chains: a
    file's tests, and a class's, stay together, each level shuffled by its own id."""
    methods = "".join(f"    def test_m{i}(self):\n        pass\n" for i in range(4))
    for name in "ab":
        functions = "".join(f"def test_{name}{i}():\n    pass\n" for i in range(4))
        pytester.makepyfile(**{f"test_{name}": f"{functions}class TestC:\n{methods}"})
    plain = _collected(pytester.runpytest("--collect-only", "-q"))
    chains = []
    for nodeid in plain:
        file, _, rest = nodeid.partition("::")
        above = [file, f"{file}::TestC"] if rest.startswith("TestC::") else [file]
        chains.append([*above, nodeid])
    for seed in (1, 2, 3):
        run = pytester.runpytest(
            "--atom-gates", f"--atom-gates-seed={seed}", "--collect-only", "-q"
        )
        assert _collected(run) == [plain[i] for i in shuffled_order(chains, seed)]


@pytest.mark.usefixtures("three_files")
def test_random_seed_is_printed_and_last_replays_it(pytester: pytest.Pytester) -> None:
    first = pytester.runpytest("--atom-gates", NO_COVERAGE)
    header = next(line for line in first.outlines if line.startswith("atom-gates: seed "))
    seed = int(header.split()[2])
    assert header == f"atom-gates: seed {seed} | reproduce with --atom-gates-seed={seed}"
    # Only a run that ran tests records its seed: an IDE's discovery and the history listing,
    # with the flag in addopts, leave it alone.
    pytester.runpytest("--atom-gates", f"--atom-gates-seed={seed + 1}", "--collect-only", "-q")
    listing = pytester.runpytest("--atom-gates", "--atom-gates-history")
    assert listing.ret == 0
    replay = pytester.runpytest("--atom-gates", "--atom-gates-seed=last", "--collect-only")
    replay.stdout.fnmatch_lines([f"atom-gates: seed {seed} *"])
    explicit = pytester.runpytest(
        "--atom-gates", f"--atom-gates-seed={seed}", "--collect-only", "-q"
    )
    assert _collected(explicit) == _collected(
        pytester.runpytest("--atom-gates", "--atom-gates-seed=last", "--collect-only", "-q")
    )


@pytest.mark.usefixtures("three_files")
def test_last_without_a_recorded_seed(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--atom-gates", "--atom-gates-seed=last")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --atom-gates-seed=last: no seed recorded yet*"])


@pytest.mark.usefixtures("three_files")
def test_last_with_a_corrupt_cache_entry(pytester: pytest.Pytester) -> None:
    entry = pytester.path / ".pytest_cache" / "v" / "atom_gates" / "seed"
    entry.parent.mkdir(parents=True)
    entry.write_text(json.dumps("not a seed"))
    result = pytester.runpytest("--atom-gates", "--atom-gates-seed=last")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: --atom-gates-seed=last: the cache entry 'atom_gates/seed'*"
            "holds 'not a seed', not a seed from 0 to 4294967295*"
        ]
    )
    entry.write_text("{ truncated")
    broken = pytester.runpytest("--atom-gates", "--atom-gates-seed=last")
    assert broken.ret == pytest.ExitCode.USAGE_ERROR
    assert no_traceback(broken.stdout.str() + broken.stderr.str())


@pytest.mark.usefixtures("three_files")
def test_last_needs_the_cache(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--atom-gates", "--atom-gates-seed=last", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --atom-gates-seed=last needs pytest's cache*"])


@pytest.mark.usefixtures("three_files")
def test_a_cache_the_gates_start_is_marked_as_pytest_marks_its_own(
    pytester: pytest.Pytester,
) -> None:
    """pytest marks a cache folder it starts as not to be committed (.gitignore, README.md,
    CACHEDIR.TAG); on pytest 8.0 and 8.1 a folder made with Cache.mkdir, as the flake history's
    is, got none of them, so git saw every cache file as new."""
    cache = pytester.path / ".pytest_cache"
    pytester.runpytest()
    plain = {path.name: path.read_bytes() for path in cache.iterdir() if path.is_file()}
    shutil.rmtree(cache)
    pytester.runpytest("--atom-gates", NO_COVERAGE)  # see NO_COVERAGE
    gated = {path.name: path.read_bytes() for path in cache.iterdir() if path.is_file()}
    assert plain[".gitignore"] == b"# Created by pytest automatically.\n*\n"
    assert gated == plain


def test_keep_order_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_kept="""
        import pytest
        pytestmark = pytest.mark.atom_gates_keep_order
        def test_1(): pass
        def test_2(): pass
        def test_3(): pass
        def test_4(): pass
        def test_5(): pass
    """,
        test_cls="""
        import pytest
        @pytest.mark.atom_gates_keep_order
        class TestSteps:
            def test_a(self): pass
            def test_b(self): pass
            def test_c(self): pass
            def test_d(self): pass
        def test_free1(): pass
        def test_free2(): pass
    """,
    )
    for seed in range(5):
        result = pytester.runpytest(
            "--atom-gates", f"--atom-gates-seed={seed}", "--collect-only", "-q"
        )
        tests = _collected(result)
        kept = [t for t in tests if t.startswith("test_kept.py")]
        assert kept == [f"test_kept.py::test_{i}" for i in range(1, 6)]
        steps = [t for t in tests if "TestSteps" in t]
        assert steps == [f"test_cls.py::TestSteps::test_{c}" for c in "abcd"]


def test_file_order_keeps_the_collection_order_and_the_test_seeds(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_a="import random\n"
        + "".join(f"def test_{i}():\n    print('draw', random.random())\n" for i in range(6)),
        test_b="def test_x(): pass\ndef test_y(): pass\n",
    )
    collected = [f"test_a.py::test_{i}" for i in range(6)] + [
        "test_b.py::test_x",
        "test_b.py::test_y",
    ]

    def order(*args: str) -> list[str]:
        return _collected(pytester.runpytest("--atom-gates", *args, "--collect-only", "-q"))

    assert order("--atom-gates-seed=3") != collected  # shuffled, unless kept
    for seed in range(3, 6):
        assert order(f"--atom-gates-seed={seed}", "--atom-gates-order=file") == collected
    shuffled = pytester.runpytest("--atom-gates", NO_COVERAGE, "--atom-gates-seed=3", "-s")
    in_file_order = pytester.runpytest(
        "--atom-gates", NO_COVERAGE, "--atom-gates-seed=3", "--atom-gates-order=file", "-s"
    )

    # The same draws: a test's RNG seed does not depend on where it runs.
    def draws(result: pytest.RunResult) -> list[str]:
        return sorted(re.findall(r"draw (\S+)", result.stdout.str()))

    assert len(set(draws(shuffled))) == 6
    assert draws(in_file_order) == draws(shuffled)
    in_file_order.stdout.fnmatch_lines(
        ["atom-gates: seed 3 | *", "atom-gates: TQ-01 independence in file order, not shuffled | *"]
    )
    assert in_file_order.ret == 0


def test_an_unknown_order_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--atom-gates", "--atom-gates-order=random")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: --atom-gates-order: invalid value 'random' (not an order). "
            "Accepted: shuffled or file."
        ]
    )
    assert no_traceback(result.stdout.str() + result.stderr.str())


def test_rngs_reseeded_per_test_from_seed_and_node_id(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_rng="""
        import random, json, pathlib
        def record(name):
            with open("draws.jsonl", "a") as out:
                out.write(json.dumps([name, random.random()]) + "\\n")
        def test_a(): record("a")
        def test_b(): record("b")
        def test_c(): record("c")
    """
    )

    def draws(*args: str) -> dict[str, float]:
        (pytester.path / "draws.jsonl").unlink(missing_ok=True)
        assert pytester.runpytest("--atom-gates", NO_COVERAGE, *args).ret == 0
        lines = (pytester.path / "draws.jsonl").read_text().splitlines()
        return dict(json.loads(line) for line in lines)

    first = draws("--atom-gates-seed=7")
    assert draws("--atom-gates-seed=7") == first
    assert draws("--atom-gates-seed=7", "test_rng.py::test_b") == {"b": first["b"]}
    assert len(set(first.values())) == 3
    assert draws("--atom-gates-seed=8") != first


def test_test_bodies_see_their_seed_whatever_the_fixtures_drew(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    # A module fixture draws on the first attempt only; the body must still see the same numbers
    # on every attempt, and those of its own seed. A parametrized test has no fixture code (its
    # arguments are pytest's pseudo-fixtures), so one reseed serves its setup and its body.
    pytester.makeconftest(
        """
        import random, pytest

        @pytest.fixture(scope="module")
        def wide():
            return random.random()

        @pytest.fixture
        def narrow(wide):
            return random.random()
        """
    )
    pytester.makepyfile(
        test_rng="""
        import json, random, pytest
        from pathlib import Path

        def record(name):
            with open("draws.jsonl", "a") as out:
                out.write(json.dumps([name, random.random()]) + "\\n")

        def test_fixtures(narrow):
            record("fixtures")
            assert Path("draws.jsonl").read_text().count("fixtures") == 2

        @pytest.mark.parametrize("case", [1])
        def test_parametrized(case):
            record("parametrized")
        """
    )
    # TQ-01 off: its replay of the flaky test would draw more numbers into the same file.
    run = gates.run(
        "--atom-gates-seed=5", "--atom-gates-rerun-delay=0", "--atom-gates-mode=TQ-01:off"
    )
    assert run.outcomes() == {
        "test_rng.py::test_fixtures": "flaky",
        "test_rng.py::test_parametrized[1]": "passed",
    }
    draws = [json.loads(line) for line in (pytester.path / "draws.jsonl").read_text().splitlines()]
    expected = {
        name: random.Random(test_seed(5, nodeid)).random()
        for name, nodeid in (
            ("fixtures", "test_rng.py::test_fixtures"),
            ("parametrized", "test_rng.py::test_parametrized[1]"),
        )
    }
    assert sorted(draws) == sorted(
        [["fixtures", expected["fixtures"]]] * 2 + [["parametrized", expected["parametrized"]]]
    )


def test_numpy_global_state_is_reseeded_when_imported(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stand-in numpy records what it is seeded with; the real one is not a test dependency,
    # but another test may have imported it (pyarrow does, for the LanceDB tests).
    monkeypatch.delitem(sys.modules, "numpy", raising=False)
    pytester.makepyfile(
        numpy="""
        class _Random:
            seeds = []
            def seed(self, value):
                self.seeds.append(value)
        random = _Random()
    """
    )
    pytester.makepyfile(
        test_np="""
        import numpy
        def test_sees_its_seed(request):
            assert numpy.random.seeds[-1] == request.config._atom_expected
    """
    )
    pytester.makeconftest("""
        from pytest_atom_gates.ordering import test_seed
        def pytest_configure(config):
            config._atom_expected = test_seed(99, "test_np.py::test_sees_its_seed")
    """)
    pytester.syspathinsert()
    result = pytester.runpytest("--atom-gates", NO_COVERAGE, "--atom-gates-seed=99")
    result.assert_outcomes(passed=1)


def test_hypothesis_follows_the_session_seed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_prop="""
        from hypothesis import given, settings, strategies as st, seed
        seen = []
        @settings(max_examples=5, database=None)
        @given(st.integers())
        def test_prop(x):
            with open("examples.txt", "a") as out:
                out.write(f"{x}\\n")
        @seed(1234)
        @settings(max_examples=1, database=None)
        @given(st.integers())
        def test_own_seed(x):
            pass
    """
    )

    def examples(*args: str) -> list[str]:
        (pytester.path / "examples.txt").unlink(missing_ok=True)
        result = pytester.runpytest_subprocess("--atom-gates", NO_COVERAGE, *args)
        assert result.ret == 0, result.stdout.str()
        return (pytester.path / "examples.txt").read_text().splitlines()

    first = examples("--atom-gates-seed=5")
    assert examples("--atom-gates-seed=5") == first
    assert examples("--atom-gates-seed=6") != first
    # The user's own --hypothesis-seed wins over the session seed.
    assert examples("--atom-gates-seed=5", "--hypothesis-seed=1") == examples(
        "--atom-gates-seed=6", "--hypothesis-seed=1"
    )


def test_without_the_flag_nothing_is_shuffled_or_reseeded(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plain="""
        import random
        state = random.getstate()
        def test_1(): pass
        def test_2():
            assert random.getstate() == state
    """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_1 PASSED*", "*test_2 PASSED*"])
    result.stdout.no_fnmatch_line("atom-gates:*")
