"""TQ-04 before merge: new and changed tests run several times, so flaky ones never land."""

from __future__ import annotations

import random
import shutil
import subprocess

import pytest

from pytest_atom_gates.new_tests import repetition_seed
from pytest_atom_gates.ordering import test_seed
from tests.conftest import Gates, no_traceback, run_git
from tests.test_report_coop import case_properties

# Passes twice, fails the third time, and so on: a counter file works across processes.
EVERY_THIRD = """
    import pathlib
    def fail_every_third(name):
        counter = pathlib.Path(name + ".count")
        calls = int(counter.read_text()) if counter.exists() else 0
        counter.write_text(str(calls + 1))
        assert (calls + 1) % 3, f"call {calls + 1} of {name}"
"""

OLD_TESTS = """
    def test_old():
        pass
"""
NEW_TESTS = """
    from conftest import fail_every_third
    def test_new_flaky():
        fail_every_third("new")
    def test_new_stable():
        pass
"""


def _with_history(pytester: pytest.Pytester, gates: Gates) -> None:
    """A first run that records the old tests in the flake history."""
    pytester.makeconftest(EVERY_THIRD)
    pytester.makepyfile(test_old=OLD_TESTS)
    assert gates.run().ret == 0
    pytester.makepyfile(test_new=NEW_TESTS)


def _attempts(run: object, nodeid: str) -> list[str]:
    tests = run.report["tests"]  # type: ignore[attr-defined]
    return [a["outcome"] for a in next(t for t in tests if t["nodeid"] == nodeid)["attempts"]]


def test_a_new_test_that_fails_every_third_call_is_caught(
    pytester: pytest.Pytester, any_engine: Gates
) -> None:
    _with_history(pytester, Gates(pytester))
    run = any_engine.run("--atom-gates-new-test-runs=3")
    assert run.ret == 1
    assert run.outcomes() == {
        "test_old.py::test_old": "passed",
        "test_new.py::test_new_flaky": "flaky",
        "test_new.py::test_new_stable": "passed",
    }
    assert _attempts(run, "test_new.py::test_new_flaky") == ["passed", "passed", "failed"]
    assert _attempts(run, "test_new.py::test_new_stable") == ["passed"] * 4
    assert _attempts(run, "test_old.py::test_old") == ["passed"]  # a known test runs once
    verdict = run.verdict("TQ-04")
    assert (verdict["verdict"], verdict["measured"], verdict["required"]) == (
        "FAIL",
        "1 flaky (1 new)",
        "flaky tests warn, no new test flaky",
    )
    assert verdict["reason"] == (
        "new tests are flaky, and must pass every run before they land: test_new.py::test_new_flaky"
    )
    assert verdict["data"]["new_flaky"] == ["test_new.py::test_new_flaky"]
    section = run.report["determinism"]["new_tests"]
    assert (section["runs"], section["source"]) == (3, "absent from the flake history")
    entries = {entry["nodeid"]: entry for entry in section["tests"]}
    assert sorted(entries) == ["test_new.py::test_new_flaky", "test_new.py::test_new_stable"]
    flaky = entries["test_new.py::test_new_flaky"]
    seed = run.report["seed"]
    assert flaky["seeds"] == [repetition_seed(seed, 1), repetition_seed(seed, 2)]
    assert (flaky["outcome"], flaky["status"], flaky["failed_seed"]) == (
        "flaky",
        "repeated",
        repetition_seed(seed, 2),
    )
    stable = entries["test_new.py::test_new_stable"]
    assert (stable["outcome"], stable["failed_seed"], stable["reproduce"]) == ("passed", None, None)
    assert stable["seeds"] == [repetition_seed(seed, k) for k in (1, 2, 3)]
    run.result.stdout.fnmatch_lines(
        [
            "atom-gates: TQ-04 reruns 2 (no pause, same test seed), new tests run 3 "
            "more times (absent from the flake history; first attempt <= 10 s, 10% of TQ-03)*",
            "*FAILED test_new.py::test_new_flaky - AssertionError: call 3 of new*",
            "new tests (2), each run 3 more times after it passed (absent from the flake history):",
            f"  test_new.py::test_new_flaky - flaky: repetition 2 of 3 failed (seed "
            f"{repetition_seed(seed, 2)})",
            # python -m pytest: the rootdir's conftest put the folder on sys.path
            f"    reproduce: *pytest --atom-gates --atom-gates-seed={repetition_seed(seed, 2)} *"
            "test_new.py::test_new_flaky",
            "  1 passed all 4 runs (-v lists them)",
            "*1 failed, 2 passed, 5 repeated*",
        ]
    )


def test_without_repetitions_the_same_test_passes(pytester: pytest.Pytester, gates: Gates) -> None:
    _with_history(pytester, gates)
    run = gates.run("--atom-gates-new-test-runs=0")
    assert run.ret == 0
    assert set(run.outcomes().values()) == {"passed"}
    assert run.report["determinism"]["new_tests"] is None
    assert "new tests" not in run.output


def test_a_known_flaky_test_still_only_warns(pytester: pytest.Pytester, gates: Gates) -> None:
    """Its first attempt fails and a rerun passes: flaky, but not new, so TQ-04 warns."""
    pytester.makeconftest(EVERY_THIRD)
    pytester.makepyfile(
        test_old="from conftest import fail_every_third\n"
        "def test_old():\n    fail_every_third('old')\n"
    )
    assert gates.run("--atom-gates-new-test-runs=0").ret == 0  # calls 1: recorded, passed
    pytester.path.joinpath("old.count").write_text("2")  # the next call is the third
    run = gates.run()
    assert _attempts(run, "test_old.py::test_old") == ["failed", "passed"]
    verdict = run.verdict("TQ-04")
    assert (verdict["verdict"], verdict["measured"]) == ("WARN", "1 flaky")
    assert run.report["determinism"]["new_tests"]["tests"] == []


def test_no_history_and_no_ref_make_no_test_new(pytester: pytest.Pytester, gates: Gates) -> None:
    pytester.makeconftest(EVERY_THIRD)
    pytester.makepyfile(test_new=NEW_TESTS)
    run = gates.run()
    assert run.ret == 0
    assert _attempts(run, "test_new.py::test_new_stable") == ["passed"]
    assert run.result.stdout.str().count("no test counts as new") == 1
    run.result.stdout.fnmatch_lines(
        [
            "atom-gates: no test counts as new: the flake history is empty (this run starts "
            "it) and --atom-gates-changed-since=REF is not given",
        ]
    )


needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


@needs_git
def test_a_changed_file_marks_its_tests_new(pytester: pytest.Pytester, any_engine: Gates) -> None:
    pytester.makeconftest(EVERY_THIRD)
    pytester.makepyfile(test_old=OLD_TESTS, test_new="def test_new_stable():\n    pass\n")
    # What the runs themselves write is ignored, as a project's .gitignore would.
    ignored = ["*.count", "*.json", "stdout", "stderr", "runpytest-*", "__pycache__/", ".coverage*"]
    pytester.path.joinpath(".gitignore").write_text("\n".join(ignored) + "\n")
    run_git(pytester, "init", "-q", "-b", "main")
    run_git(pytester, "add", ".gitignore", "conftest.py", "test_old.py", "test_new.py")
    run_git(pytester, "commit", "-qm", "base")
    run_git(pytester, "checkout", "-qb", "topic")
    pytester.makepyfile(test_new=NEW_TESTS)  # changed, not committed
    pytester.makepyfile(test_untracked="def test_added():\n    pass\n")
    run = any_engine.run("--atom-gates-changed-since=main", "--atom-gates-new-test-runs=3")
    section = run.report["determinism"]["new_tests"]
    assert section["source"] == "changed since main: 2 changed files"
    assert sorted(entry["nodeid"] for entry in section["tests"]) == [
        "test_new.py::test_new_flaky",
        "test_new.py::test_new_stable",
        "test_untracked.py::test_added",
    ]
    assert _attempts(run, "test_old.py::test_old") == ["passed"]
    assert run.outcomes()["test_new.py::test_new_flaky"] == "flaky"
    assert run.verdict("TQ-04")["verdict"] == "FAIL"
    run.result.stdout.fnmatch_lines(
        ["*new tests run 3 more times (changed since main: 2 changed files; first attempt <= 10 s*"]
    )


@needs_git
def test_a_missing_ref_is_a_usage_error(pytester: pytest.Pytester, gates: Gates) -> None:
    pytester.makepyfile(test_old=OLD_TESTS)
    run_git(pytester, "init", "-q")
    run = gates.run("--atom-gates-changed-since=no-such-branch", report=False)
    assert run.ret == 4
    run.result.stderr.fnmatch_lines(
        [
            f"ERROR: --atom-gates-changed-since=no-such-branch: no such revision in "
            f"{pytester.path}. Accepted: a branch, tag or commit git knows (fetch it first: "
            "shallow CI checkouts lack the base branch), or auto on a pull request."
        ]
    )


def test_git_missing_or_no_repository_is_a_usage_error(
    pytester: pytest.Pytester, gates: Gates, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_old=OLD_TESTS)
    run = gates.run("--atom-gates-changed-since=main", report=False)
    assert run.ret == 4
    run.result.stderr.fnmatch_lines(
        [
            f"ERROR: --atom-gates-changed-since=main: {pytester.path} is not in a git "
            "repository. Accepted: a git revision, in a git checkout."
        ]
    )
    monkeypatch.setenv("PATH", str(pytester.path / "no-bin"))
    run = gates.run("--atom-gates-changed-since=main", report=False)
    assert run.ret == 4
    run.result.stderr.fnmatch_lines(
        [
            "ERROR: --atom-gates-changed-since needs git, which is not on the PATH. Accepted: "
            "a git revision in a git checkout, or no --atom-gates-changed-since."
        ]
    )


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("-p", "starts with '-', which git would read as an option"),
        ("a b", "holds white space or a control character"),
    ],
)
def test_a_ref_git_would_misread_is_refused(
    pytester: pytest.Pytester, gates: Gates, value: str, problem: str
) -> None:
    pytester.makepyfile(test_old=OLD_TESTS)
    run = gates.run(f"--atom-gates-changed-since={value}", report=False)
    assert run.ret == 4
    run.result.stderr.fnmatch_lines(
        [
            f"ERROR: --atom-gates-changed-since: invalid value {value!r} ({problem}). "
            "Accepted: a git revision (a branch, tag or commit), or auto."
        ]
    )


def test_auto_outside_a_pull_request_says_so(pytester: pytest.Pytester, gates: Gates) -> None:
    pytester.makepyfile(test_old=OLD_TESTS)
    run = gates.run("--atom-gates-changed-since=auto")
    assert run.ret == 0
    run.result.stdout.fnmatch_lines(
        [
            "atom-gates: --atom-gates-changed-since=auto: GITHUB_BASE_REF is not set (not a "
            "pull request), so no file counts as changed",
        ]
    )


SLEEPERS = """
    import time
    def test_a():
        time.sleep(0.3)
    def test_b():
        time.sleep(0.35)
    def test_c():
        time.sleep(0.35)
    def test_slow():
        time.sleep(0.8)
"""


def test_slow_tests_and_the_budget_cap_are_respected_and_listed(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    """Budget: 1 % of 120 s is 1.2 s. a's two repetitions are estimated at twice its first
    attempt, 0.6 s: they fit (with 0.6 s to spare, however busy the machine). b's would take
    at least 0.7 s more, past 1.2 s, and so would c's; the 0.8 s test is over the 0.7 s bound.
    Sleeps only ever take longer, never less."""
    pytester.makepyfile(test_old=OLD_TESTS)
    assert gates.run().ret == 0
    pytester.makepyfile(test_sleep=SLEEPERS)
    run = gates.run(
        "--atom-gates-order=file",
        "--atom-gates-mode=TQ-01:off",
        "--atom-gates-new-test-runs=2",
        "--atom-gates-new-test-max-duration=0.7",
        "--atom-gates-max-duration=120",
        "--atom-gates-new-test-budget=1",
        "-v",
    )
    entries = {e["nodeid"]: e for e in run.report["determinism"]["new_tests"]["tests"]}
    assert {nodeid: entry["status"] for nodeid, entry in entries.items()} == {
        "test_sleep.py::test_a": "repeated",
        "test_sleep.py::test_b": "over budget",
        "test_sleep.py::test_c": "over budget",
        "test_sleep.py::test_slow": "slow",
    }
    assert [len(_attempts(run, f"test_sleep.py::test_{n}")) for n in "abc"] == [3, 1, 1]
    assert _attempts(run, "test_sleep.py::test_slow") == ["passed"]
    assert run.report["determinism"]["new_tests"]["budget_seconds"] == 1.2
    run.result.stdout.fnmatch_lines(
        [
            "new tests (4), each run 2 more times after it passed (absent from the flake history):",
            "  1 passed all 3 runs:",
            "    test_sleep.py::test_a",
            "  not repeated, first attempt over 0.7 s (1):",
            "    test_sleep.py::test_slow (* s)",
            "  not repeated, their runs would exceed the repetition budget of 1.2 s (1% of "
            "TQ-03) (2):",
            "    test_sleep.py::test_b",
            "    test_sleep.py::test_c",
        ]
    )


RNG_TEST = """
    import random
    def test_draw():
        assert random.random() < 0.5
"""


def _seed_whose_repetition_fails(nodeid: str, runs: int) -> int:
    """A session seed whose own test seed passes ``RNG_TEST`` and a repetition's fails."""

    def draw(seed: int) -> float:
        return random.Random(test_seed(seed, nodeid)).random()

    for seed in range(1, 10_000):
        repetitions = [draw(repetition_seed(seed, k)) for k in range(1, runs + 1)]
        if draw(seed) < 0.5 and max(repetitions) >= 0.5:
            return seed
    raise AssertionError("no such seed")


def test_the_seed_of_a_failing_repetition_reproduces_it(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    nodeid = "test_rng.py::test_draw"
    pytester.makepyfile(test_old=OLD_TESTS)
    assert gates.run().ret == 0
    pytester.makepyfile(test_rng=RNG_TEST)
    seed = _seed_whose_repetition_fails(nodeid, 3)
    run = gates.run(f"--atom-gates-seed={seed}", "--atom-gates-new-test-runs=3")
    assert run.outcomes()[nodeid] == "flaky"
    entry = run.report["determinism"]["new_tests"]["tests"][0]
    failed_seed = entry["failed_seed"]
    assert failed_seed == entry["seeds"][-1] != seed
    flaky = next(e for e in run.report["determinism"]["flaky"] if e["nodeid"] == nodeid)
    assert (
        f"seed: fails with repetition seed {failed_seed}, passes with the session's ({seed})"
        in flaky["evidence"]
    )
    assert entry["reproduce"] == (
        f"pytest --atom-gates --atom-gates-seed={failed_seed} --atom-gates-mode=TQ-05:off "
        "--atom-gates-rerun-delay=0 -p no:hypothesispytest -p no:pytest_jsonreport -p no:metadata "
        f"-n 0 {nodeid}"
    )
    again = gates.run(f"--atom-gates-seed={failed_seed}", "--atom-gates-reruns=0", nodeid)
    assert again.outcomes() == {nodeid: "failed"}
    assert _attempts(again, nodeid) == ["failed"]


def test_legacy_junit_xml_counts_repetitions_and_marks_the_flaky_one(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    _with_history(pytester, gates)
    xml_file = pytester.path / "junit.xml"
    gates.run("--atom-gates-new-test-runs=3", f"--junitxml={xml_file}", "-o", "junit_family=xunit1")
    assert case_properties(xml_file) == {
        "test_old": {},
        "test_new_flaky": {"atom_gates_attempts": "3", "atom_gates_flaky": "true"},
        "test_new_stable": {"atom_gates_attempts": "4"},
    }


def test_a_new_flaky_test_is_known_from_its_first_recorded_run(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    """New means absent from the flake history: recorded flaky once, it is known, and warns."""
    _with_history(pytester, gates)
    first = gates.run("--atom-gates-new-test-runs=3")
    assert first.verdict("TQ-04")["data"]["new_flaky"] == ["test_new.py::test_new_flaky"]
    second = gates.run("--atom-gates-new-test-runs=3")
    assert second.report["determinism"]["new_tests"]["tests"] == []
    assert second.verdict("TQ-04")["verdict"] != "FAIL"


def test_a_long_known_flaky_test_is_never_new(pytester: pytest.Pytester, gates: Gates) -> None:
    """It fails its first attempt and passes its rerun in every run: TQ-04 warns every time."""
    pytester.makepyfile(
        test_old="""
        calls = []
        def test_flaky_every_run():
            calls.append(1)
            assert len(calls) > 1, "first call of the process"
        """
    )
    runs = [gates.run("--atom-gates-mode=TQ-01:off") for _ in range(3)]
    for run in runs:
        assert run.outcomes() == {"test_old.py::test_flaky_every_run": "flaky"}
        verdict = run.verdict("TQ-04")
        assert (verdict["verdict"], verdict["reason"]) == (
            "WARN",
            "flaky: test_old.py::test_flaky_every_run",
        )
        assert run.ret == 0
    assert runs[-1].report["determinism"]["new_tests"]["source"] == "absent from the flake history"


def test_a_module_teardown_error_after_repetitions_is_a_failure_not_a_flake(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    """The last test of a module also tears the module's fixtures down: their error is the
    test's error, as pytest reports it, and never makes a new test flaky."""
    _with_history(pytester, gates)
    pytester.makepyfile(
        test_new="""
        import pytest
        @pytest.fixture(scope="module")
        def broken_teardown():
            yield
            raise RuntimeError("module teardown")
        def test_uses(broken_teardown):
            pass
        def test_last():
            pass
        """
    )
    run = gates.run("--atom-gates-new-test-runs=2", "--atom-gates-order=file")
    assert run.outcomes()["test_new.py::test_last"] == "failed"
    assert _attempts(run, "test_new.py::test_last") == ["passed", "passed", "failed"]
    assert run.verdict("TQ-04")["data"]["new_flaky"] == []
    assert run.verdict("TQ-02")["verdict"] == "FAIL"


@pytest.mark.parametrize("where", ["setup", "call"])
def test_a_repetition_that_skips_ends_the_repetitions(
    pytester: pytest.Pytester, gates: Gates, where: str
) -> None:
    _with_history(pytester, gates)
    pytester.makepyfile(
        test_new=f"""
        import pytest
        calls = []
        @pytest.fixture
        def counted():
            calls.append(1)
            if "{where}" == "setup" and len(calls) == 3:
                pytest.skip("the service went away")
        def test_sometimes_skips(counted):
            if "{where}" == "call" and len(calls) == 3:
                pytest.skip("the service went away")
        """
    )
    run = gates.run("--atom-gates-new-test-runs=5")
    assert no_traceback(run.output)
    assert _attempts(run, "test_new.py::test_sometimes_skips") == ["passed", "passed", "skipped"]
    assert run.outcomes()["test_new.py::test_sometimes_skips"] == "skipped"
    run.result.stdout.fnmatch_lines(
        ["  did not pass every run (failed, skipped or xfailed): 1 (-v lists them)"]
    )


def test_a_new_test_that_never_passed_is_listed_as_broken_only(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    pytester.makepyfile(test_new="def test_never():\n    assert False, 'not yet'\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=pytester.path, check=True)
    subprocess.run(
        [*git, "commit", "-q", "--allow-empty", "-m", "start"], cwd=pytester.path, check=True
    )
    options = ("--atom-gates-changed-since=HEAD", "--atom-gates-min-pass-rate=0", "-v")
    for _ in range(2):
        gates.run(*options, "--atom-gates-mode=TQ-01:off")
    run = gates.run(*options, "--atom-gates-mode=TQ-01:off")
    assert [b["nodeid"] for b in run.report["determinism"]["broken"]] == ["test_new.py::test_never"]
    run.result.stdout.fnmatch_lines(["broken tests (1), failed each of their last 3 runs*"])
    run.result.stdout.no_fnmatch_line("*did not pass every run*")
