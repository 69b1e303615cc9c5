"""What ``--atom-gates`` costs a passing test, in instructions: a count anyone can rerun.

Wall time on a shared machine moves by 5 to 10 % between runs; the number of instructions a
process executes does not. This benchmark counts them with valgrind's callgrind for plain pytest
and for ``pytest --atom-gates`` (TQ-05 off: coverage's tracer is its own cost), on two sizes of
each suite shape of ``bench_core.py`` (trivial tests; tests with fixtures of every scope), with
pytest's cache provider on and off. The per-test cost is the slope between the two sizes, the
fixed cost what is left at the smaller one, and the 10,000-test ratio follows from both.

Everything that changes a count is fixed or printed:

- one virtual environment holding only pytest, this plugin and their dependencies (no other
  pytest plugin: an installed plugin's hooks run on both sides and hide the gates' own cost);
- ``PYTHONHASHSEED=0`` (set sizes and iteration orders depend on it), ``PYTEST_ADDOPTS`` unset,
  ``PYTHONDONTWRITEBYTECODE`` as this process has it (printed: without the bytecode cache every
  run compiles the test modules again);
- the session seed (``--atom-gates-seed=1``);
- one uncounted warm-up run of each side in each suite, so caches written by a first run (the
  bytecode of test modules, pytest's cache folder) are there for the counted one;
- the versions of Python, pytest, the plugin and valgrind;
- where the interpreter lives: each side is counted through ``--layouts`` links to the virtual
  environment, named with paths of different lengths, and the median is printed with the spread.

Two counts of the same command in the same folder agree within 0.01 %. The path of the
installation is not so neutral: it moves where CPython allocates what it loads, so which names
share a slot of its attribute cache, and a passing test's count with the gates by up to 0.5 %
(plain pytest's by about 0.1 %); the gates' extra per test moved by 18 k between three paths.
The median over several paths is what another machine reproduces.

    python benchmarks/bench_instructions.py                        # both shapes, cache on and off
    python benchmarks/bench_instructions.py --shape trivial --cache off --keep /tmp/counts
    python benchmarks/bench_instructions.py --project ../previous-checkout --venv /tmp/before
    python benchmarks/bench_instructions.py --layouts 1                    # one path: faster

With ``--keep``, callgrind's output files stay in that folder: ``callgrind_annotate`` on the
two sizes' files of one side gives the per-function costs, whose difference is where a test's
instructions go.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench_core import PROJECT, generate_suite, make_installation, versions

SIZES = {"trivial": (500, 2_500), "fixtures": (300, 1_300)}
"""Two suite sizes per shape: the per-test cost is the slope between them."""
EXTRAPOLATE_TO = 10_000
GATES = ["--atom-gates", "--atom-gates-mode=TQ-05:off", "--atom-gates-seed=1"]
"""The gates without coverage (its tracer is its own cost), from a fixed seed: a different
shuffle moves the count by about 50 k instructions per 100 tests."""
TOTALS = re.compile(rb"^(?:summary|totals): (\d+)", re.MULTILINE)


@dataclass(frozen=True)
class Line:
    """One side's cost, fitted through its two sizes."""

    per_test: float
    fixed: float

    def at(self, tests: int) -> float:
        return self.fixed + self.per_test * tests


def count(python: str, root: Path, args: list[str], env: dict[str, str], keep: Path | None) -> int:
    """Instructions of one ``python -m pytest`` process, counted by callgrind (after a warm-up
    run of the same command)."""
    command = [python, "-m", "pytest", "-q", "-p", "no:randomly", *args]
    warm = subprocess.run(command, cwd=root, env=env, capture_output=True, check=False)
    if warm.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {warm.returncode}\n{warm.stdout.decode()}")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder, "callgrind.out")
        counted = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                "--trace-children=no",
                *command,
            ],
            cwd=root,
            env=env,
            capture_output=True,
            check=False,
        )
        if counted.returncode != 0:
            raise SystemExit(f"callgrind of {' '.join(command)} failed\n{counted.stderr.decode()}")
        found = TOTALS.search(out.read_bytes())
        if found is None:
            raise SystemExit(f"no totals in callgrind's output of {' '.join(command)}")
        if keep is not None:
            name = "-".join(part.strip("-").replace(":", "") for part in args) or "plain"
            path = len(str(Path(python).parents[1]))  # which installation path counted it
            shutil.copy(out, keep / f"{root.name}-{name}-path{path}.callgrind")
        return int(found.group(1))


def fit(small: tuple[int, int], large: tuple[int, int]) -> Line:
    (n1, c1), (n2, c2) = small, large
    per_test = (c2 - c1) / (n2 - n1)
    return Line(per_test, c1 - per_test * n1)


def layouts(venv: Path, folder: Path, count: int) -> list[str]:
    """The interpreter of ``venv`` through ``count`` links whose paths differ in length: Python
    takes its prefix from the path it was started by, so each link lays memory out anew."""
    pythons = []
    for index in range(count):
        link = folder / ("layout-" + "x" * (23 * index))
        link.symlink_to(venv, target_is_directory=True)
        pythons.append(str(link / "bin" / "python"))
    return pythons


def median_line(lines: list[Line]) -> Line:
    return Line(
        statistics.median(line.per_test for line in lines),
        statistics.median(line.fixed for line in lines),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--shape", choices=tuple(SIZES), action="append", help="default: both")
    parser.add_argument("--cache", choices=("on", "off"), action="append", help="default: both")
    parser.add_argument(
        "--project", type=Path, default=PROJECT, help="the checkout to install (default: this one)"
    )
    parser.add_argument("--venv", type=Path, help="keep the virtual environment here, reuse it")
    parser.add_argument("--keep", type=Path, help="keep callgrind's output files here")
    parser.add_argument(
        "--layouts",
        type=int,
        default=3,
        help="installation paths each side is counted through; the median is printed (default 3)",
    )
    options = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    env = {key: value for key, value in os.environ.items() if key != "PYTEST_ADDOPTS"}
    env["PYTHONHASHSEED"] = "0"
    if options.keep:
        options.keep.mkdir(parents=True, exist_ok=True)
    valgrind = subprocess.run(
        ["valgrind", "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="atom-gates-bench-instructions-") as folder:
        venv = options.venv or Path(folder, "venv")
        python = make_installation(venv, options.project, [])
        pythons = layouts(venv.absolute(), Path(folder), max(options.layouts, 1))
        flag = "set" if env.get("PYTHONDONTWRITEBYTECODE") else "unset"
        print(
            f"{versions(python)}, {valgrind}, python {sys.version.split()[0]}; "
            f"PYTHONHASHSEED=0, PYTHONDONTWRITEBYTECODE={flag}, one warm-up run per count, "
            f"medians over {len(pythons)} installation paths"
        )
        print(
            "\n| suite | cache | plain per test | gates per test | extra per test | "
            f"extra per test, each path | extra fixed | {EXTRAPOLATE_TO // 1000}k ratio |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for shape in options.shape or list(SIZES):
            for cache in options.cache or ["on", "off"]:
                common = [] if cache == "on" else ["-p", "no:cacheprovider"]
                roots = []
                for size in SIZES[shape]:
                    root = Path(folder, f"{shape}-{size}-cache-{cache}")
                    root.mkdir()
                    generate_suite(root, size, shape)
                    roots.append((size, root))
                sides: dict[str, list[Line]] = {"plain": [], "gates": []}
                for layout in pythons:
                    for side, args in (("plain", common), ("gates", [*common, *GATES])):
                        points = [
                            (n, count(layout, root, args, env, options.keep)) for n, root in roots
                        ]
                        sides[side].append(fit(*points))
                plain, gates = median_line(sides["plain"]), median_line(sides["gates"])
                extra = gates.per_test - plain.per_test
                each = ", ".join(
                    f"{(g.per_test - p.per_test) / 1e3:+.1f} k"
                    for p, g in zip(sides["plain"], sides["gates"], strict=True)
                )
                ratio = gates.at(EXTRAPOLATE_TO) / plain.at(EXTRAPOLATE_TO)
                print(
                    f"| {shape} | {cache} | {plain.per_test / 1e6:.3f} M | "
                    f"{gates.per_test / 1e6:.3f} M | {extra / 1e3:+.1f} k "
                    f"({100 * extra / plain.per_test:+.1f} %) | {each} | "
                    f"{(gates.fixed - plain.fixed) / 1e9:+.3f} G | {ratio:.3f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
