"""TQ-01 mechanism: what pytest-randomly reseeds besides ``random`` and NumPy, reseeded per test.

Faker, factory_boy, model_bakery and polyfactory, and every reseeder registered under
pytest-randomly's entry point group: each inner test must draw what the library gives when it is
seeded directly with that test's seed, whatever ran before it and in whichever order.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_atom_gates.ordering import test_seed
from tests.conftest import NO_COVERAGE, Gates, no_traceback

RECORD = """
import json, pytest

@pytest.fixture
def record(request):
    def record(value):
        with open("draws.jsonl", "a") as out:
            out.write(json.dumps([request.node.nodeid, value]) + "\\n")
    return record
"""
"""The inner conftest: ``record(value)`` keeps what a test drew, under its node id."""

GROUP = "pytest_randomly.random_seeder"


def _draws(pytester: pytest.Pytester, seed: int, *args: str) -> dict[str, Any]:
    """What each inner test recorded in one run with ``--atom-gates-seed=seed``."""
    path = pytester.path / "draws.jsonl"
    path.unlink(missing_ok=True)
    result = pytester.runpytest(
        "--atom-gates", NO_COVERAGE, f"--atom-gates-seed={seed}", "-p", "no:randomly", *args
    )
    assert result.ret == 0, result.stdout.str()
    return dict(json.loads(line) for line in path.read_text().splitlines())


def _check_per_test_seeds(
    pytester: pytest.Pytester, expected: Callable[[int, str], Any], *args: str
) -> None:
    """Every test drew what ``expected(its seed, its node id)`` says, under two session seeds
    (two orders), and the same again when a seed is run a second time."""
    for seed in (7, 8):
        drawn = _draws(pytester, seed, *args)
        assert drawn == {nodeid: expected(test_seed(seed, nodeid), nodeid) for nodeid in drawn}
        assert len(drawn) >= 2
        assert _draws(pytester, seed, *args) == drawn


@pytest.mark.compat  # the libraries are installed in tox -e compat
def test_faker_is_reseeded_per_test(pytester: pytest.Pytester) -> None:
    faker = pytest.importorskip("faker")
    pytester.makeconftest(RECORD)
    pytester.makepyfile(
        test_fake="""
        from faker import Faker

        def test_one(record):
            record([Faker().name()])

        def test_more(record):
            fake = Faker()
            record([fake.name() for _ in range(3)])
        """
    )

    def expected(seed: int, nodeid: str) -> list[str]:
        faker.Faker.seed(seed)
        fake = faker.Faker()
        return [fake.name() for _ in range(3 if nodeid.endswith("more") else 1)]

    _check_per_test_seeds(pytester, expected)


@pytest.mark.compat  # the libraries are installed in tox -e compat
def test_the_faker_fixture_is_seeded_with_the_tests_seed(pytester: pytest.Pytester) -> None:
    faker = pytest.importorskip("faker")
    pytester.makeconftest(RECORD)
    pytester.makepyfile(
        test_fixture="""
        def test_one(record, faker):
            record(faker.name())

        def test_two(record, faker):
            record(faker.name())
        """
    )

    def expected(seed: int, nodeid: str) -> str:
        fake = faker.Faker()
        fake.seed_instance(seed)
        return str(fake.name())

    _check_per_test_seeds(pytester, expected)


@pytest.mark.compat  # the libraries are installed in tox -e compat
def test_a_projects_own_faker_seed_fixture_wins(pytester: pytest.Pytester) -> None:
    faker = pytest.importorskip("faker")
    pytester.makeconftest(
        RECORD + "\n@pytest.fixture(autouse=True)\ndef faker_seed():\n    return 1234\n"
    )
    pytester.makepyfile(test_own="def test_own(record, faker):\n    record(faker.name())\n")
    fake = faker.Faker()
    fake.seed_instance(1234)
    assert _draws(pytester, 7) == {"test_own.py::test_own": fake.name()}


@pytest.mark.compat
def test_the_faker_fixture_follows_our_seed_beside_pytest_randomly(
    pytester: pytest.Pytester,
) -> None:
    # pytest-randomly's own faker_seed fixture stays when --atom-gates switches its reseeding
    # off; it would seed the fixture from pytest-randomly's seed, which ours does not replay.
    faker = pytest.importorskip("faker")
    pytest.importorskip("pytest_randomly")
    pytester.makeconftest(RECORD)
    pytester.makepyfile(test_fixture="def test_one(record, faker):\n    record(faker.name())\n")
    path = pytester.path / "draws.jsonl"
    result = pytester.runpytest(
        "--atom-gates", NO_COVERAGE, "--atom-gates-seed=7", "-p", "randomly"
    )
    assert result.ret == 0, result.stdout.str()
    (drawn,) = [json.loads(line) for line in path.read_text().splitlines()]
    fake = faker.Faker()
    fake.seed_instance(test_seed(7, "test_fixture.py::test_one"))
    assert drawn == ["test_fixture.py::test_one", fake.name()]


FACTORIES = """
import factory
import factory.fuzzy

class Point(factory.DictFactory):
    x = factory.fuzzy.FuzzyInteger(0, 10**9)
    label = factory.Faker("name")
"""


@pytest.mark.compat  # the libraries are installed in tox -e compat
def test_factory_boy_is_reseeded_per_test(pytester: pytest.Pytester) -> None:
    factory_random = pytest.importorskip("factory.random")
    pytester.makeconftest(RECORD)
    pytester.makepyfile(
        test_factories=FACTORIES
        + """
def test_one(record):
    record([Point()])

def test_more(record):
    record([Point(), Point()])
"""
    )
    namespace: dict[str, Any] = {}
    exec(FACTORIES, namespace)

    def expected(seed: int, nodeid: str) -> list[dict[str, Any]]:
        factory_random.reseed_random(seed)
        return [namespace["Point"]() for _ in range(2 if nodeid.endswith("more") else 1)]

    _check_per_test_seeds(pytester, expected)


@pytest.mark.compat  # the libraries are installed in tox -e compat
def test_model_bakery_is_reseeded_per_test(pytester: pytest.Pytester) -> None:
    # Its generators need Django's models imported first, not Django's settings (only
    # model_bakery.baker needs configured apps).
    pytest.importorskip("django.db.models")
    random_gen = pytest.importorskip("model_bakery.random_gen")
    pytester.makeconftest(RECORD)
    pytester.makepyfile(
        test_bakery="""
        import django.db.models
        from model_bakery import random_gen

        def test_one(record):
            record([random_gen.gen_string(12)])

        def test_more(record):
            record([random_gen.gen_string(12), random_gen.gen_string(12)])
        """
    )

    def expected(seed: int, nodeid: str) -> list[str]:
        random_gen.baker_random.seed(seed)
        return [random_gen.gen_string(12) for _ in range(2 if nodeid.endswith("more") else 1)]

    _check_per_test_seeds(pytester, expected)


POLYFACTORIES = """
from dataclasses import dataclass
from polyfactory.factories import DataclassFactory

@dataclass
class Point:
    x: int
    label: str

class PointFactory(DataclassFactory[Point]):
    __model__ = Point  # older polyfactory releases cannot infer it
"""


@pytest.mark.compat  # the libraries are installed in tox -e compat
def test_polyfactory_is_reseeded_per_test(pytester: pytest.Pytester) -> None:
    constants = pytest.importorskip("polyfactory.constants")
    faker = pytest.importorskip("faker")
    pytester.makeconftest(RECORD)
    pytester.makepyfile(
        test_poly=POLYFACTORIES
        + """
from dataclasses import astuple

def test_one(record):
    record([astuple(PointFactory.build())])

def test_more(record):
    record([astuple(PointFactory.build()), astuple(PointFactory.build())])
"""
    )
    namespace: dict[str, Any] = {}
    exec(POLYFACTORIES, namespace)

    def expected(seed: int, nodeid: str) -> list[list[Any]]:
        # Its default generator, and Faker's shared one for the strings its Faker draws.
        constants.DEFAULT_RANDOM.seed(seed)
        faker.Faker.seed(seed)
        built = [
            namespace["PointFactory"].build() for _ in range(2 if nodeid.endswith("more") else 1)
        ]
        return [[point.x, point.label] for point in built]

    _check_per_test_seeds(pytester, expected)


def _distribution(folder: Path, entry_points: dict[str, str]) -> None:
    """An installed distribution in ``folder`` (put on sys.path) with reseeder entry points,
    and its module ``fake_reseeders``: ``reseed`` records each seed and counts its loads."""
    info = folder / "fake_reseeders-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-reseeders\nVersion: 1.0\n")
    lines = "".join(f"{name} = {value}\n" for name, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{GROUP}]\n{lines}")
    (folder / "fake_reseeders.py").write_text(
        textwrap.dedent(
            """
            seeds = []
            loads = 0

            def _reseed(seed):
                seeds.append(seed)

            def explode(seed):
                raise ValueError("boom")

            def __getattr__(name):  # entry points load by getattr: count them
                global loads
                if name != "reseed":
                    raise AttributeError(name)
                loads += 1
                return _reseed
            """
        )
    )


RECORD_RESEEDS = """
import fake_reseeders

def test_one(record):
    record([fake_reseeders.seeds[-1], fake_reseeders.loads])

def test_two(record):
    record([fake_reseeders.seeds[-1], fake_reseeders.loads])
"""


def test_entry_point_reseeders_are_loaded_once_and_called_per_test(
    pytester: pytest.Pytester,
) -> None:
    _distribution(pytester.path, {"recorded": "fake_reseeders:reseed"})
    pytester.syspathinsert()
    pytester.makeconftest(RECORD)
    pytester.makepyfile(test_reseeders=RECORD_RESEEDS)
    # The seed the reseeder got last before each test's body is the test's own; its one load
    # served the whole run.
    _check_per_test_seeds(pytester, lambda seed, nodeid: [seed, 1])


@pytest.mark.parametrize(
    ("engine", "warnings_filter"),
    [("single", "default"), ("single", "error"), ("xdist", "default")],
)
def test_a_reseeder_that_fails_is_dropped_with_a_warning(
    pytester: pytest.Pytester, engine: str, warnings_filter: str
) -> None:
    _distribution(
        pytester.path,
        {
            "broken": "no_such_module:reseed",
            "exploding": "fake_reseeders:explode",
            "recorded": "fake_reseeders:reseed",
        },
    )
    pytester.syspathinsert()
    pytester.makeconftest(RECORD)
    pytester.makepyfile(test_reseeders=RECORD_RESEEDS)
    run = Gates(pytester, engine).run(
        "--atom-gates-seed=7", "-p", "no:randomly", "-W", f"{warnings_filter}::pytest.PytestWarning"
    )
    # The run's verdict is the tests': the reseeders that work still reseed every test, in
    # every process that runs tests.
    assert run.ret == 0, run.output
    assert no_traceback(run.output)
    assert run.outcomes() == {
        "test_reseeders.py::test_one": "passed",
        "test_reseeders.py::test_two": "passed",
    }
    lines = (pytester.path / "draws.jsonl").read_text().splitlines()
    draws = dict(json.loads(line) for line in lines)
    assert draws == {nodeid: [test_seed(7, nodeid), 1] for nodeid in draws}
    run.result.stdout.fnmatch_lines(
        [
            "*PytestConfigWarning: the reseeder broken = no_such_module:reseed (entry point group "
            f"{GROUP}) failed to load, so atom-gates runs the tests without it: "
            "ModuleNotFoundError: No module named 'no_such_module'",
        ]
    )
    # Once per process, before the first test it ran (under xdist, a worker's first).
    first = next(iter(draws)) if engine == "single" else None
    run.result.stdout.fnmatch_lines(
        [
            "*PytestConfigWarning: the reseeder exploding = fake_reseeders:explode (entry point "
            f"group {GROUP}) raised ValueError: boom on the seed "
            f"{test_seed(7, first) if first else '*'}, so atom-gates calls it no more in this run",
        ]
    )
    if first:
        assert run.output.count("the reseeder exploding") == 1
