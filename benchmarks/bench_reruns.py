"""Cost of reruns: 1 % of 10,000 tests fail once and pass when rerun.

Compares plain pytest (the flaky tests simply fail), ``pytest --atom-gates`` on the same suite
with and without the flaky tests (so the difference is what the reruns cost), and
pytest-rerunfailures (``--reruns 2``) when it is installed. Rerun delays are 0 on every side.

    python benchmarks/bench_reruns.py
    python benchmarks/bench_reruns.py --tests 2000 --runs 3 --xdist 2
"""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path

from harness import compare, environment_line, print_table, suite_options

TESTS_PER_FILE = 100


def generate_suite(root: Path, tests: int, flaky_every: int | None) -> None:
    """Tests fail on their first call when ``index % flaky_every == 0``, then pass."""
    files = max(1, tests // TESTS_PER_FILE)
    for number in range(files):
        lines = ["seen = set()\n"]
        for i in range(min(TESTS_PER_FILE, tests - number * TESTS_PER_FILE)):
            index = number * TESTS_PER_FILE + i
            if flaky_every and index % flaky_every == 0:
                lines.append(
                    f"def test_{i}():\n    first = {i} not in seen\n"
                    f"    seen.add({i})\n    assert not first\n\n"
                )
            else:
                lines.append(f"def test_{i}():\n    pass\n\n")
        (root / f"test_generated_{number:04d}.py").write_text("".join(lines), encoding="utf-8")
    (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")


def main() -> None:
    parser = suite_options(__doc__, tests=10_000)
    options = parser.parse_args()
    print(f"{environment_line()}; {options.tests} tests, 1 % flaky, {options.runs} runs per side")
    gates = [
        "--atom-gates",
        "--atom-gates-mode=TQ-05:off",
        "--atom-gates-rerun-delay=0",
        "-p",
        "no:rerunfailures",
    ]
    has_rerunfailures = importlib.util.find_spec("pytest_rerunfailures") is not None
    engines = [[]] + ([["-n", str(options.xdist)]] if options.xdist else [])
    with tempfile.TemporaryDirectory(prefix="atom-gates-bench-") as folder:
        flaky, clean = Path(folder, "flaky"), Path(folder, "clean")
        flaky.mkdir()
        clean.mkdir()
        generate_suite(flaky, options.tests, flaky_every=100)
        generate_suite(clean, options.tests, flaky_every=None)
        for engine in engines:
            label = " ".join(engine) or "single process"
            sides = {"plain pytest (flaky tests fail)": [*engine]}
            sides["pytest --atom-gates"] = [*engine, *gates]
            if has_rerunfailures:
                sides["pytest --reruns 2 (rerunfailures)"] = [*engine, "--reruns", "2"]
            results = compare(flaky, sides, options.runs, ok=(0, 1))
            baseline = compare(
                clean, {"pytest --atom-gates, no flaky tests": [*engine, *gates]}, options.runs
            )
            print_table(
                f"{label}, 1 % flaky", {**results, **baseline}, "plain pytest (flaky tests fail)"
            )
            extra = (
                results["pytest --atom-gates"].wall
                - baseline["pytest --atom-gates, no flaky tests"].wall
            )
            print(
                f"  reruns cost atom-gates {extra:+.3f} s over the same suite without flaky "
                f"tests ({options.tests // 100} reruns)"
            )
        if not has_rerunfailures:
            print("\npytest-rerunfailures is not installed: pip install pytest-rerunfailures")


if __name__ == "__main__":
    main()
