"""Cost of gates of your own: the example suite's two extension gates on 10,000 tests.

Compares plain pytest, ``pytest --atom-gates`` and ``pytest --atom-gates`` with the two gates of
``examples/suite_gates.py`` added by a plugin (``-p bench_gates``): the skipped-tests share and
the per-test budgets, which read every test's outcome and duration once, at the end. All sides
run alternately in the same session; TQ-05 is off on the gated sides.

    python benchmarks/bench_extension.py
    python benchmarks/bench_extension.py --tests 2000 --runs 3 --xdist 2
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from harness import compare, environment_line, print_table, suite_options

TESTS_PER_FILE = 100
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

PLUGIN = """
from pathlib import Path

import pytest
from suite_gates import MaxSkipped, WithinBudgets


@pytest.hookimpl(optionalhook=True)
def pytest_atom_gates_add_gates(config, gates):
    gates.add(MaxSkipped(max_percent=2))
    gates.add(WithinBudgets(Path(__file__).with_name("test-budgets.json")))
"""


def generate_suite(root: Path, tests: int) -> None:
    for number in range(max(1, tests // TESTS_PER_FILE)):
        body = "".join(f"def test_{i}():\n    pass\n\n" for i in range(TESTS_PER_FILE))
        (root / f"test_generated_{number:04d}.py").write_text(body, encoding="utf-8")
    (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    shutil.copy(EXAMPLES / "suite_gates.py", root)
    (root / "bench_gates.py").write_text(PLUGIN, encoding="utf-8")
    (root / "test-budgets.json").write_text(json.dumps({"default": 5}), encoding="utf-8")


def main() -> None:
    options = suite_options(__doc__, tests=10_000).parse_args()
    print(f"{environment_line()}; {options.tests} tests, {options.runs} runs per side")
    gates = ["--atom-gates", "--atom-gates-mode=TQ-05:off"]
    engines = [[]] + ([["-n", str(options.xdist)]] if options.xdist else [])
    with tempfile.TemporaryDirectory(prefix="atom-gates-bench-") as folder:
        root = Path(folder)
        generate_suite(root, options.tests)
        for engine in engines:
            sides = {
                "plain pytest": [*engine],
                "pytest --atom-gates": [*engine, *gates],
                "pytest --atom-gates, 2 extension gates": [*engine, *gates, "-p", "bench_gates"],
            }
            results = compare(root, sides, options.runs)
            print_table(" ".join(engine) or "single process", results, "plain pytest")
            extra = (
                results["pytest --atom-gates, 2 extension gates"].wall
                - results["pytest --atom-gates"].wall
            )
            print(f"  the two extension gates cost {extra:+.3f} s of wall time")


if __name__ == "__main__":
    main()
