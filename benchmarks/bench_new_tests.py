"""Cost of proving new tests stable: 100 new tests among 10,000, each run 5 more times.

The 100 new tests sleep 10 ms each (1 s in all), the other 9,900 pass at once; the new ones are
in a file git sees as changed, so ``--atom-gates-changed-since=HEAD`` marks them new whatever the
flake history holds. Compares plain pytest, ``pytest --atom-gates`` with repetitions off
(``--atom-gates-new-test-runs=0``) and with the default 5 runs: the difference should be about
5 times the new tests' own second, and nothing for the rest. TQ-05 is off on the gated sides.

    python benchmarks/bench_new_tests.py
    python benchmarks/bench_new_tests.py --tests 2000 --runs 3 --xdist 2
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from harness import compare, environment_line, print_table, suite_options

TESTS_PER_FILE = 100
NEW_TESTS = 100
NEW_TEST_SECONDS = 0.01
RUNS = 5


def generate_suite(root: Path, tests: int) -> None:
    """Committed test files, then one uncommitted file of new tests."""
    old = tests - NEW_TESTS
    for number in range(max(1, old // TESTS_PER_FILE)):
        body = "".join(f"def test_{i}():\n    pass\n\n" for i in range(TESTS_PER_FILE))
        (root / f"test_generated_{number:04d}.py").write_text(body, encoding="utf-8")
    (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    git = ["git", "-c", "user.email=bench@example.com", "-c", "user.name=bench"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "."], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "old tests"], cwd=root, check=True)
    body = "import time\n\n" + "".join(
        f"def test_new_{i}():\n    time.sleep({NEW_TEST_SECONDS})\n\n" for i in range(NEW_TESTS)
    )
    (root / "test_new.py").write_text(body, encoding="utf-8")


def main() -> None:
    options = suite_options(__doc__, tests=10_000).parse_args()
    print(
        f"{environment_line()}; {options.tests} tests, {NEW_TESTS} of them new "
        f"({NEW_TEST_SECONDS * 1000:g} ms each), {options.runs} runs per side"
    )
    # No cache: every side starts from the same (empty) flake history.
    gates = ["--atom-gates", "--atom-gates-mode=TQ-05:off", "-p", "no:cacheprovider"]
    engines = [[]] + ([["-n", str(options.xdist)]] if options.xdist else [])
    with tempfile.TemporaryDirectory(prefix="atom-gates-bench-") as folder:
        root = Path(folder)
        generate_suite(root, options.tests)
        for engine in engines:
            off, on = "--atom-gates, repetitions off", f"--atom-gates, new tests x{RUNS + 1}"
            sides = {
                "plain pytest": [*engine, "-p", "no:cacheprovider"],
                off: [*engine, *gates, "--atom-gates-new-test-runs=0"],
                on: [*engine, *gates, "--atom-gates-changed-since=HEAD"],
            }
            results = compare(root, sides, options.runs)
            print_table(" ".join(engine) or "single process", results, "plain pytest")
            extra = results[on].wall - results[off].wall
            expected = NEW_TESTS * NEW_TEST_SECONDS * RUNS
            workers = options.xdist if engine else 1
            print(
                f"  repetitions cost {extra:+.3f} s of wall time; {RUNS} x the new tests' own "
                f"{NEW_TESTS * NEW_TEST_SECONDS:g} s is {expected:g} s of test time, "
                f"{expected / workers:g} s of wall time over {workers} process(es)"
            )


if __name__ == "__main__":
    main()
