"""The per-test reseeder without a pytest run: what it finds, when, and what it drops."""

from __future__ import annotations

import random
import sys
from importlib.metadata import EntryPoint
from types import ModuleType, SimpleNamespace

import pytest

from pytest_atom_gates.reseeding import ENTRY_POINT_GROUP, Reseeder

MODULE = "atom_gates_unit_reseeders"


@pytest.fixture
def reseeders(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """A module of reseeders for entry points to load: ``record`` keeps each seed."""
    module = ModuleType(MODULE)
    module.seeds = []  # type: ignore[attr-defined]
    module.record = module.seeds.append  # type: ignore[attr-defined]

    def explode(seed: int) -> None:
        raise ValueError(f"no seed {seed} here")

    module.explode = explode  # type: ignore[attr-defined]
    module.number = 42  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, MODULE, module)
    return module


def _entry_point(name: str, value: str) -> EntryPoint:
    return EntryPoint(name, value, ENTRY_POINT_GROUP)


def test_entry_points_are_found_once_and_called_after_random(reseeders: ModuleType) -> None:
    asked = []

    def find() -> list[EntryPoint]:
        asked.append(True)
        return [_entry_point("record", f"{MODULE}:record")]

    reseeder = Reseeder(pytest.fail, find)
    assert asked == []  # nothing is loaded before the first test
    for seed in (5, 6, 5):
        reseeder.reseed(seed)
        assert reseeder.seed == seed
    assert asked == [True]
    assert reseeders.seeds == [5, 6, 5]
    assert random.random() == random.Random(5).random()


def test_a_library_is_reseeded_from_the_first_reseed_after_its_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "model_bakery.random_gen", raising=False)
    reseeder = Reseeder(pytest.fail, list)
    reseeder.reseed(1)
    stand_in = SimpleNamespace(baker_random=random.Random(0))
    monkeypatch.setitem(sys.modules, "model_bakery.random_gen", stand_in)
    reseeder.reseed(2)
    assert stand_in.baker_random.random() == random.Random(2).random()


def test_a_module_without_the_generator_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    # An old version without it, or a project's own module of the same name.
    monkeypatch.setitem(sys.modules, "polyfactory.constants", SimpleNamespace())
    reseeder = Reseeder(pytest.fail, list)
    reseeder.reseed(1)
    seeds: list[int] = []
    generator = SimpleNamespace(seed=seeds.append)
    monkeypatch.setitem(
        sys.modules, "polyfactory.constants", SimpleNamespace(DEFAULT_RANDOM=generator)
    )
    reseeder.reseed(2)
    assert seeds == []  # not looked for again


def test_reseeders_that_fail_are_dropped_with_one_warning_each(reseeders: ModuleType) -> None:
    warned: list[str] = []
    group = f"(entry point group {ENTRY_POINT_GROUP})"
    reseeder = Reseeder(
        warned.append,
        lambda: [
            _entry_point("missing", "no_such_module_here:reseed"),
            _entry_point("number", f"{MODULE}:number"),
            _entry_point("explode", f"{MODULE}:explode"),
            _entry_point("record", f"{MODULE}:record"),
        ],
    )
    reseeder.reseed(3)
    reseeder.reseed(4)
    assert warned == [
        f"the reseeder missing = no_such_module_here:reseed {group} failed to load, so "
        "atom-gates runs the tests without it: ModuleNotFoundError: No module named "
        "'no_such_module_here'",
        f"the reseeder number = {MODULE}:number {group} loaded 42, not a callable taking the "
        "seed, so atom-gates runs the tests without it",
        f"the reseeder explode = {MODULE}:explode {group} raised ValueError: no seed 3 here on "
        "the seed 3, so atom-gates calls it no more in this run",
    ]
    assert reseeders.seeds == [3, 4]  # the one after it still called, every time
    assert random.random() == random.Random(4).random()


def test_faker_and_factory_boy_end_as_factory_boys_own_reseed_leaves_them() -> None:
    factory_random = pytest.importorskip("factory.random")
    faker_generator = pytest.importorskip("faker.generator")

    def draws() -> list[float]:
        return [factory_random.randgen.random(), faker_generator.random.random()]

    factory_random.reseed_random(9)
    expected = draws()
    factory_random.randgen.state_set = False
    Reseeder(pytest.fail, list).reseed(9)
    assert draws() == expected
    assert factory_random.randgen.state_set is True


def test_entry_points_that_cannot_be_listed_are_a_warning() -> None:
    warned: list[str] = []

    def find() -> list[EntryPoint]:
        raise OSError("unreadable METADATA")

    Reseeder(warned.append, find).reseed(1)
    assert warned == [
        f"the entry points of the group {ENTRY_POINT_GROUP} could not be listed, so atom-gates "
        "runs the tests without them: OSError: unreadable METADATA"
    ]
    assert random.random() == random.Random(1).random()
