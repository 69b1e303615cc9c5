"""Cost of keeping every failure whole: the run's time, the JSON report's size, the page.

A generated suite of 10,000 tests, 1 % of them failing with a custom-message assertion after
printing and logging a few lines (a traceback and captured output to keep). Runs, alternating,
``pytest --atom-gates`` with a JSON report and the HTML page, TQ-01's checks off (they are
measured by bench_order_checks.py), and prints the medians, the report's and the page's size,
and the time to render the page from the report.

``--before PATH`` adds the same run of another checkout of the plugin (put first on
``PYTHONPATH``), for a before-and-after comparison:

    git worktree add /tmp/before <commit>
    python benchmarks/bench_failure_detail.py --before /tmp/before
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from harness import Sample, environment_line, run_pytest, suite_options

TESTS_PER_FILE = 100

TEST = """
def test_{index}():
    print("checking order {index}")
    logging.getLogger("shop").warning("price table {index} is stale")
    total = 200.0 + {index}
    assert total == {expected}, "discount of 10% should apply to order {index}"
"""


def generate_suite(root: Path, tests: int) -> None:
    for number in range(max(1, tests // TESTS_PER_FILE)):
        parts = ["import logging\n"]
        for i in range(TESTS_PER_FILE):
            index = number * TESTS_PER_FILE + i
            failing = index % 100 == 50
            expected = 180.0 + index if failing else 200.0 + index
            parts.append(TEST.format(index=index, expected=expected))
        (root / f"test_generated_{number:04d}.py").write_text("".join(parts), encoding="utf-8")
    (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")


def main() -> None:
    parser = suite_options(__doc__, tests=10000)
    parser.add_argument("--before", type=Path, help="another checkout of the plugin to compare")
    options = parser.parse_args()
    print(f"{environment_line()}; {options.tests} tests, 1 % failing; {options.runs} runs")
    with tempfile.TemporaryDirectory(prefix="atom-gates-bench-") as folder:
        root = Path(folder)
        generate_suite(root, options.tests)
        sides: dict[str, dict[str, str] | None] = {"this": None}
        if options.before is not None:
            path = os.pathsep.join([str(options.before), os.environ.get("PYTHONPATH", "")])
            sides["before"] = {**os.environ, "PYTHONPATH": path}
        samples: dict[str, list[Sample]] = {name: [] for name in sides}
        sizes: dict[str, tuple[int, int]] = {}
        for run in range(options.runs + 1):  # the first run of each side warms up
            for name, env in sides.items():
                report, page = root / f"{name}.json", root / f"{name}.html"
                args = [
                    "--atom-gates",
                    "--atom-gates-seed=7",
                    "--atom-gates-min-pass-rate=0",
                    "--atom-gates-order-checks=0",
                    "--atom-gates-reruns=0",
                    "--atom-gates-mode=TQ-05:off",
                    f"--atom-gates-report={report}",
                    f"--atom-gates-html={page}",
                ]
                sample = run_pytest(root, args, ok=(0, 1), env=env)
                if run:
                    samples[name].append(sample)
                sizes[name] = (report.stat().st_size, page.stat().st_size)
        print("\nthe gates with a JSON report and the page (medians):")
        for name, values in samples.items():
            wall = statistics.median(s.wall for s in values)
            memory = statistics.median(s.memory for s in values)
            report_size, page_size = sizes[name]
            print(
                f"  {name + ' checkout':<20} {wall:7.3f} s  peak {memory:6.1f} MiB  report "
                f"{report_size / 1024:8.1f} KiB  page {page_size / 1024:8.1f} KiB"
            )
        render_time(root / "this.json", options.runs)


def render_time(report: Path, runs: int) -> None:
    """The median time to render the page from the report, in this process."""
    from pytest_atom_gates.html.page import render_page

    document = json.loads(report.read_text(encoding="utf-8"))
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        render_page(document)
        timings.append(time.perf_counter() - start)
    failed = sum(t["outcome"] == "failed" for t in document["tests"])
    print(
        f"  rendering the page ({len(document['tests'])} tests, {failed} failures with their "
        f"tracebacks): {statistics.median(timings) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    sys.exit(main())
