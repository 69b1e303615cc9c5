"""CI shards: how evenly 4 shards split a skewed suite, and how long ``atom-gates merge`` takes.

A generated suite of ``--tests`` tests in modules of 100: most tests are instant, a few modules
are slow (their tests sleep), so a split by count is far from even. One whole run records the
durations; then the suite runs as 4 shards twice, split by this plugin
(``--atom-gates-shard=K/4 --atom-gates-durations``) and by pytest-split
(``--splitting-algorithm least_duration``, from the same figures). For each split it prints every
shard's wall time and the slowest against the mean; the shards run one after the other, so each
has the machine to itself. Then it times ``atom-gates merge`` over the 4 shards' reports, with
their coverage data, ``--runs`` times.

    python benchmarks/bench_shards.py --tests 10000 --runs 5
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import environment_line, run_pytest, suite_options

SLOW_MODULES = (3, 7, 11)
"""The slow modules: their tests sleep ``SLOW_SLEEP`` seconds each."""
SLOW_SLEEP = 0.04
SHARDS = 4


def write_suite(root: Path, tests: int) -> None:
    package = root / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        "def work(n):\n    total = 0\n    for i in range(n % 7):\n        total += i\n"
        "    return total\n\n\ndef unused():\n    return 0\n",
        encoding="utf-8",
    )
    for module in range((tests + 99) // 100):
        count = min(100, tests - module * 100)
        sleep = SLOW_SLEEP if module in SLOW_MODULES else 0
        body = ["import time", "import pytest", "from pkg import work", ""]
        body += [
            f"@pytest.mark.parametrize('n', range({count}))",
            "def test_case(n):",
            f"    time.sleep({sleep})" if sleep else "    pass",
            "    assert work(n) >= 0",
        ]
        (root / f"test_m{module:03d}.py").write_text("\n".join(body) + "\n", encoding="utf-8")
    (root / "pyproject.toml").write_text(
        '[tool.coverage.run]\nsource = ["pkg"]\n', encoding="utf-8"
    )


def shard_walls(root: Path, args_of: list[list[str]]) -> list[float]:
    return [run_pytest(root, args).wall for args in args_of]


def describe(name: str, walls: list[float]) -> float:
    mean = statistics.mean(walls)
    spread = max(walls) / mean
    shown = ", ".join(f"{wall:.2f}" for wall in walls)
    print(f"  {name:<34} shards {shown} s; slowest {max(walls):.2f} s = {spread:.3f}x the mean")
    return spread


def main() -> int:
    options = suite_options(__doc__ or "", tests=10_000)
    args = options.parse_args()
    print(environment_line())
    with tempfile.TemporaryDirectory(prefix="bench-shards-") as folder:
        root = Path(folder)
        write_suite(root, args.tests)
        ours = root / "durations.json"
        gates = ["--atom-gates", "--atom-gates-mode=TQ-05:off", "--atom-gates-seed=1"]
        run_pytest(root, [*gates, f"--atom-gates-durations={ours}"])
        recorded = json.loads(ours.read_text(encoding="utf-8"))["durations"]
        theirs = root / "split-durations.json"
        theirs.write_text(json.dumps(recorded), encoding="utf-8")
        print(f"{args.tests} tests, {sum(recorded.values()):.2f} s of test time recorded")
        by_count = describe(
            "by count (no durations)",
            shard_walls(root, [[*gates, f"--atom-gates-shard={k}/{SHARDS}"] for k in range(1, 5)]),
        )
        mine = describe(
            "atom-gates, by durations",
            shard_walls(
                root,
                [
                    [*gates, f"--atom-gates-shard={k}/{SHARDS}", f"--atom-gates-durations={ours}"]
                    for k in range(1, 5)
                ],
            ),
        )
        split = describe(
            "pytest-split least_duration",
            shard_walls(
                root,
                [
                    [
                        f"--splits={SHARDS}",
                        f"--group={k}",
                        "--splitting-algorithm=least_duration",
                        f"--durations-path={theirs}",
                    ]
                    for k in range(1, 5)
                ],
            ),
        )
        print(
            f"  slowest/mean: atom-gates {mine:.3f}x, pytest-split {split:.3f}x, "
            f"by count {by_count:.3f}x"
        )

        # The merge: 4 shards with coverage, their reports and data where an artifact puts them.
        reports = []
        for k in range(1, SHARDS + 1):
            shard = root / "shards" / str(k)
            report = shard / "report.json"
            run_pytest(
                root,
                [
                    "--atom-gates",
                    "--atom-gates-seed=1",
                    f"--atom-gates-shard={k}/{SHARDS}",
                    f"--atom-gates-durations={ours}",
                    f"--atom-gates-report={report}",
                ],
            )
            (root / ".coverage").rename(shard / ".coverage")
            reports.append(str(report))
        command = [
            sys.executable,
            "-m",
            "pytest_atom_gates",
            "merge",
            *reports,
            "-q",
            "-o",
            "m.json",
        ]
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
            times.append(time.perf_counter() - start)
            if done.returncode != 0:
                raise SystemExit(f"merge exited {done.returncode}\n{done.stdout}{done.stderr}")
        merged = json.loads((root / "m.json").read_text(encoding="utf-8"))
        print(
            f"  atom-gates merge of {SHARDS} shards, {len(merged['tests'])} tests, coverage "
            f"{merged['coverage']['totals']['percent']:.1f} %: "
            f"median {statistics.median(times):.3f} s "
            f"(runs: {', '.join(f'{t:.3f}' for t in times)})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
