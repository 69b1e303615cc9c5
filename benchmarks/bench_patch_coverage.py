"""Cost of TQ-06 patch coverage: a large suite, a large change, one run and a merge of 4 shards.

A git repository holds the generated package and suite of ``bench_coverage.py`` (``--tests``
tests, 20 per module, over one module of branching code each), committed on ``main``; a branch
then changes ``--changed-lines`` lines of the package, spread over modules (new functions, half
of them tested by the suite). Three figures:

1. The gate's own work, in this process, ``--runs`` times (median): finding the merge base,
   ``git diff`` of the change, and judging each changed line against coverage.py's JSON report
   of the run's data, which TQ-05 builds anyway. The target is 0.3 s at 10,000 tests and 500
   changed lines.
2. Whole runs, alternately (medians): the gates with coverage, without and with
   ``--atom-gates-changed-since=main``. The difference is within the machine's noise at this
   size; the figure above is the one that settles it.
3. ``atom-gates merge`` over 4 shards with their coverage data, without and with TQ-06 (the
   shards ran with and without a base), ``--runs`` times each, alternately.

    python benchmarks/bench_patch_coverage.py                        # 10,000 tests, 500 lines
    python benchmarks/bench_patch_coverage.py --tests 2000 --runs 3
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_coverage import generate
from harness import compare, environment_line, print_table, run_pytest, suite_options

SHARDS = 4
LINES_PER_FUNCTION = 10
GATES = ["--atom-gates", "--atom-gates-mode=TQ-01:off", "--atom-gates-new-test-runs=0"]
BASE = "--atom-gates-changed-since=main"
SEED = "--atom-gates-seed=1"


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def new_function(number: int) -> str:
    """A function of ``LINES_PER_FUNCTION`` changed lines."""
    body = [f"\n\ndef added_{number}(n):", "    total = 0"]
    body += [f"    total += n * {k}" for k in range(LINES_PER_FUNCTION - 5)]
    body += ["    if total < 0:", "        return -total", "    return total"]
    return "\n".join(body) + "\n"


def make_change(root: Path, lines: int) -> None:
    """``lines`` added lines in functions spread over the modules; the tests of every other
    function are added to the suite, outside the package."""
    modules = sorted((root / "app").glob("module_*.py"))
    for number in range(max(1, lines // LINES_PER_FUNCTION)):
        module = modules[number % len(modules)]
        with module.open("a", encoding="utf-8") as source:
            source.write(new_function(number))
        if number % 2 == 0:
            test = root / "tests" / f"test_{module.stem}.py"
            with test.open("a", encoding="utf-8") as tests:
                tests.write(
                    f"\n\ndef test_added_{number}():\n"
                    f"    from app.{module.stem} import added_{number}\n"
                    f"    assert added_{number}(1) >= 0\n"
                )


def make_repository(root: Path, tests: int, lines: int) -> None:
    generate(root, tests, branch=False)
    (root / ".gitignore").write_text(".coverage*\nshards/\n*.json\n", encoding="utf-8")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-qm", "base")
    git(root, "checkout", "-qb", "topic")
    make_change(root, lines)


def gate_work(root: Path) -> tuple[float, int, int]:
    """Seconds of TQ-06's own work on the data the last run left, and the changed and uncovered
    lines it found."""
    import coverage

    from pytest_atom_gates.changes import changed_lines, find_base
    from pytest_atom_gates.cov.patch import judge_patch

    os.chdir(root)  # coverage.py's reports name files relative to where it runs
    cov = coverage.Coverage(config_file="pyproject.toml")
    cov.load()
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "coverage.json"
        cov.json_report(outfile=str(report))
        files = json.loads(report.read_text(encoding="utf-8"))["files"]
    start = time.perf_counter()
    base = find_base(root, "main")
    facts = judge_patch(cov, changed_lines(base), files, root)
    elapsed = time.perf_counter() - start
    lines = sum(len(f.lines) for f in facts.files)
    missing = sum(len(f.missing) for f in facts.files)
    return elapsed, lines, missing


def run_shards(root: Path, folder: str, *args: str) -> list[Path]:
    reports = []
    for k in range(1, SHARDS + 1):
        target = root / "shards" / folder / str(k)
        report = target / "report.json"
        run_pytest(
            root,
            [
                *GATES,
                *args,
                SEED,
                f"--atom-gates-shard={k}/{SHARDS}",
                f"--atom-gates-report={report}",
            ],
            ok=(0, 1),
        )
        shutil.move(root / ".coverage", target / ".coverage")
        reports.append(report)
    return reports


def merge_time(root: Path, reports: list[Path]) -> float:
    command = [sys.executable, "-m", "pytest_atom_gates", "merge", "-q", *map(str, reports)]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}\n{done.stderr}")
    return elapsed


def main() -> None:
    parser = suite_options(__doc__, tests=10_000, xdist_help="run the whole runs under -n N")
    parser.add_argument("--changed-lines", type=int, default=500)
    options = parser.parse_args()
    print(f"{environment_line()}; {options.tests} tests, {options.runs} runs per side")
    engine = ["-n", str(options.xdist)] if options.xdist else []
    with tempfile.TemporaryDirectory(prefix="atom-gates-bench-patch-") as folder:
        root = Path(folder)
        make_repository(root, options.tests, options.changed_lines)
        sides = {"atom-gates + coverage": [*engine, *GATES], "... + TQ-06": [*engine, *GATES, BASE]}
        results = compare(root, sides, options.runs, ok=(0, 1))
        work = [gate_work(root) for _ in range(options.runs)]
        seconds = statistics.median(w[0] for w in work)
        _, lines, missing = work[0]
        print(
            f"\nTQ-06's own work: {seconds:.3f} s (median of {options.runs}) for "
            f"{options.changed_lines} changed lines, {lines} of them executable, {missing} "
            "not covered"
        )
        print_table(" ".join(engine) or "single process", results, "atom-gates + coverage")
        without = run_shards(root, "without")
        with_base = run_shards(root, "with", BASE)
        times: dict[str, list[float]] = {"without TQ-06": [], "with TQ-06": []}
        for _ in range(options.runs):
            times["without TQ-06"].append(merge_time(root, without))
            times["with TQ-06"].append(merge_time(root, with_base))
    print(f"\natom-gates merge of {SHARDS} shards with coverage (median of {options.runs}):")
    for name, values in times.items():
        print(f"  {name:<14} {statistics.median(values):7.3f} s")


if __name__ == "__main__":
    main()
