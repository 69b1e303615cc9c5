"""Overhead of ``pytest --atom-gates`` against plain pytest, per installation and suite shape.

What plain pytest costs depends on what else is installed: with pytest-xdist installed, every
test pays for xdist's hooks on both sides, which hides part of the plugin's own cost. So this
benchmark builds two virtual environments, one holding only this plugin and its dependencies and
one with pytest-xdist too, and runs both suite shapes in each:

- trivial: 100 files of 100 tests (25 methods, 50 parametrized cases, 25 functions), each
  ``assert 1``, so nearly all the time is pytest's own per-test machinery;
- fixtures: the same number of tests using function-, module- and session-scoped fixtures
  (one with a teardown) and calling a small application package.

Both sides run alternately in the same session, each run in a fresh process, so the machine's
noise hits both alike; the figures are medians of wall time, CPU time and each run's peak memory.

    python benchmarks/bench_core.py                          # 10,000 tests, 5 runs per side
    python benchmarks/bench_core.py --tests 2000 --runs 3 --xdist 2
    python benchmarks/bench_core.py --baseline ../previous-checkout --venvs /tmp/venvs

With ``--baseline``, each installation is built twice, from this checkout and from the baseline,
and the four sides (plain pytest and ``--atom-gates``, in each) alternate in the same session.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import compare, environment_line, print_table, suite_options

TESTS_PER_FILE = 100
PROJECT = Path(__file__).resolve().parent.parent

INSTALLATIONS = {
    "without pytest-xdist": [],
    "with pytest-xdist": ["pytest-xdist"],
}

APPLICATION = {
    "__init__.py": "",
    "pricing.py": (
        "from decimal import Decimal\n\n"
        "def with_tax(amount, rate=Decimal('0.2')):\n"
        "    return (Decimal(amount) * (1 + rate)).quantize(Decimal('0.01'))\n\n"
        "def discount(amount, percent):\n"
        "    if not 0 <= percent <= 100:\n"
        "        raise ValueError(f'percent out of range: {percent}')\n"
        "    return Decimal(amount) * (100 - percent) / 100\n"
    ),
    "inventory.py": (
        "class Inventory:\n"
        "    def __init__(self, stock):\n"
        "        self.stock = dict(stock)\n\n"
        "    def take(self, sku, count):\n"
        "        if self.stock.get(sku, 0) < count:\n"
        "            raise LookupError(sku)\n"
        "        self.stock[sku] -= count\n"
        "        return count\n\n"
        "    def total(self):\n"
        "        return sum(self.stock.values())\n"
    ),
}

CONFTEST = """\
import pytest

from shop.inventory import Inventory


@pytest.fixture(scope="session")
def catalog():
    return {f"sku-{n}": n % 7 + 1 for n in range(50)}


@pytest.fixture(scope="module")
def prices(catalog):
    return {sku: 10 * count for sku, count in catalog.items()}


@pytest.fixture
def inventory(catalog):
    stock = Inventory(catalog)
    yield stock
    assert stock.total() >= 0


@pytest.fixture
def order(inventory, prices):
    return [(sku, inventory.take(sku, 1), prices[sku]) for sku in list(prices)[:3]]
"""


def _trivial_file() -> str:
    methods = "".join(f"    def test_method_{i}(self):\n        assert 1\n\n" for i in range(25))
    functions = "".join(f"def test_function_{i}():\n    assert 1\n\n" for i in range(25))
    return (
        "import pytest\n\n\n"
        f"class TestMethods:\n{methods}\n"
        '@pytest.mark.parametrize("case", range(50))\n'
        "def test_parametrized(case):\n    assert 1\n\n\n"
        f"{functions}"
    )


def _fixtures_file(number: int) -> str:
    tests = []
    for i in range(TESTS_PER_FILE):
        kind = i % 4
        if kind == 0:
            body = f"    assert with_tax({i + number}) == Decimal({i + number}) * Decimal('1.2')\n"
            tests.append(f"def test_tax_{i}():\n{body}")
        elif kind == 1:
            tests.append(
                f"def test_order_{i}(order):\n"
                "    assert [count for _, count, _ in order] == [1, 1, 1]\n"
            )
        elif kind == 2:
            tests.append(
                f"def test_inventory_{i}(inventory, catalog):\n"
                f"    assert inventory.take('sku-{i % 50}', 1) == 1\n"
                f"    assert inventory.total() == sum(catalog.values()) - 1\n"
            )
        else:
            tests.append(
                f"def test_discount_{i}(prices):\n"
                f"    assert discount(prices['sku-{i % 50}'], {i % 100}) <= "
                f"prices['sku-{i % 50}']\n"
            )
    header = "from decimal import Decimal\n\nfrom shop.pricing import discount, with_tax\n\n\n"
    return header + "\n\n".join(tests)


def generate_suite(root: Path, tests: int, shape: str) -> None:
    files = max(1, tests // TESTS_PER_FILE)
    if shape == "fixtures":
        package = root / "shop"
        package.mkdir()
        for name, text in APPLICATION.items():
            (package / name).write_text(text, encoding="utf-8")
        (root / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    for number in range(files):
        text = _trivial_file() if shape == "trivial" else _fixtures_file(number)
        (root / f"test_generated_{number:04d}.py").write_text(text, encoding="utf-8")
    (root / "pytest.ini").write_text("[pytest]\npythonpath = .\n", encoding="utf-8")


def make_installation(folder: Path, project: Path, extra: list[str]) -> str:
    """A virtual environment with the plugin installed from ``project``; returns its python."""
    python = folder / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", str(project), *extra], check=True
        )
    return str(python)


def versions(python: str) -> str:
    script = (
        "import importlib.metadata as m\n"
        "names = ['pytest', 'pytest-atom-gates', 'pytest-xdist']\n"
        "found = []\n"
        "for name in names:\n"
        "    try:\n"
        "        found.append(f'{name} {m.version(name)}')\n"
        "    except m.PackageNotFoundError:\n"
        "        pass\n"
        "print(', '.join(found))\n"
    )
    return subprocess.run(
        [python, "-c", script], check=True, capture_output=True, text=True
    ).stdout.strip()


def main() -> None:
    parser = suite_options(__doc__, tests=10_000)
    parser.add_argument(
        "--project", type=Path, default=PROJECT, help="the checkout to install (default: this one)"
    )
    parser.add_argument(
        "--baseline", type=Path, help="a checkout to compare with, in the same session"
    )
    parser.add_argument(
        "--venvs", type=Path, help="keep the virtual environments here and reuse them"
    )
    parser.add_argument(
        "--shape", choices=("trivial", "fixtures"), action="append", help="default: both"
    )
    parser.add_argument(
        "--installation", choices=tuple(INSTALLATIONS), action="append", help="default: both"
    )
    parser.add_argument(
        "--cache", action="store_true", help="keep pytest's cache plugin on (default: off)"
    )
    options = parser.parse_args()
    shapes = options.shape or ["trivial", "fixtures"]
    installations = options.installation or list(INSTALLATIONS)
    cache = "" if options.cache else " -p no:cacheprovider"
    print(f"{environment_line()}; {options.tests} tests, {options.runs} runs per side{cache}")
    common = [] if options.cache else ["-p", "no:cacheprovider"]
    sides = {
        "plain pytest": common,
        "pytest --atom-gates (TQ-05 off)": [*common, "--atom-gates", "--atom-gates-mode=TQ-05:off"],
    }
    checkouts = {"": ("this", options.project)}  # label of its sides: (venv name, checkout)
    if options.baseline:
        checkouts = {
            "baseline: ": ("baseline", options.baseline),
            "this checkout: ": ("this", options.project),
        }
    env = {key: value for key, value in os.environ.items() if key != "PYTEST_ADDOPTS"}
    with tempfile.TemporaryDirectory(prefix="atom-gates-bench-") as folder:
        venvs = options.venvs or Path(folder, "venvs")
        for installation in installations:
            pythons = {}
            for label, (venv, checkout) in checkouts.items():
                where = venvs / f"{venv}-{installation}".replace(" ", "-")
                python = make_installation(where, checkout, INSTALLATIONS[installation])
                pythons.update({f"{label}{name}": python for name in sides})
                print(f"\n== {label}{installation}: {versions(python)}", flush=True)
            engines = [[]]
            if options.xdist and INSTALLATIONS[installation]:
                engines.append(["-n", str(options.xdist)])
            for shape in shapes:
                root = Path(folder, f"{installation}-{shape}".replace(" ", "-"))
                root.mkdir()
                generate_suite(root, options.tests, shape)
                for engine in engines:
                    engine_sides = {
                        f"{label}{name}": [*engine, *args]
                        for label in checkouts
                        for name, args in sides.items()
                    }
                    results = compare(root, engine_sides, options.runs, python=pythons, env=env)
                    title = f"{installation}, {shape} suite, {' '.join(engine) or 'one process'}"
                    for label in checkouts:
                        print_table(
                            f"{label}{title}",
                            {name: results[f"{label}{name}"] for name in sides},
                            "plain pytest",
                        )


if __name__ == "__main__":
    main()
