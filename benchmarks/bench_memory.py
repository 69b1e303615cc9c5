"""What ``--atom-gates`` keeps in memory as a suite grows: peak resident memory, against pytest.

A passing test should leave behind only what pytest itself keeps and the few figures the gates
need. This benchmark runs generated suites of trivial tests (``bench_core.py``'s shape) at
1,000, 10,000 and 50,000 tests, plain pytest and the gates (TQ-05 off: coverage.py's data is its
own cost; pytest's cache provider off, so that no run reads what an earlier one wrote), one
process each, and prints each side's peak resident memory, the gates' extra, and how fast the
extra grows per 1,000 tests between the two larger sizes. Peak memory moves by well under 1 MiB
between runs of the same command; ``--runs`` takes the median of several.

Both sides run in one virtual environment holding only pytest, this plugin and their
dependencies (``--venv`` keeps and reuses it): another installed plugin's memory would count on
both sides and blur the difference.

    python benchmarks/bench_memory.py
    python benchmarks/bench_memory.py --sizes 10000,50000 --runs 3 --venv /tmp/memory-venv
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from bench_core import PROJECT, generate_suite, make_installation, versions
from harness import environment_line, run_pytest

GATES = ["--atom-gates", "--atom-gates-mode=TQ-05:off", "--atom-gates-seed=1"]
COMMON = ["-p", "no:cacheprovider"]


def peak(python: str, root: Path, args: list[str], runs: int) -> float:
    """Median peak resident memory, MiB, of ``runs`` pytest processes."""
    samples = [run_pytest(root, [*COMMON, *args], python=python) for _ in range(runs)]
    return statistics.median(sample.memory for sample in samples)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000,50000", help="suite sizes, comma-separated")
    parser.add_argument("--runs", type=int, default=1, help="runs per side and size (median)")
    parser.add_argument(
        "--project", type=Path, default=PROJECT, help="the checkout to install (default: this one)"
    )
    parser.add_argument("--venv", type=Path, help="keep the virtual environment here, reuse it")
    options = parser.parse_args()
    sizes = sorted(int(size) for size in options.sizes.split(","))
    extra: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="atom-gates-bench-memory-") as folder:
        python = make_installation(options.venv or Path(folder, "venv"), options.project, [])
        print(f"{versions(python)}; {environment_line()}")
        print("\n| tests | plain pytest | gates | extra |")
        print("|---:|---:|---:|---:|")
        for size in sizes:
            root = Path(folder, str(size))
            root.mkdir()
            generate_suite(root, size, "trivial")
            plain = peak(python, root, [], options.runs)
            gates = peak(python, root, GATES, options.runs)
            extra[size] = gates - plain
            print(f"| {size:,} | {plain:.1f} MiB | {gates:.1f} MiB | {gates - plain:+.1f} MiB |")
    if len(sizes) > 1:
        small, large = sizes[-2], sizes[-1]
        growth = (extra[large] - extra[small]) / (large - small) * 1000
        print(f"\nthe extra grows by {growth:.3f} MiB per 1,000 tests from {small:,} to {large:,}")


if __name__ == "__main__":
    main()
