"""TQ-01 mechanism: the global random generators a test may draw from, reseeded per test.

Before each attempt of a test, and again before its body when its fixtures ran code, the test
protocol reseeds from the test's seed what pytest-randomly reseeds: Python's ``random``, the
global generators of NumPy (its legacy state), Faker, factory_boy, model_bakery and polyfactory,
and every callable registered under pytest-randomly's entry point group
``pytest_randomly.random_seeder``, so that reseeders written for it work unchanged. The
instance Faker's ``faker`` fixture returns is seeded with the test's seed too.

This runs for every test, so a test only calls what was found before: a library is looked for
in ``sys.modules`` (a library no test imported costs a dictionary lookup, and is never imported
here), the entry points are loaded once, at the first reseed. A reseeder that fails to load or
raises is dropped with a warning: it never stops a run nor changes its verdict.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Generator, Iterable
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType
from typing import Any

import pytest

from pytest_atom_gates.config_warnings import warn_at_config

ENTRY_POINT_GROUP = "pytest_randomly.random_seeder"
"""pytest-randomly's: each entry point loads to a callable taking the seed, an int."""

Seeder = Callable[[int], object]
"""Reseeds one generator from a test's seed."""
Warn = Callable[[str], None]

_FAKER_PLUGIN = "faker.contrib.pytest.plugin"
_RANDOMLY = "pytest_randomly"


def _numpy(numpy: ModuleType) -> Seeder:
    return numpy.random.seed  # type: ignore[no-any-return]  # NumPy 2 imports numpy.random here


def _faker(faker: ModuleType) -> Seeder:
    # Faker.seed: the generator every Faker instance shares until seeded on its own, marked
    # seeded (so that Faker's binary() draws from it too, not from os.urandom).
    return faker.Faker.seed  # type: ignore[no-any-return]


def _factory_boy(factory_random: ModuleType) -> Seeder:
    # What factory.random.reseed_random(seed) leaves, at a quarter of its cost (it seeds a copy
    # and copies its state twice): its generator seeded and marked so. Faker's shared generator,
    # which reseed_random sets too, is Faker's own entry (factory_boy imports Faker).
    generator = factory_random.randgen

    def reseed(seed: int) -> None:
        generator.seed(seed)
        generator.state_set = True

    return reseed


def _model_bakery(random_gen: ModuleType) -> Seeder:
    return random_gen.baker_random.seed  # type: ignore[no-any-return]


def _polyfactory(constants: ModuleType) -> Seeder:
    return constants.DEFAULT_RANDOM.seed  # type: ignore[no-any-return]


LIBRARIES: dict[str, tuple[str, Callable[[ModuleType], Seeder]]] = {
    "numpy": ("NumPy", _numpy),
    "faker": ("Faker", _faker),
    "factory.random": ("factory_boy", _factory_boy),
    "model_bakery.random_gen": ("model_bakery", _model_bakery),
    "polyfactory.constants": ("polyfactory", _polyfactory),
}
"""The module that holds each library's generator (it exists once that module is imported):
the library's name, and how to reach the generator's reseeding from the module."""


def _group() -> Iterable[EntryPoint]:
    return entry_points(group=ENTRY_POINT_GROUP)


class Reseeder:
    """Reseeds every global generator a test may draw from, all from the test's seed.

    ``warn`` is given each problem's text; ``find_entry_points`` lists the entry points of the
    group, asked once, at the first reseed.
    """

    def __init__(
        self, warn: Warn, find_entry_points: Callable[[], Iterable[EntryPoint]] = _group
    ) -> None:
        self.seed: int | None = None
        """The seed of the last reseed: the running test's."""
        self._warn = warn
        self._find_entry_points: Callable[[], Iterable[EntryPoint]] | None = find_entry_points
        self._missing = dict(LIBRARIES)
        """The libraries not imported yet, by the module that holds their generator."""
        self._libraries: list[tuple[str, Seeder]] = [("the reseeder of random", random.seed)]
        self._entry_points: list[tuple[str, Seeder]] = []
        self._seeders = list(self._libraries)
        """What every reseed calls: ``random`` and the libraries found, then the entry points;
        each with the words that name it in a warning."""

    def reseed(self, seed: int) -> None:
        """Reseed every generator found from ``seed``: the per-test call."""
        self.seed = seed
        # One set operation in C per test: whether a library's module has been imported since.
        if self._find_entry_points is not None or self._missing.keys() & sys.modules.keys():
            self._look_for_libraries()
        for name, seeder in self._seeders:
            try:
                seeder(seed)
            except Exception as exc:  # a third party's code: never the run's end
                self._drop(seeder)
                self._warn(
                    f"{name} raised {_exception(exc)} on the seed {seed}, so atom-gates calls "
                    "it no more in this run"
                )

    def _look_for_libraries(self) -> None:
        found = False
        if self._find_entry_points is not None:
            self._entry_points = self._load(self._find_entry_points)
            self._find_entry_points = None
            found = True
        modules = sys.modules
        imported = [name for name in self._missing if modules.get(name) is not None]
        for module_name in imported:
            library, reach = self._missing.pop(module_name)
            try:
                self._libraries.append((f"the reseeder of {library}", reach(modules[module_name])))
            except AttributeError:
                continue  # a version without the generator, or a module of the same name
            found = True
        if found:
            self._seeders = [*self._libraries, *self._entry_points]

    def _load(self, find: Callable[[], Iterable[EntryPoint]]) -> list[tuple[str, Seeder]]:
        try:
            found = list(find())
        except Exception as exc:  # unreadable metadata of some installed distribution
            self._warn(
                f"the entry points of the group {ENTRY_POINT_GROUP} could not be listed, so "
                f"atom-gates runs the tests without them: {_exception(exc)}"
            )
            return []
        loaded = []
        for entry_point in found:
            name = (
                f"the reseeder {entry_point.name} = {entry_point.value} "
                f"(entry point group {ENTRY_POINT_GROUP})"
            )
            try:
                seeder = entry_point.load()
            except Exception as exc:  # a broken install must not end the run
                self._warn(
                    f"{name} failed to load, so atom-gates runs the tests without it: "
                    f"{_exception(exc)}"
                )
                continue
            if not callable(seeder):
                self._warn(
                    f"{name} loaded {seeder!r}, not a callable taking the seed, so atom-gates "
                    "runs the tests without it"
                )
                continue
            loaded.append((name, seeder))
        return loaded

    def _drop(self, seeder: Seeder) -> None:
        self._libraries = [entry for entry in self._libraries if entry[1] is not seeder]
        self._entry_points = [entry for entry in self._entry_points if entry[1] is not seeder]
        self._seeders = [*self._libraries, *self._entry_points]


def _exception(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# pragma: no mutate start (pytest glue, reached by the pytester tests only)
class FakerFixtureSeed:
    """Seeds the instance Faker's ``faker`` fixture returns with the test's seed, as
    pytest-randomly's ``faker_seed`` fixture does (Faker's own default is 0 for every test).

    A ``faker_seed`` fixture of the project's own wins, as it does over pytest-randomly's;
    pytest-randomly's, left in place when its reseeding is switched off, does not (it follows
    pytest-randomly's seed, which ``--atom-gates-seed`` does not replay).
    """

    def __init__(self, reseeder: Reseeder) -> None:
        self.reseeder = reseeder

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(
        self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
    ) -> Generator[None, object, object]:
        value = yield
        seed = self.reseeder.seed
        if (
            fixturedef.argname == "faker"
            and seed is not None
            and getattr(fixturedef.func, "__module__", None) == _FAKER_PLUGIN
            and not _own_faker_seed(request)
        ):
            value.seed_instance(seed)  # type: ignore[attr-defined]
        return value


def _own_faker_seed(request: pytest.FixtureRequest) -> bool:
    """Whether the test has a ``faker_seed`` fixture that is not pytest-randomly's."""
    if "faker_seed" not in request.fixturenames:
        return False
    info = getattr(request.node, "_fixtureinfo", None)
    definitions = info.name2fixturedefs.get("faker_seed") if info is not None else None
    if not definitions:
        return True
    return getattr(definitions[-1].func, "__module__", None) != _RANDOMLY


def session_reseeder(config: pytest.Config) -> Reseeder:
    """The reseeder of a process that runs tests, its problems shown as pytest warnings; the
    ``faker`` fixture is seeded too where Faker's pytest plugin is loaded."""
    reseeder = Reseeder(lambda text: warn_at_config(config, text, stacklevel=4))
    if _FAKER_PLUGIN in sys.modules:  # however it was loaded: pytest11 entry point or -p
        config.pluginmanager.register(FakerFixtureSeed(reseeder), "atom-gates-faker-seed")
    return reseeder


# pragma: no mutate end
