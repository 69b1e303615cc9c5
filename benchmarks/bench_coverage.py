"""Cost of TQ-05 coverage against pytest-cov and plain pytest on a generated suite.

The suite tests a generated package of branching code (loops, if/elif chains, try/except,
early returns), the code where a tracer spends its time. Every side runs in a fresh process,
alternately in the same session, so the machine's noise hits all sides alike; medians are
reported. The sides:

    plain pytest               pytest
    pytest --cov (pytest-cov)  pytest --cov=app           (its default terminal report)
    atom-gates, TQ-05 off      pytest --atom-gates --atom-gates-mode=TQ-01:off,TQ-05:off
    atom-gates + coverage      pytest --atom-gates --atom-gates-mode=TQ-01:off

TQ-01 is off on the gates' sides: the suite has no failures to rerun alone, so this changes
nothing measured, and keeps the comparison about coverage. Both coverage sides measure the same
source, ``app``, with the same configuration (line coverage, or ``--branch``).

    python benchmarks/bench_coverage.py                  # 2,000 tests, 5 runs per side
    python benchmarks/bench_coverage.py --branch --xdist 2 --runs 7
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from harness import compare, environment_line, print_table, suite_options

MODULE = """
def classify(values, threshold={threshold}):
    counts = {{"negative": 0, "zero": 0, "small": 0, "large": 0}}
    for value in values:
        if value < 0:
            counts["negative"] += 1
        elif value == 0:
            counts["zero"] += 1
        elif value < threshold:
            counts["small"] += 1
        else:
            counts["large"] += 1
    return counts


def collatz(n):
    steps = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


def parse(text):
    numbers = []
    for token in text.split(","):
        token = token.strip()
        if not token:
            continue
        try:
            numbers.append(int(token))
        except ValueError:
            if token.startswith("x"):
                numbers.append(int(token[1:], 16))
            else:
                numbers.append(len(token))
    return numbers


def discount(total, customer):
    if total <= 0:
        return 0
    if customer == "staff":
        return total // 2
    if customer == "member" and total > {threshold}:
        return total // 10
    return 0
"""

TEST = """
import pytest
from app.module_{number:03d} import classify, collatz, discount, parse


@pytest.mark.parametrize("size", [50, 100, 150, 200, 250])
def test_classify(size):
    counts = classify(range(-size, size))
    assert sum(counts.values()) == 2 * size


@pytest.mark.parametrize("start", [7, 27, 97, 871, 6171])
def test_collatz(start):
    assert collatz(start) > 0


@pytest.mark.parametrize("copies", [10, 20, 40, 80, 160])
def test_parse(copies):
    assert len(parse("1, 2, x1f, , abc, 42" * copies)) > 0


@pytest.mark.parametrize("customer", ["staff", "member", "guest", "member", "staff"])
def test_discount(customer):
    assert discount({threshold} + 1, customer) >= 0
"""

TESTS_PER_MODULE = 20
PYTEST_COV = "pytest --cov (pytest-cov)"
ATOM_GATES = "atom-gates + coverage"


def generate(root: Path, tests: int, branch: bool) -> None:
    package = root / "app"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (root / "tests").mkdir()
    for number in range(max(1, tests // TESTS_PER_MODULE)):
        threshold = 10 + number
        (package / f"module_{number:03d}.py").write_text(
            MODULE.format(threshold=threshold), encoding="utf-8"
        )
        (root / "tests" / f"test_module_{number:03d}.py").write_text(
            TEST.format(number=number, threshold=threshold), encoding="utf-8"
        )
    (root / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\npythonpath = ["."]\n\n'
        f'[tool.coverage.run]\nsource = ["app"]\nbranch = {str(branch).lower()}\n',
        encoding="utf-8",
    )


def main() -> None:
    parser = suite_options(__doc__, tests=2_000, xdist_help="run every side under -n N")
    parser.add_argument("--branch", action="store_true", help="measure branch coverage")
    options = parser.parse_args()
    kind = "branch" if options.branch else "line"
    print(f"{environment_line()}; {options.tests} tests, {options.runs} runs per side")
    print(f"{kind} coverage of the generated package app/")
    engine = ["-n", str(options.xdist)] if options.xdist else []
    gates = ["--atom-gates", "--atom-gates-mode=TQ-01:off"]
    sides = {
        "plain pytest": [*engine],
        PYTEST_COV: [*engine, "--cov=app"],
        "atom-gates, TQ-05 off": [*engine, *gates, "--atom-gates-mode=TQ-05:off"],
        ATOM_GATES: [*engine, *gates],
    }
    with tempfile.TemporaryDirectory(prefix="atom-gates-bench-cov-") as folder:
        root = Path(folder)
        generate(root, options.tests, options.branch)
        results = compare(root, sides, options.runs)
    print_table(" ".join(engine) or "single process", results, PYTEST_COV)
    speedup = results[PYTEST_COV].wall / results[ATOM_GATES].wall
    print(f"  {ATOM_GATES} is {speedup:.2f}x as fast as {PYTEST_COV} (wall)")


if __name__ == "__main__":
    main()
