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
    python benchmarks/bench_polluters.py --polluters 3    # 3 polluters, 60 victims
"""

from __future__ import annotations

import importlib.util
import json
import statistics
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


POLLUTERS = {
    # file: the tests it adds, and the flags they set
    POLLUTER_FILE: "def test_polluter():\n    state.flags['polluted'] = True\n",
    "test_generated_0011.py": "def test_spoiler():\n    state.flags['spoiled'] = True\n",
    "test_generated_0023.py": (
        "def test_half_one():\n    state.flags['one'] = True\n\n"
        "def test_half_two():\n    state.flags['two'] = True\n"
    ),
}
VICTIM_CHECKS = (
    "not state.flags['polluted']",
    "not state.flags['spoiled']",
    "not (state.flags['one'] and state.flags['two'])",
)


def generate_suite(root: Path, tests: int, polluters: int = 1) -> None:
    """Files of passing tests; ``polluters`` of them pollute a module the victims read (the
    third needs two tests together), 20 victims each."""
    flags = "dict.fromkeys(['polluted', 'spoiled', 'one', 'two'], False)"
    (root / "state.py").write_text(f"flags = {flags}\n", encoding="utf-8")
    files = max(1, (tests - VICTIMS * polluters) // TESTS_PER_FILE)
    chosen = dict(list(POLLUTERS.items())[:polluters])
    for number in range(files):
        lines = ["import state\n\n"]
        for i in range(TESTS_PER_FILE):
            lines.append(f"def test_{i}():\n    pass\n\n")
        name = f"test_generated_{number:04d}.py"
        lines.append(chosen.get(name, ""))
        (root / name).write_text("".join(lines), encoding="utf-8")
    victims = "".join(
        f"def test_victim_{i}():\n    assert {VICTIM_CHECKS[i % polluters]}\n\n"
        for i in range(VICTIMS * polluters)
    )
    (root / VICTIM_FILE).write_text(
        f"import pytest, state\n\npytestmark = pytest.mark.atom_gates_keep_order\n\n{victims}",
        encoding="utf-8",
    )
    (root / "pytest.ini").write_text("[pytest]\npythonpath = .\n", encoding="utf-8")


def seed_with_polluters_first(root: Path, polluters: int) -> int:
    """A seed whose order runs the polluters' files before the victims' file."""
    from pytest_atom_gates.ordering import shuffled_order

    names = sorted(path.name for path in root.glob("test_*.py"))
    chains = [[name] for name in names]
    for seed in range(1000):
        order = [names[i] for i in shuffled_order(chains, seed)]
        if all(
            order.index(name) < order.index(VICTIM_FILE) for name in list(POLLUTERS)[:polluters]
        ):
            return seed
    raise SystemExit("no seed runs the polluters first")


def expected_sets(polluters: int) -> list[list[str]]:
    """Each victim's polluter set, by its number modulo ``polluters``."""
    sets = [[f"{POLLUTER_FILE}::test_polluter"], ["test_generated_0011.py::test_spoiler"]]
    sets.append([f"test_generated_0023.py::test_half_{n}" for n in ("one", "two")])
    return sets[:polluters]


def timed(command: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done


def main() -> None:
    parser = suite_options(__doc__, tests=10_000)
    parser.add_argument("--polluters", type=int, choices=(1, 3), default=1)
    options = parser.parse_args()
    victims = VICTIMS * options.polluters
    print(
        f"{environment_line()}; {options.tests} tests, {options.polluters} polluters, "
        f"{victims} victims, {options.runs} runs per side"
    )
    with tempfile.TemporaryDirectory(prefix="atom-gates-bench-") as folder:
        root = Path(folder)
        generate_suite(root, options.tests, options.polluters)
        seed = seed_with_polluters_first(root, options.polluters)
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
        owns, totals = [], []
        for _ in range(options.runs):  # alternating, medians taken
            owns.append(timed([*gates, "--atom-gates-mode=TQ-01:off"], root)[0])
            totals.append(timed([*gates, f"--atom-gates-report={report}"], root)[0])
        own, total = statistics.median(owns), statistics.median(totals)
        data = json.loads(report.read_text(encoding="utf-8"))
        checks = data["order_checks"]
        sets = expected_sets(options.polluters)
        named = [  # confirmed: a set the search found but could not confirm names nobody
            c
            for c in checks
            if c["result"] == "order-dependent"
            # in the order they ran, which the shuffle chose
            and set(c["polluters"])
            == set(sets[int(c["nodeid"].rsplit("_", 1)[1]) % options.polluters])
        ]
        tq01 = next(v for v in data["verdicts"] if v["gate"] == "TQ-01")
        engine = tq01["data"]["engine"] or {}
        search = total - own
        mode = f"-n {options.xdist}" if options.xdist else "one process"
        print(f"\npytest --atom-gates ({mode}), medians of {options.runs}:")
        print(f"  shuffled run alone (TQ-01 off): {own:8.2f} s")
        print(f"  with TQ-01's checks:            {total:8.2f} s")
        print(f"  victims named with their polluters: {len(named)} of {len(checks)} failed tests")
        print(
            f"  questions: {engine.get('forked', 0)} in forked copies "
            f"({engine.get('probes', 0)} probes on the way), "
            f"{engine.get('fresh_processes', 0)} fresh processes ({engine.get('mechanism')})"
        )
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
