"""Overhead of ``pytest --atom-gates`` against plain pytest on a generated suite of trivial tests.

Both sides run alternately in the same session, so the machine's noise hits both alike; the
figures are medians of wall time and of each run's own peak memory.

    python benchmarks/bench_core.py                 # 10,000 tests, 5 runs per side
    python benchmarks/bench_core.py --tests 2000 --runs 3 --xdist 2
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from harness import compare, environment_line, print_table, suite_options

TESTS_PER_FILE = 100


def generate_suite(root: Path, tests: int) -> None:
    files = max(1, tests // TESTS_PER_FILE)
    for number in range(files):
        count = min(TESTS_PER_FILE, tests - number * TESTS_PER_FILE)
        body = "".join(f"def test_{i}():\n    pass\n\n" for i in range(count))
        (root / f"test_generated_{number:04d}.py").write_text(body, encoding="utf-8")
    (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")


def main() -> None:
    parser = suite_options(__doc__, tests=10_000)
    options = parser.parse_args()
    print(f"{environment_line()}; {options.tests} tests, {options.runs} runs per side")
    sides = {
        "plain pytest": [],
        "pytest --atom-gates (TQ-05 off)": ["--atom-gates", "--atom-gates-mode=TQ-05:off"],
    }
    engines = [[]] + ([["-n", str(options.xdist)]] if options.xdist else [])
    with tempfile.TemporaryDirectory(prefix="atom-gates-bench-") as folder:
        root = Path(folder)
        generate_suite(root, options.tests)
        for engine in engines:
            engine_sides = {name: [*engine, *args] for name, args in sides.items()}
            results = compare(root, engine_sides, options.runs)
            print_table(" ".join(engine) or "single process", results, "plain pytest")


if __name__ == "__main__":
    main()
