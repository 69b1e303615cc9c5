"""TQ-04: a rerun waits its delay while other tests run, and disturbs none of them."""

from __future__ import annotations

import re

import pytest

from tests.conftest import Gates

LOG = """
    import os, time
    import pytest

    def log(name):
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        with open("log.txt", "a") as out:
            out.write(f"{worker} {name} {time.monotonic()}\\n")

    @pytest.fixture(scope="module")
    def shared():
        log("setup-shared")
        yield
        log("teardown-shared")
"""

SUITE = {
    "test_a": """
        from conftest import log
        def test_fails():
            log("fails")
            assert False, "down"
    """,
    **{
        f"test_{name}": f"""
        import time
        from conftest import log
        def test_{name}1(shared):
            log("{name}1")
            time.sleep(0.1)
        def test_{name}2(shared):
            log("{name}2")
            time.sleep(0.1)
    """
        for name in "bcd"
    },
}

DELAY = 0.3


def _log(pytester: pytest.Pytester) -> dict[str, list[tuple[str, float]]]:
    """Per process, the logged events in order, with their times."""
    events: dict[str, list[tuple[str, float]]] = {}
    for line in (pytester.path / "log.txt").read_text().splitlines():
        worker, name, when = line.split()
        events.setdefault(worker, []).append((name, float(when)))
    return events


def test_a_rerun_waits_while_other_tests_run(pytester: pytest.Pytester, any_engine: Gates) -> None:
    pytester.makeconftest(LOG)
    pytester.makepyfile(**SUITE)
    run = any_engine.run(
        f"--atom-gates-rerun-delay={DELAY}",
        "--atom-gates-mode=TQ-01:off",
        "--atom-gates-order=file",
    )
    failing = "test_a.py::test_fails"
    assert run.outcomes()[failing] == "failed"
    test = next(t for t in run.report["tests"] if t["nodeid"] == failing)
    attempts = [attempt["outcome"] for attempt in test["attempts"]]
    assert attempts == ["failed", "failed", "failed"]
    events = next(e for e in _log(pytester).values() if any(n == "fails" for n, _ in e))
    names = [name for name, _ in events]
    times = [when for name, when in events if name == "fails"]
    assert len(times) == 3
    assert times[1] - times[0] >= DELAY
    assert times[2] - times[1] >= DELAY
    first, second = [i for i, name in enumerate(names) if name == "fails"][:2]
    assert any(name[-1] in "12" for name in names[first + 1 : second])  # others ran meanwhile
    for index, name in enumerate(names):
        if name == "fails" and 0 < index < len(names) - 1:
            # Never between two tests of one module: their module fixture stays as it is.
            before, after = names[index - 1], names[index + 1]
            assert not (before[-1] == "1" and after == before[:-1] + "2"), names
    # Each module's fixture is set up once and torn down once, whatever ran between its tests.
    modules_here = {name[0] for name in names if name[-1] in "12"}
    assert names.count("setup-shared") == names.count("teardown-shared") == len(modules_here)


def test_a_test_with_a_module_fixture_waits_in_place(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    """Run later, it would get a fresh module fixture, and an order-dependent failure could
    pass: so it sleeps its delay where it is, as before."""
    pytester.makeconftest(LOG)
    pytester.makepyfile(
        test_a="""
        from conftest import log
        def test_fails(shared):
            log("fails")
            assert False
        def test_other():
            log("other")
        """,
        test_b="""
        from conftest import log
        def test_b1():
            log("b1")
        """,
    )
    gates.run(
        f"--atom-gates-rerun-delay={DELAY}",
        "--atom-gates-mode=TQ-01:off",
        "--atom-gates-order=file",
    )
    (events,) = _log(pytester).values()
    names = [name for name, _ in events]
    assert names == ["setup-shared", "fails", "fails", "fails", "other", "teardown-shared", "b1"]


def test_under_maxfail_a_rerun_waits_in_place(pytester: pytest.Pytester, gates: Gates) -> None:
    """-x stops at a test's final failure, which must come where the test failed."""
    pytester.makeconftest(LOG)
    pytester.makepyfile(
        test_a="""
        from conftest import log
        def test_fails():
            log("fails")
            assert False
        """,
        test_b="from conftest import log\ndef test_b1():\n    log('b1')\n",
    )
    run = gates.run(
        f"--atom-gates-rerun-delay={DELAY}",
        "--atom-gates-mode=TQ-01:off",
        "--atom-gates-order=file",
        "-x",
    )
    (events,) = _log(pytester).values()
    assert [name for name, _ in events] == ["fails", "fails", "fails"]
    assert run.outcomes() == {"test_a.py::test_fails": "failed", "test_b.py::test_b1": "not-run"}


def test_a_budget_stop_drains_the_queue_cleanly(pytester: pytest.Pytester, gates: Gates) -> None:
    """The stop comes after the last test's teardown kept its module for the next test: the
    module is torn down once before the waiting rerun runs, and the rerun passes."""
    pytester.makeconftest(LOG)
    pytester.makepyfile(
        test_a="""
        from conftest import log
        calls = []
        def test_fail_once():
            calls.append(1)
            log("fail_once")
            assert len(calls) > 1
        """,
        test_b="""
        import time
        from conftest import log
        def test_b1(shared):
            time.sleep(1.0)  # past the 1 s budget, whatever the start took
        def test_b2(shared):
            pass
        def test_b3(shared):
            pass
        """,
    )
    run = gates.run(
        "--atom-gates-rerun-delay=2",
        "--atom-gates-mode=TQ-01:off",
        "--atom-gates-order=file",
        "--atom-gates-stop-on-budget",
        "--atom-gates-max-duration=1",
    )
    outcomes = run.outcomes()
    assert outcomes["test_a.py::test_fail_once"] == "flaky"
    assert (outcomes["test_b.py::test_b2"], outcomes["test_b.py::test_b3"]) == ("not-run",) * 2
    (events,) = _log(pytester).values()
    names = [name for name, _ in events]
    assert names == ["fail_once", "setup-shared", "teardown-shared", "fail_once"]
    assert "previous item was not torn down" not in run.output


@pytest.mark.skipif(
    pytest.version_tuple < (9,),
    reason="pytest 8's progress line prints the percentage again after each drained rerun",
)
def test_a_short_wait_for_deferred_reruns_leaves_the_progress_line_whole(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    """Drained reruns add their letters to the progress line, as pytest-rerunfailures' do: no
    module name again, no second percentage, no line about a pause shorter than 5 s."""
    pytester.makepyfile(
        test_a="def test_fails():\n    assert False, 'down'\ndef test_passes():\n    pass\n"
    )
    run = gates.run(
        "--atom-gates-rerun-delay=0.2",
        "--atom-gates-mode=TQ-01:off",
        "-p",
        "no:randomly",
        "--atom-gates-order=file",
    )
    progress = [line for line in run.result.stdout.lines if line.startswith("test_a.py ")]
    assert len(progress) == 1
    assert re.fullmatch(r"test_a\.py R\.RF +\[100%\]", progress[0])
    assert "deferred rerun" not in run.output


def test_the_wait_for_a_deferred_rerun_at_the_end_is_said(
    pytester: pytest.Pytester, gates: Gates, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No silent pause: at the end of the run, before each deferred rerun that is not yet due
    by 5 s or more, a line says how long it waits (again every 10 s); not under -q."""
    monkeypatch.setattr("pytest_atom_gates.protocol.SAY_WAITS_FROM", 1.0)
    pytester.makepyfile(test_a="def test_fails():\n    assert False, 'down'\n")
    args = ("--atom-gates-rerun-delay=1.5", "--atom-gates-reruns=1", "--atom-gates-mode=TQ-01:off")
    run = gates.run(*args)
    waits = [line for line in run.result.stdout.lines if "deferred rerun" in line]
    assert len(waits) == 1
    assert re.fullmatch(
        r"atom-gates: waiting \d+\.\d s for the next deferred rerun \(1 left; "
        r"--atom-gates-rerun-delay\)",
        waits[0],
    )
    quiet = gates.run(*args, "-q")
    assert not [line for line in quiet.result.stdout.lines if "deferred rerun" in line]
