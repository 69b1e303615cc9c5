"""What the LanceDB fixtures cost: per-test overhead, and importing lancedb once per process.

    python benchmarks/bench_lancedb.py [--tests 100] [--runs 3] [--imports 5]

Needs pytest-atom-gates installed with the lancedb extra. Per-test overhead is measured through
pytest: a generated suite whose tests each make a 100-row table with ``lancedb_table`` (connect,
create, drop and check at teardown), next to the same tests building the same rows without a
database; each test's setup, call and teardown are timed together. The overhead is the difference
of the medians. The first LanceDB test of each run also pays the import of lancedb and the health
check; it is reported apart. ``raw cycle`` is the same work done with lancedb directly, without
pytest or the fixtures, for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROWS = 100

CONFTEST = """
import json
import os
import time

import pytest

TIMES = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    start, cpu = time.perf_counter(), time.process_time()
    try:
        return (yield)
    finally:
        TIMES.append((item.name, time.perf_counter() - start, time.process_time() - cpu))


def pytest_sessionfinish(session):
    with open(os.environ["BENCH_TIMES"], "w", encoding="utf-8") as out:
        json.dump(TIMES, out)
"""

SUITE = """
import pytest


def rows():
    return [{{"id": i, "name": f"item {{i}}", "vector": [float(i), 1.0]}} for i in range({rows})]


@pytest.mark.parametrize("n", range({tests}))
def test_plain(n):
    assert len(rows()) == {rows}


@pytest.mark.parametrize("n", range({tests}))
def test_table(lancedb_table, n):
    assert lancedb_table("items", rows()).count_rows() == {rows}
"""

MODES = {"memory://": "memory://", "tmp_path": "tmp_path", "directory": None}


def run_suite(workdir: Path, uri: str) -> list[tuple[str, float, float]]:
    """Each test's name, wall time and CPU time (of every thread, lancedb's included)."""
    times = workdir / "times.json"
    env = {**os.environ, "LANCEDB_URI": uri, "BENCH_TIMES": str(times)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
    done = subprocess.run(
        command, cwd=workdir, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"the benchmark suite failed:\n{done.stdout}\n{done.stderr}")
    return [(name, wall, cpu) for name, wall, cpu in json.loads(times.read_text(encoding="utf-8"))]


def fixture_overhead(tests: int, runs: int) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-lancedb-") as tmp:
        workdir = Path(tmp)
        (workdir / "conftest.py").write_text(CONFTEST, encoding="utf-8")
        (workdir / "test_bench.py").write_text(
            SUITE.format(rows=ROWS, tests=tests), encoding="utf-8"
        )
        for mode, uri in MODES.items():
            plain: list[tuple[float, float]] = []
            table: list[tuple[float, float]] = []
            first: list[float] = []
            for _ in range(runs):
                timed = run_suite(workdir, uri or str(workdir / "dbs"))
                tables = [(wall, cpu) for name, wall, cpu in timed if name.startswith("test_table")]
                plain += [(wall, cpu) for name, wall, cpu in timed if name.startswith("test_plain")]
                first.append(tables[0][0])
                table += tables[1:]
            results[mode] = {
                "plain": statistics.median(wall for wall, _ in plain),
                "table": statistics.median(wall for wall, _ in table),
                "cpu": statistics.median(cpu for _, cpu in table)
                - statistics.median(cpu for _, cpu in plain),
                "first": statistics.median(first),
            }
    return results


def raw_cycles(repeats: int) -> dict[str, float]:
    """What a benchmark test and its fixtures do, with lancedb alone: connect, create a 100-row
    table, count its rows, drop every table, list the tables (and remove the directory)."""
    os.environ.setdefault("LANCEDB_LOG", "error")
    import lancedb

    rows = [{"id": i, "name": f"item {i}", "vector": [float(i), 1.0]} for i in range(ROWS)]

    def cycle(uri: str) -> float:
        start = time.perf_counter()
        db = lancedb.connect(uri)
        assert db.create_table("items", rows).count_rows() == ROWS
        db.drop_all_tables()
        db.list_tables()
        if uri != "memory://":
            shutil.rmtree(uri)
        return time.perf_counter() - start

    with tempfile.TemporaryDirectory(prefix="bench-lancedb-raw-") as tmp:
        cycle("memory://")
        memory = [cycle("memory://") for _ in range(repeats)]
        directory = [cycle(os.path.join(tmp, str(n))) for n in range(repeats)]
    return {"memory": statistics.median(memory), "directory": statistics.median(directory)}


def import_seconds(module: str, runs: int, before: str = "") -> list[float]:
    """How long ``import module`` takes (wall time) in fresh interpreters."""
    code = textwrap.dedent(
        f"""
        import os, time
        os.environ.setdefault("LANCEDB_LOG", "error")
        {before}
        start = time.perf_counter()
        import {module}
        print(time.perf_counter() - start)
        """
    )
    return [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(runs)
    ]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=100, help="tests of each kind per run")
    parser.add_argument("--runs", type=int, default=3, help="pytest runs per mode")
    parser.add_argument("--imports", type=int, default=5, help="fresh interpreters per import")
    args = parser.parse_args()

    from importlib.metadata import version

    bytecode = os.environ.get("PYTHONDONTWRITEBYTECODE")
    print(
        f"lancedb {version('lancedb')}, pytest {version('pytest')}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f}, PYTHONDONTWRITEBYTECODE "
        + (f"set ({bytecode!r})" if bytecode else "not set")
    )
    print(
        f"\nper-test overhead: medians over {args.runs} runs x {args.tests} tests, each test's "
        f"setup + call + teardown; a table of {ROWS} rows"
    )
    raw = raw_cycles(repeats=max(args.tests, 50))
    overhead = fixture_overhead(args.tests, args.runs)
    print(
        f"{'mode':<11} {'no database':>12} {'lancedb_table':>14} {'overhead':>10} "
        f"{'(CPU)':>10} {'raw cycle':>10} {'first test':>11}"
    )
    for mode, figures in overhead.items():
        raw_cycle = raw["memory"] if mode == "memory://" else raw["directory"]
        print(
            f"{mode:<11} {ms(figures['plain']):>12} {ms(figures['table']):>14} "
            f"{ms(figures['table'] - figures['plain']):>10} {ms(figures['cpu']):>10} "
            f"{ms(raw_cycle):>10} "
            f"{figures['first']:>9.2f} s"
        )
    print(
        "(overhead: wall time, and CPU time of all threads; raw cycle: lancedb alone, wall time; "
        "first test: the first LanceDB test of a run, which imports lancedb and runs the "
        "health check)"
    )

    lancedb_import = import_seconds("lancedb", args.imports)
    # The core plugin is loaded first, as pytest does: what is left is the fixtures' own cost.
    plugin_import = import_seconds(
        "pytest_atom_gates.lancedb.plugin", args.imports, "import pytest, pytest_atom_gates.plugin"
    )
    print(
        f"\nimport lancedb in a fresh interpreter, once per process (per xdist worker): "
        f"median {statistics.median(lancedb_import):.2f} s over {args.imports} runs "
        f"(min {min(lancedb_import):.2f} s, max {max(lancedb_import):.2f} s)"
    )
    print(
        f"import of the fixtures' plugin module at pytest start-up: "
        f"median {ms(statistics.median(plugin_import))}"
    )


if __name__ == "__main__":
    main()
