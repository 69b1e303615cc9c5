"""TQ-01 mechanism: the session seed, the shuffled order and the per-test reseeding.

The order is a sort on keys hashed from ``seed`` and node ids, level by level (file, class,
function). A key depends only on the seed and the node's own id, so the same seed on a subset of
the tests keeps their relative order: a failing order can be replayed with just the tests that ran
before the failure.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import sys
from collections.abc import Sequence

import pytest

from pytest_atom_gates.settings import MAX_SEED

SEED_CACHE_KEY = "atom_gates/seed"
KEEP_ORDER_MARKER = "atom_gates_keep_order"


def make_seed() -> int:
    return secrets.randbits(32)


def resolve_seed(requested: int | str, cache: pytest.Cache | None) -> int:
    """Turn ``--atom-gates-seed`` into a seed; ``last`` reads the previous run's from the cache."""
    if isinstance(requested, int):
        return requested
    if requested == "random":
        return make_seed()
    if cache is None:
        raise pytest.UsageError(
            "--atom-gates-seed=last needs pytest's cache, which is disabled "
            "(-p no:cacheprovider). Accepted instead: a seed from 0 to "
            f"{MAX_SEED}, or 'random'."
        )
    stored = cache.get(SEED_CACHE_KEY, None)
    if stored is None:
        raise pytest.UsageError(
            f"--atom-gates-seed=last: no seed recorded yet in the cache ({cache._cachedir}). "
            "Run once with --atom-gates, or pass a seed from 0 to "
            f"{MAX_SEED}."
        )
    if isinstance(stored, bool) or not isinstance(stored, int) or not 0 <= stored <= MAX_SEED:
        raise pytest.UsageError(
            f"--atom-gates-seed=last: the cache entry {SEED_CACHE_KEY!r} in {cache._cachedir} "
            f"holds {stored!r}, not a seed from 0 to {MAX_SEED}. "
            "Pass --atom-gates-seed=random to replace it, or clear it with --cache-clear."
        )
    return stored


def _digest(seed: int, key: str, size: int) -> int:
    return int.from_bytes(hashlib.blake2b(f"{seed}::{key}".encode(), digest_size=size).digest())


def test_seed(seed: int, nodeid: str) -> int:
    """The RNG seed of one test: fixed by the session seed and the node id, in 0..2**32-1."""
    return _digest(seed, nodeid, 4)


test_seed.__test__ = False  # type: ignore[attr-defined]  # not a test, despite the name


def order_key(seed: int, chain: Sequence[str]) -> tuple[int, ...]:
    """Sort key of a node given the ids of its chain (file, classes, the node itself)."""
    return tuple(_digest(seed, nodeid, 8) for nodeid in chain)


def shuffle_items(items: list[pytest.Item], seed: int) -> None:
    """Shuffle ``items`` in place: files, then classes within a file, then tests within those.

    Below a file or class marked ``atom_gates_keep_order`` the file order is kept.
    """
    first_seen: dict[str, int] = {}
    hashed: dict[str, int] = {}
    keeps_order: dict[str, bool] = {}

    def level_key(node: pytest.Item | pytest.Collector, ordered: bool) -> int:
        nodeid = node.nodeid
        if ordered:
            return first_seen[nodeid]
        key = hashed.get(nodeid)
        if key is None:
            key = hashed[nodeid] = _digest(seed, nodeid, 8)
        return key

    def marks_keep_order(node: pytest.Item | pytest.Collector) -> bool:
        nodeid = node.nodeid
        keep = keeps_order.get(nodeid)
        if keep is None:
            keep = keeps_order[nodeid] = any(
                mark.name == KEEP_ORDER_MARKER for mark in node.own_markers
            )
        return keep

    keys: list[tuple[int, ...]] = []
    for index, item in enumerate(items):
        chain = item.listchain()
        start = next((i for i, node in enumerate(chain) if isinstance(node, pytest.File)), 1)
        key: list[int] = []
        ordered = False
        for node in chain[start:]:
            first_seen.setdefault(node.nodeid, index)
            key.append(level_key(node, ordered))
            ordered = ordered or marks_keep_order(node)
        keys.append(tuple(key))
    order = sorted(range(len(items)), key=keys.__getitem__)
    items[:] = [items[i] for i in order]


def reseed_globals(seed: int) -> None:
    """Reseed the global RNGs a test may use: ``random`` and NumPy's legacy global state."""
    random.seed(seed)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy_random = getattr(numpy, "random", None)
        if numpy_random is not None:
            numpy_random.seed(seed)


def seed_hypothesis_tests(items: Sequence[pytest.Item], seed: int) -> None:
    """Give every Hypothesis test the session seed, as ``--hypothesis-seed`` would.

    Tests that carry their own ``@hypothesis.seed`` keep it. Hypothesis is only looked at when the
    test modules imported it.
    """
    if "hypothesis" not in sys.modules:
        return
    from hypothesis import is_hypothesis_test
    from hypothesis import seed as hypothesis_seed

    seen: set[int] = set()
    for item in items:
        function = getattr(item, "function", None)
        if function is None or id(function) in seen:
            continue
        seen.add(id(function))
        if is_hypothesis_test(function) and getattr(
            function, "_hypothesis_internal_use_seed", None
        ) is None:
            hypothesis_seed(seed)(function)
