"""Cost of the HTML page: rendering 10,000 tests, the page's size, and the run's extra time.

Runs ``pytest --atom-gates --atom-gates-report`` once on a suite of 10,000 tests (1 in 1,000
failing, one flaky), then renders the page from that report ``--runs`` times (median), and
compares the run with and without ``--atom-gates-html`` in the same session. When Selenium and
Chromium are installed it also times, in the browser, a filter click and a search over every
test (the page's own work, from the event to the redrawn table).

    python benchmarks/bench_html.py
    python benchmarks/bench_html.py --tests 2000 --runs 3
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from harness import compare, environment_line, print_table, run_pytest, suite_options

TESTS_PER_FILE = 100
SUITE_ROOT = Path(__file__).resolve().parent.parent


def generate_suite(root: Path, tests: int) -> None:
    for number in range(max(1, tests // TESTS_PER_FILE)):
        lines = []
        for i in range(TESTS_PER_FILE):
            index = number * TESTS_PER_FILE + i
            lines.append(f"def test_{i}():\n    assert {index % 1000 != 7}\n\n")
        (root / f"test_generated_{number:04d}.py").write_text("".join(lines), encoding="utf-8")
    (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")


def browser_timings(page: Path) -> dict[str, float] | None:
    """Milliseconds the page takes for a filter click and for a search, in headless Chromium."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return None
    chromium = shutil.which("chromium") or shutil.which("google-chrome")
    chromedriver = shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        return None
    options = Options()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu"):
        options.add_argument(argument)
    # With the driver's path given, Selenium does not look for one on the network.
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    try:
        driver.get(page.as_uri())
        timed = {}
        search = (
            "var s = document.getElementById('search'); s.value = %r;"
            "s.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter'}));"
        )
        for name, script in {
            "filter click: failed": "document.querySelectorAll('button.filter')[1].click();",
            "filter click: all": "document.querySelectorAll('button.filter')[0].click();",
            "search: 'test_5' (many matches)": search % "test_5",
            "search: 'nothing' (no match)": search % "nothing",
        }.items():
            samples = []
            for _ in range(5):
                samples.append(
                    driver.execute_script(
                        "var t = performance.now();" + script + "return performance.now() - t;"
                    )
                )
            timed[name] = statistics.median(samples)
        return timed
    finally:
        driver.quit()


def main() -> None:
    options = suite_options(__doc__, tests=10_000).parse_args()
    sys.path.insert(0, str(SUITE_ROOT))
    from pytest_atom_gates.html import render_page

    print(f"{environment_line()}; {options.tests} tests, {options.runs} runs per side")
    gates = ["--atom-gates", "--atom-gates-mode=TQ-05:off", "--atom-gates-mode=TQ-01:off"]
    with tempfile.TemporaryDirectory(prefix="atom-gates-bench-") as folder:
        root = Path(folder)
        generate_suite(root, options.tests)
        report_path = root / "report.json"
        run_pytest(root, [*gates, f"--atom-gates-report={report_path}"], ok=(0, 1))
        report = json.loads(report_path.read_text(encoding="utf-8"))
        timings = []
        for _ in range(options.runs):
            start = time.perf_counter()
            text = render_page(report)
            timings.append(time.perf_counter() - start)
        size = len(text.encode("utf-8"))
        print(
            f"\nrendering {len(report['tests'])} tests: median {statistics.median(timings):.3f} s "
            f"(min {min(timings):.3f} s); page {size / 1e6:.2f} MB "
            f"(JSON report {report_path.stat().st_size / 1e6:.2f} MB)"
        )
        page = root / "page.html"
        page.write_text(text, encoding="utf-8")
        sides = {
            "--atom-gates": [*gates],
            "--atom-gates --atom-gates-html": [*gates, f"--atom-gates-html={root / 'run.html'}"],
        }
        results = compare(root, sides, options.runs, ok=(0, 1))
        print_table("the run, single process", results, "--atom-gates")
        timed = browser_timings(page)
        if timed is None:
            print("\n(no Selenium or Chromium here: the in-browser timings are skipped)")
        else:
            print("\nin headless Chromium (median of 5, milliseconds):")
            for name, value in timed.items():
                print(f"  {name:<32} {value:7.1f} ms")


if __name__ == "__main__":
    main()
