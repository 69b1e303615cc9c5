"""Cost of TQ-01's polluter search: one polluter and 20 victims in a generated suite.

Runs, in the same session:

- ``pytest --atom-gates`` on the suite, which finds the order-dependent tests and their polluter
  after the shuffled run, and the same run with TQ-01 off, whose time is the shuffled run's own;
- detect-test-pollution (``pip install detect-test-pollution``) bisecting for the polluter of one
  of the victims, when it is installed.

It prints the processes each used and the wall time, and the search's cost as a share of the
shuffled run's own time.

    python benchmarks/bench_polluters.py                 # 10,000 tests
    python benchmarks/bench_polluters.py --tests 2000
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import environment_line, suite_options

TESTS_PER_FILE = 100
VICTIMS = 20
POLLUTER_FILE = "test_generated_0037.py"
VICTIM_FILE = "test_victims.py"


def generate_suite(root: Path, tests: int) -> None:
    """Files of passing tests; one of them pollutes a module the 20 victims read."""
    (root / "state.py").write_text("flags = {'polluted': False}\n", encoding="utf-8")
    files = max(1, (tests - VICTIMS) // TESTS_PER_FILE)
    for number in range(files):
        lines = ["import state\n\n"]
        for i in range(TESTS_PER_FILE):
            lines.append(f"def test_{i}():\n    pass\n\n")
        name = f"test_generated_{number:04d}.py"
        if name == POLLUTER_FILE:
            lines.append("def test_polluter():\n    state.flags['polluted'] = True\n")
        (root / name).write_text("".join(lines), encoding="utf-8")
    victim = "def test_victim_{}():\n    assert not state.flags['polluted']\n\n"
    victims = "".join(victim.format(i) for i in range(VICTIMS))
    (root / VICTIM_FILE).write_text(
        f"import pytest, state\n\npytestmark = pytest.mark.atom_gates_keep_order\n\n{victims}",
        encoding="utf-8",
    )
    (root / "pytest.ini").write_text("[pytest]\npythonpath = .\n", encoding="utf-8")


def seed_with_polluter_first(root: Path) -> int:
    """A seed whose order runs the polluter's file before the victims' file."""
    from pytest_atom_gates.ordering import shuffled_order

    names = sorted(path.name for path in root.glob("test_*.py"))
    chains = [[name] for name in names]
    for seed in range(1000):
        order = [names[i] for i in shuffled_order(chains, seed)]
        if order.index(POLLUTER_FILE) < order.index(VICTIM_FILE):
            return seed
    raise SystemExit("no seed runs the polluter first")


def timed(command: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done


def main() -> None:
    parser = suite_options(__doc__, tests=10_000)
    options = parser.parse_args()
    print(f"{environment_line()}; {options.tests} tests, 1 polluter, {VICTIMS} victims")
    with tempfile.TemporaryDirectory(prefix="atom-gates-bench-") as folder:
        root = Path(folder)
        generate_suite(root, options.tests)
        seed = seed_with_polluter_first(root)
        pytest_cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly"]
        gates = [
            *pytest_cmd,
            "--atom-gates",
            f"--atom-gates-seed={seed}",
            "--atom-gates-mode=TQ-05:off",
            "--atom-gates-reruns=0",
            "--atom-gates-min-pass-rate=0",
        ]
        if options.xdist:
            gates += ["-n", str(options.xdist), "--dist=loadfile"]
        report = root / "report.json"
        own, _ = timed([*gates, "--atom-gates-mode=TQ-01:off"], root)
        total, done = timed([*gates, f"--atom-gates-report={report}"], root)
        checks = json.loads(report.read_text(encoding="utf-8"))["order_checks"]
        named = [c for c in checks if c["polluters"] == [f"{POLLUTER_FILE}::test_polluter"]]
        processes = sum(1 + (c["search"] or {}).get("runs", 0) for c in checks)
        search = total - own
        engine = f"-n {options.xdist}" if options.xdist else "one process"
        print(f"\npytest --atom-gates ({engine}):")
        print(f"  shuffled run alone (TQ-01 off): {own:8.2f} s")
        print(f"  with alone-runs and search:     {total:8.2f} s (exit {done.returncode})")
        print(f"  victims named with the polluter: {len(named)} of {len(checks)} failed tests")
        print(f"  extra processes: {processes} (alone-runs and search)")
        print(f"  cost of the checks: {search:.2f} s, {search / own:.0%} of the shuffled run")
        if importlib.util.find_spec("detect_test_pollution") is None:
            print("\ndetect-test-pollution is not installed: pip install detect-test-pollution")
            return
        victim = f"{VICTIM_FILE}::test_victim_0"
        # Its console script: run as ``python -m``, it would load itself as ``-p __main__``.
        script = str(Path(sys.executable).with_name("detect-test-pollution"))
        wall, found = timed([script, "--failing-test", victim, "--tests", "."], root)
        steps = found.stdout.count("running step")
        # Its processes: collection, the victim alone, the whole list, each step, the check.
        print("\ndetect-test-pollution, one victim:")
        print(f"  wall time: {wall:.2f} s, processes: {steps + 4}")
        last = found.stdout.strip().splitlines()[-1] if found.stdout.strip() else found.stderr
        print(f"  {last}")


if __name__ == "__main__":
    main()
