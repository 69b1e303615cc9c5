"""What ``--atom-gates`` keeps in memory as a suite grows: peak resident memory, against pytest.

A passing test should leave behind only what pytest itself keeps and the few figures the gates
need. This benchmark runs generated suites of trivial tests (``bench_core.py``'s shape) at
1,000, 10,000 and 50,000 tests, plain pytest and the gates (TQ-05 off: coverage.py's data is its
own cost; pytest's cache provider off, so that no run reads what an earlier one wrote), one
process each, and prints each side's peak resident memory, the gates' extra, and how fast the
extra grows per 1,000 tests between the two larger sizes. Peak memory moves by well under 1 MiB
between runs of the same command; ``--runs`` takes the median of several.

    python benchmarks/bench_memory.py
    python benchmarks/bench_memory.py --sizes 10000,50000 --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from bench_core import generate_suite
from harness import environment_line, run_pytest

GATES = ["--atom-gates", "--atom-gates-mode=TQ-05:off", "--atom-gates-seed=1"]
COMMON = ["-p", "no:cacheprovider"]


def peak(root: Path, args: list[str], runs: int) -> float:
    """Median peak resident memory, MiB, of ``runs`` pytest processes."""
    return statistics.median(run_pytest(root, [*COMMON, *args]).memory for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000,50000", help="suite sizes, comma-separated")
    parser.add_argument("--runs", type=int, default=1, help="runs per side and size (median)")
    options = parser.parse_args()
    sizes = sorted(int(size) for size in options.sizes.split(","))
    print(environment_line())
    print("\n| tests | plain pytest | gates | extra |")
    print("|---:|---:|---:|---:|")
    extra: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="atom-gates-bench-memory-") as folder:
        for size in sizes:
            root = Path(folder, str(size))
            root.mkdir()
            generate_suite(root, size, "trivial")
            plain, gates = peak(root, [], options.runs), peak(root, GATES, options.runs)
            extra[size] = gates - plain
            print(f"| {size:,} | {plain:.1f} MiB | {gates:.1f} MiB | {gates - plain:+.1f} MiB |")
    if len(sizes) > 1:
        small, large = sizes[-2], sizes[-1]
        growth = (extra[large] - extra[small]) / (large - small) * 1000
        print(f"\nthe extra grows by {growth:.3f} MiB per 1,000 tests from {small:,} to {large:,}")


if __name__ == "__main__":
    main()
