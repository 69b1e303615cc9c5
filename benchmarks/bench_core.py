"""Overhead of ``pytest --atom-gates`` against plain pytest on a generated suite.

Runs both sides alternately in the same session (the machine's noise hits both alike) and reports
medians of wall time and of each run's own peak memory (``wait4`` rusage, per child).

    python benchmarks/bench_core.py                 # 10,000 tests, 5 runs per side
    python benchmarks/bench_core.py --tests 2000 --runs 3 --xdist 2
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TESTS_PER_FILE = 100


def generate_suite(root: Path, tests: int) -> None:
    files = max(1, tests // TESTS_PER_FILE)
    for number in range(files):
        count = min(TESTS_PER_FILE, tests - number * TESTS_PER_FILE)
        body = "".join(f"def test_{i}():\n    pass\n\n" for i in range(count))
        (root / f"test_generated_{number:04d}.py").write_text(body, encoding="utf-8")
    (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")


def run_once(root: Path, args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MiB) of one pytest process."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", *args]
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0,):
        error = process.stderr.read().decode() if process.stderr else ""
        raise SystemExit(f"{' '.join(command)} exited {process.returncode}\n{error}")
    if process.stderr:
        process.stderr.close()
    return elapsed, usage.ru_maxrss / 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--tests", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5, help="runs per side (median taken)")
    parser.add_argument("--xdist", type=int, default=0, help="also compare under -n N")
    options = parser.parse_args()

    print(f"python {sys.version.split()[0]}, {options.tests} tests, {options.runs} runs per side")
    print(
        f"PYTHONDONTWRITEBYTECODE={'set' if os.environ.get('PYTHONDONTWRITEBYTECODE') else 'unset'}"
        " (same for both sides)"
    )
    sides = {
        "plain pytest": [],
        "pytest --atom-gates": ["--atom-gates", "--atom-gates-mode=TQ-05:off"],
    }
    engines = [[]] + ([["-n", str(options.xdist)]] if options.xdist else [])
    with tempfile.TemporaryDirectory(prefix="atom-gates-bench-") as folder:
        root = Path(folder)
        generate_suite(root, options.tests)
        for engine in engines:
            label = " ".join(engine) or "single process"
            results: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
            for args in sides.values():  # warm-up: imports and file system caches
                run_once(root, [*engine, *args])
            for _ in range(options.runs):
                for name, args in sides.items():
                    results[name].append(run_once(root, [*engine, *args]))
            print(f"\n{label}:")
            base_time = statistics.median(t for t, _ in results["plain pytest"])
            base_memory = statistics.median(m for _, m in results["plain pytest"])
            for name, samples in results.items():
                wall = statistics.median(t for t, _ in samples)
                memory = statistics.median(m for _, m in samples)
                print(
                    f"  {name:<22} median {wall:7.3f} s  ({wall / base_time:5.3f}x)  "
                    f"peak {memory:7.1f} MiB  ({memory - base_memory:+.1f} MiB)"
                )


if __name__ == "__main__":
    main()
