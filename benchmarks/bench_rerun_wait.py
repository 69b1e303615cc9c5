"""Cost of the pause between attempts: 1 % of 10,000 tests fail every attempt.

Each of the 100 failing tests is rerun twice. With the default 1 s delay slept in place, that
would add 100 x 2 x 1 s = 200 s of wall time; a rerun that waits in a queue while other tests
run should add at most about 2 s (the last failures' waits, at the end of the run). Compares
``pytest --atom-gates`` with ``--atom-gates-rerun-delay=0`` and ``=1`` on the same suite, and
plain pytest; TQ-01's alone-runs and TQ-05 are off on the gated sides, as they are the same on both.

    python benchmarks/bench_rerun_wait.py
    python benchmarks/bench_rerun_wait.py --tests 2000 --runs 3 --xdist 2
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from harness import compare, environment_line, print_table, run_pytest, suite_options

TESTS_PER_FILE = 100
FAIL_EVERY = 100
TAIL_LOG = "ATOM_GATES_BENCH_TAIL"

# Loaded with -p only for the tail runs: each process writes when the first attempt of its
# last test ended and when its session ended. What lies between is the wait for the last
# failures' reruns, measured without the noise of whole-run medians.
TAIL_PLUGIN = f"""
import json, os, time
_seen = set()
_last_first = [0.0]

def pytest_runtest_logreport(report):
    if report.when == "call" and report.nodeid not in _seen:
        _seen.add(report.nodeid)
        _last_first[0] = time.monotonic()

def pytest_sessionfinish(session):
    name = os.environ.get("PYTEST_XDIST_WORKER", "main")
    path = os.path.join(os.environ["{TAIL_LOG}"], name + ".json")
    with open(path, "w") as out:
        json.dump(time.monotonic() - _last_first[0], out)
"""


def generate_suite(root: Path, tests: int) -> None:
    for number in range(max(1, tests // TESTS_PER_FILE)):
        lines = []
        for i in range(TESTS_PER_FILE):
            index = number * TESTS_PER_FILE + i
            # Spread over the files: the 37th test of each fails, every attempt.
            failing = index % FAIL_EVERY == 37
            lines.append(f"def test_{i}():\n    assert {not failing}\n\n")
        (root / f"test_generated_{number:04d}.py").write_text("".join(lines), encoding="utf-8")
    (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (root / "bench_tail_log.py").write_text(TAIL_PLUGIN, encoding="utf-8")


def tails(root: Path, args: list[str]) -> dict[str, float]:
    """Seconds each process that ran tests ran on after its last test's first attempt, in
    one run (under xdist the workers: the controller runs no test)."""
    with tempfile.TemporaryDirectory(prefix="atom-gates-tail-") as folder:
        env = {**os.environ, TAIL_LOG: folder}
        run_pytest(root, [*args, "-p", "bench_tail_log"], ok=(0, 1), env=env)
        found = {path.stem: path for path in sorted(Path(folder).glob("*.json"))}
        if len(found) > 1:
            del found["main"]
        return {name: json.loads(path.read_text(encoding="utf-8")) for name, path in found.items()}


def main() -> None:
    options = suite_options(__doc__, tests=10_000).parse_args()
    failing = options.tests // FAIL_EVERY
    print(
        f"{environment_line()}; {options.tests} tests, {failing} failing every attempt, "
        f"{options.runs} runs per side"
    )
    gates = ["--atom-gates", "--atom-gates-mode=TQ-05:off", "--atom-gates-mode=TQ-01:off"]
    engines = [[]] + ([["-n", str(options.xdist)]] if options.xdist else [])
    with tempfile.TemporaryDirectory(prefix="atom-gates-bench-") as folder:
        root = Path(folder)
        generate_suite(root, options.tests)
        for engine in engines:
            sides = {
                "plain pytest": [*engine],
                "--atom-gates, delay 0": [*engine, *gates, "--atom-gates-rerun-delay=0"],
                "--atom-gates, delay 1 s": [*engine, *gates, "--atom-gates-rerun-delay=1"],
            }
            results = compare(root, sides, options.runs, ok=(0, 1))  # 99 % passes TQ-02
            print_table(" ".join(engine) or "single process", results, "plain pytest")
            extra = results["--atom-gates, delay 1 s"].wall - results["--atom-gates, delay 0"].wall
            print(
                f"  the 1 s delay adds {extra:+.3f} s of wall time "
                f"(slept in place: {failing * 2} s)"
            )
            for name in ("--atom-gates, delay 0", "--atom-gates, delay 1 s"):
                shown = ", ".join(
                    f"{who} {tail:.2f} s" for who, tail in tails(root, sides[name]).items()
                )
                print(f"  {name}, after each process's last first attempt: {shown}")


if __name__ == "__main__":
    main()
