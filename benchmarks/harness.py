"""Shared by the benchmarks: run pytest in a fresh process, alternate sides, take medians."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple


class Sample(NamedTuple):
    wall: float
    """Seconds on the wall clock."""
    cpu: float
    """User plus system CPU seconds of the pytest process and the workers it waited for."""
    memory: float
    """Peak resident memory in MiB."""


def suite_options(
    description: str, tests: int, xdist_help: str = "also compare under -n N"
) -> argparse.ArgumentParser:
    """The options every suite benchmark takes; a benchmark may add its own."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--tests", type=int, default=tests)
    parser.add_argument("--runs", type=int, default=5, help="runs per side (median taken)")
    parser.add_argument("--xdist", type=int, default=0, help=xdist_help)
    return parser


def environment_line() -> str:
    flag = "set" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "unset"
    return f"python {sys.version.split()[0]}, PYTHONDONTWRITEBYTECODE={flag} (same on every side)"


def run_pytest(
    root: Path,
    args: Sequence[str],
    ok: Sequence[int] = (0,),
    python: str = sys.executable,
    env: Mapping[str, str] | None = None,
) -> Sample:
    """One ``python -m pytest`` process, measured."""
    command = [python, "-m", "pytest", "-q", "-p", "no:randomly", *args]
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    error = process.stderr.read().decode() if process.stderr else ""
    if process.stderr:
        process.stderr.close()
    if code not in ok:
        raise SystemExit(f"{' '.join(command)} exited {code}\n{error}")
    # Linux reports the peak in KiB.
    return Sample(elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def compare(
    root: Path,
    sides: Mapping[str, Sequence[str]],
    runs: int,
    ok: Sequence[int] = (0,),
    *,
    python: str | Mapping[str, str] = sys.executable,
    env: Mapping[str, str] | None = None,
) -> dict[str, Sample]:
    """Medians per side; the sides run alternately, after one warm-up run each.

    ``python`` is the interpreter of every side, or of each side by name.
    """
    pythons = {name: python if isinstance(python, str) else python[name] for name in sides}
    samples: dict[str, list[Sample]] = {name: [] for name in sides}
    for name, args in sides.items():
        run_pytest(root, args, ok, pythons[name], env)
    for _ in range(runs):
        for name, args in sides.items():
            samples[name].append(run_pytest(root, args, ok, pythons[name], env))
    return {
        name: Sample(*(statistics.median(s[i] for s in values) for i in range(len(Sample._fields))))
        for name, values in samples.items()
    }


def print_table(title: str, results: Mapping[str, Sample], baseline: str) -> None:
    base = results[baseline]
    print(f"\n{title} (medians; ratios against {baseline}):")
    print(f"  {'':<36} {'wall':>9} {'ratio':>7} {'cpu':>9} {'ratio':>7}  peak memory")
    for name, sample in results.items():
        print(
            f"  {name:<36} {sample.wall:7.3f} s {sample.wall / base.wall:6.3f}x "
            f"{sample.cpu:7.3f} s {sample.cpu / base.cpu:6.3f}x  "
            f"{sample.memory:6.1f} MiB ({sample.memory - base.memory:+.1f})"
        )
