"""Fault matrix: alone-runs repeat the invocation, so option-dependent failures stay failures.

A failed test is rerun alone to tell order dependence from a plain failure. If the child run
dropped an option the failure depends on, the test would pass alone and be named
order-dependent: a false TQ-01 FAIL.
"""

from __future__ import annotations

import shlex

import pytest

from pytest_atom_gates.ordering import shuffled_order
from tests.conftest import GatedRun, Gates, no_traceback

ENV_OPTION = """
def pytest_addoption(parser):
    parser.addoption("--env", default="dev")
"""

PROD_ONLY_FAILURE = """
def test_ok():
    pass

def test_not_on_prod(request):
    assert request.config.getoption("env") != "prod"
"""


def _assert_fails_alone(run: GatedRun) -> None:
    verdict = run.verdict("TQ-01")
    assert verdict["verdict"] == "PASS", run.output
    assert verdict["measured"] == "0 order-dependent (1 of 1 failed tests rerun alone)"
    (check,) = run.report["order_checks"]
    assert (check["nodeid"], check["result"], check["detail"]) == (
        "test_env.py::test_not_on_prod",
        "fails-alone",
        "failed when run alone too, and in file order",
    )


@pytest.mark.parametrize("where", ["command line", "PYTEST_ADDOPTS", "ini addopts"])
def test_a_conftest_option_is_repeated_in_the_alone_run(
    pytester: pytest.Pytester, gates: Gates, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    pytester.makeconftest(ENV_OPTION)
    pytester.makepyfile(test_env=PROD_ONLY_FAILURE)
    args = ["--atom-gates-min-pass-rate=50", "--atom-gates-reruns=0"]
    if where == "command line":
        args.append("--env=prod")
    elif where == "PYTEST_ADDOPTS":
        monkeypatch.setenv("PYTEST_ADDOPTS", "--env prod")
    else:
        pytester.makeini("[pytest]\naddopts = --env=prod\n")
    run = gates.run(*args)
    assert run.ret == 0, run.output
    _assert_fails_alone(run)


@pytest.mark.compat
def test_pytest_timeout_is_repeated_in_the_alone_run(pytester: pytest.Pytester) -> None:
    """59 fast tests and one that sleeps 3 s under ``--timeout=1``: a timeout, not order."""
    pytester.makepyfile(
        test_t="""
        import time
        import pytest

        @pytest.mark.parametrize("n", range(59))
        def test_fast(n):
            pass

        def test_slow():
            time.sleep(3)
        """
    )
    run = Gates(pytester).run("--timeout=1", "--atom-gates-reruns=0", subprocess=True)
    assert run.ret == 0, run.output
    assert no_traceback(run.output.replace("Timeout", ""))
    verdict = run.verdict("TQ-01")
    assert verdict["verdict"] == "PASS", verdict
    (check,) = run.report["order_checks"]
    assert (check["nodeid"], check["result"]) == ("test_t.py::test_slow", "fails-alone")


def test_selection_and_replaced_options_are_not_repeated(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    """The reproduce command keeps the user's options but not test selection or report paths."""
    pytester.makeconftest(ENV_OPTION)
    pytester.makepyfile(
        state="flags = {'ready': False}\n",
        test_a="import state\ndef test_polluter():\n    state.flags['ready'] = True\n",
        test_b="import state\ndef test_victim():\n    assert not state.flags['ready']\n",
    )
    pytester.syspathinsert()
    chains = [["test_a.py", "test_a.py::test_polluter"], ["test_b.py", "test_b.py::test_victim"]]
    seed = next(seed for seed in range(100) if shuffled_order(chains, seed) == [0, 1])
    run = gates.run(
        f"--atom-gates-seed={seed}",
        "--atom-gates-min-pass-rate=0",
        "--env",
        "staging",
        "-k",
        "polluter or victim",
        "--maxfail=5",
        "-x",
        "--junitxml=out.xml",
        "test_a.py",
        "test_b.py",
    )
    (check,) = run.report["order_checks"]
    assert check["result"] == "order-dependent", run.output
    assert shlex.split(check["reproduce"]) == [
        *("python", "-m", "pytest"),  # the run had its folder on sys.path (syspathinsert)
        "--atom-gates",
        f"--atom-gates-seed={seed}",
        "--atom-gates-mode=TQ-05:off",
        "--atom-gates-min-pass-rate=0",
        "--env",
        "staging",
        "--atom-gates-rerun-delay=0",
        *("-p", "no:hypothesispytest", "-p", "no:pytest_jsonreport", "-p", "no:metadata"),
        "-n",
        "0",
        "test_a.py::test_polluter",
        "test_b.py::test_victim",
    ]
