"""Cost of TQ-01's checks: 1 % deterministic failures (and, with --flaky, 1 % flaky tests).

A generated suite with fixtures of every scope (session, module, class, function) and a package
the tests import, measured by coverage on every side. Runs, alternating, in the same session:

- ``pytest --atom-gates`` with TQ-01's checks, and the same with ``--atom-gates-order-checks=0``
  (the ratio between them is the checks' cost);
- the same checks answered by fresh processes (``ATOM_GATES_ORDER_CHECK_ENGINE=fresh``), with
  --fresh;
- with --peers, the gates with their default settings and the peer stack a CI would
  assemble with the same settings, when its plugins are installed (pytest-randomly,
  pytest-rerunfailures, pytest-cov, pytest-json-report):
  ``-p randomly --reruns 2 --reruns-delay 1 --cov --json-report``;
- plain pytest, the baseline of the ratios.

Then, once more with a module that takes 3 s to import and a session fixture that takes 2 s, it
prints how many times the checks paid each (with --slow-setup).

    python benchmarks/bench_order_checks.py --tests 1000
    python benchmarks/bench_order_checks.py --tests 10000 --flaky --runs 3
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import compare, environment_line, print_table, suite_options

TESTS_PER_FILE = 100
PEERS = ("pytest_randomly", "pytest_rerunfailures", "pytest_cov", "pytest_jsonreport")
ENGINE_ENV = "ATOM_GATES_ORDER_CHECK_ENGINE"
SLOW_GATES = ("--atom-gates", "--atom-gates-seed=7", "--atom-gates-min-pass-rate=0")

CONFTEST = """import pytest

@pytest.fixture(scope="session")
def database():
    {slow_session}return {{"rows": 3}}

@pytest.fixture
def row(database):
    return database["rows"]
"""

MODULE_HEAD = """import pytest
import pkg.calc
{heavy}
@pytest.fixture(scope="module")
def table():
    return list(range(10))

seen = set()

"""
CLASS = """class TestScale_{index}:
    @pytest.fixture(scope="class")
    def factor(self):
        return 2

    def test_scaled(self, row, factor):
        assert row * factor == 6

"""


def test_body(index: int, kind: str) -> str:
    """One test; ``fails`` always fails, ``flaky`` fails on its first call in a process."""
    if kind == "fails":
        return f"def test_{index}(row, table):\n    assert pkg.calc.double(row) == 5\n\n"
    if kind == "flaky":
        return (
            f"def test_{index}(row):\n    first = {index} not in seen\n    seen.add({index})\n"
            "    assert not first\n\n"
        )
    return f"def test_{index}(row, table):\n    assert pkg.calc.double(row) == 6\n\n"


def generate_suite(root: Path, tests: int, *, flaky: bool, slow_setup: bool) -> None:
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("", encoding="utf-8")
    (root / "pkg" / "calc.py").write_text(
        "def double(n):\n    return 2 * n\n\n\ndef never():\n    return 0\n", encoding="utf-8"
    )
    counter = root / "paid.txt"
    slow_session = (
        f"import time; time.sleep(2); open({str(counter)!r}, 'a').write('fixture\\n')\n    "
        if slow_setup
        else ""
    )
    (root / "conftest.py").write_text(CONFTEST.format(slow_session=slow_session), "utf-8")
    if slow_setup:
        (root / "heavy.py").write_text(
            f"import time\ntime.sleep(3)\nopen({str(counter)!r}, 'a').write('import\\n')\n",
            encoding="utf-8",
        )
    files = max(1, tests // TESTS_PER_FILE)
    for number in range(files):
        heavy = "import heavy\n" if slow_setup and number == 0 else ""
        lines = [MODULE_HEAD.format(heavy=heavy)]
        for i in range(min(TESTS_PER_FILE, tests - number * TESTS_PER_FILE)):
            index = number * TESTS_PER_FILE + i
            kind = "fails" if index % 100 == 50 else "flaky" if flaky and index % 100 == 7 else ""
            if i % 10 == 9:  # a tenth of the tests use a class fixture
                lines.append(CLASS.format(index=i))
                continue
            lines.append(test_body(index, kind))
        (root / f"test_generated_{number:04d}.py").write_text("".join(lines), encoding="utf-8")
    (root / "pytest.ini").write_text("[pytest]\npythonpath = .\n", encoding="utf-8")
    (root / ".coveragerc").write_text("[run]\nsource = pkg\n", encoding="utf-8")


def engine_facts(report: Path) -> str:
    data = json.loads(report.read_text(encoding="utf-8"))
    tq01 = next(v for v in data["verdicts"] if v["gate"] == "TQ-01")
    engine = tq01["data"]["engine"] or {}
    results: dict[str, int] = {}
    for check in data["order_checks"]:
        results[check["result"]] = results.get(check["result"], 0) + 1
    return (
        f"{tq01['verdict']} {tq01['measured']}; checks {results}; "
        f"{engine.get('forked', 0)} forked questions, {engine.get('fresh_processes', 0)} fresh "
        f"processes ({engine.get('mechanism')})"
    )


def main() -> None:
    parser = suite_options(__doc__, tests=1000)
    parser.add_argument("--flaky", action="store_true", help="1 %% flaky tests too")
    parser.add_argument("--fresh", action="store_true", help="also the fresh-process engine")
    parser.add_argument("--slow-setup", action="store_true", help="count slow imports/fixtures")
    parser.add_argument(
        "--peers", action="store_true", help="also the peer stack and the gates' defaults (1 s)"
    )
    options = parser.parse_args()
    flaky = " and 1 % flaky" if options.flaky else ""
    print(f"{environment_line()}; {options.tests} tests, 1 % failing{flaky}; {options.runs} runs")
    with tempfile.TemporaryDirectory(prefix="atom-gates-bench-") as folder:
        root = Path(folder)
        generate_suite(root, options.tests, flaky=options.flaky, slow_setup=False)
        report = root / "report.json"
        plain = ["-n", str(options.xdist)] if options.xdist else []
        gates = [*plain, "--atom-gates", "--atom-gates-seed=7", "--atom-gates-min-pass-rate=0"]
        # The checks' cost, without the pauses between attempts that both sides would sleep.
        quick = [*gates, "--atom-gates-rerun-delay=0"]
        sides = {
            "plain pytest": plain,
            "gates, checks off, delay 0": [*quick, "--atom-gates-order-checks=0"],
            "gates with TQ-01's checks, delay 0": [*quick, f"--atom-gates-report={report}"],
        }
        if options.peers and all(importlib.util.find_spec(name) for name in PEERS):
            # A CI's own settings on both sides: reruns 1 s apart, coverage, a JSON report.
            sides["gates, default settings"] = gates
            sides["peer stack"] = [
                *plain,
                *("-p", "randomly", "--reruns", "2", "--reruns-delay", "1", "--cov=pkg"),
                "--json-report",
                f"--json-report-file={root / 'peer.json'}",
            ]
        elif options.peers:
            print(f"peer stack not measured: install {', '.join(PEERS)}")
        results = compare(root, sides, options.runs, ok=(0, 1))
        checks, off = (
            results["gates with TQ-01's checks, delay 0"],
            results["gates, checks off, delay 0"],
        )
        if options.fresh:
            fresh_env = {**os.environ, ENGINE_ENV: "fresh"}
            results |= {
                "gates, checks in fresh processes": compare(
                    root,
                    {"fresh": [*quick, f"--atom-gates-report={root / 'fresh.json'}"]},
                    options.runs,
                    ok=(0, 1),
                    env=fresh_env,
                )["fresh"]
            }
        print_table("TQ-01's checks", results, "plain pytest")
        print(f"  checks on / checks off: {checks.wall / off.wall:.3f}x wall")
        if "peer stack" in results:
            ratio = results["gates, default settings"].wall / results["peer stack"].wall
            print(f"  gates, default settings / peer stack: {ratio:.3f}x wall")
        print(f"  {engine_facts(report)}")
    if options.slow_setup:
        count_slow_setup(options.tests)


def count_slow_setup(tests: int) -> None:
    """How many times the checks pay a 3 s import and a 2 s session fixture, per engine."""
    print("\na module that takes 3 s to import, a session fixture that takes 2 s:")
    for engine in ("fork", "fresh"):
        with tempfile.TemporaryDirectory(prefix="atom-gates-bench-") as folder:
            root = Path(folder)
            generate_suite(root, tests, flaky=False, slow_setup=True)
            report = root / "report.json"
            env = {**os.environ, ENGINE_ENV: engine}
            command = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", *SLOW_GATES]
            off = [*command, "--atom-gates-order-checks=0"]
            subprocess.run(off, cwd=root, env=env, capture_output=True, check=False)
            during_run = (root / "paid.txt").read_text(encoding="utf-8").splitlines()
            (root / "paid.txt").unlink()
            on = [*command, f"--atom-gates-report={report}"]
            subprocess.run(on, cwd=root, env=env, capture_output=True, check=False)
            paid = (root / "paid.txt").read_text(encoding="utf-8").splitlines()
            imports = paid.count("import") - during_run.count("import")
            fixtures = paid.count("fixture") - during_run.count("fixture")
            print(
                f"  {engine:>5}: the import paid {imports} times, the fixture {fixtures} times "
                f"by the checks; {engine_facts(report)}"
            )


if __name__ == "__main__":
    main()
