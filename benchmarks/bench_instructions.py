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
- the versions of Python, pytest, the plugin and valgrind.

Two counts of the same command in the same folder agree within 0.01 %.

    python benchmarks/bench_instructions.py                        # both shapes, cache on and off
    python benchmarks/bench_instructions.py --shape trivial --cache off --keep /tmp/counts
    python benchmarks/bench_instructions.py --project ../previous-checkout --venv /tmp/before

With ``--keep``, callgrind's output files stay in that folder: ``callgrind_annotate`` on the
two sizes' files of one side gives the per-function costs, whose difference is where a test's
instructions go.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
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
            shutil.copy(out, keep / f"{root.name}-{name}.callgrind")
        return int(found.group(1))


def fit(small: tuple[int, int], large: tuple[int, int]) -> Line:
    (n1, c1), (n2, c2) = small, large
    per_test = (c2 - c1) / (n2 - n1)
    return Line(per_test, c1 - per_test * n1)


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
        python = make_installation(options.venv or Path(folder, "venv"), options.project, [])
        flag = "set" if env.get("PYTHONDONTWRITEBYTECODE") else "unset"
        print(
            f"{versions(python)}, {valgrind}, python {sys.version.split()[0]}; "
            f"PYTHONHASHSEED=0, PYTHONDONTWRITEBYTECODE={flag}, one warm-up run per count"
        )
        print(
            "\n| suite | cache | plain per test | gates per test | extra per test | "
            f"extra fixed | {EXTRAPOLATE_TO // 1000}k ratio |"
        )
        print("|---|---|---|---|---|---|---|")
        for shape in options.shape or list(SIZES):
            for cache in options.cache or ["on", "off"]:
                common = [] if cache == "on" else ["-p", "no:cacheprovider"]
                points: dict[str, list[tuple[int, int]]] = {"plain": [], "gates": []}
                for size in SIZES[shape]:
                    root = Path(folder, f"{shape}-{size}-cache-{cache}")
                    root.mkdir()
                    generate_suite(root, size, shape)
                    points["plain"].append((size, count(python, root, common, env, options.keep)))
                    gated = count(python, root, [*common, *GATES], env, options.keep)
                    points["gates"].append((size, gated))
                plain = fit(*points["plain"])
                gates = fit(*points["gates"])
                extra = gates.per_test - plain.per_test
                ratio = gates.at(EXTRAPOLATE_TO) / plain.at(EXTRAPOLATE_TO)
                print(
                    f"| {shape} | {cache} | {plain.per_test / 1e6:.3f} M | "
                    f"{gates.per_test / 1e6:.3f} M | {extra / 1e3:+.1f} k "
                    f"({100 * extra / plain.per_test:+.1f} %) | "
                    f"{(gates.fixed - plain.fixed) / 1e9:+.3f} G | {ratio:.3f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
