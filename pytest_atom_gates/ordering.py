"""TQ-01 mechanism: the session seed, the shuffled order and each test's seed.

The order is a sort on keys hashed from ``seed`` and node ids, level by level (file, class,
function). A key depends only on the seed and the node's own id, so the same seed on a subset of
the tests keeps their relative order: a failing order can be replayed with just the tests that ran
before the failure. Each test's global RNGs are reseeded from its seed by ``reseeding``.
"""

from __future__ import annotations

import hashlib
import os
import sys
import zlib
from collections.abc import Mapping, Sequence, Set

import pytest

from pytest_atom_gates.settings import MAX_SEED

SEED_CACHE_KEY = "atom_gates/seed"
KEEP_ORDER_MARKER = "atom_gates_keep_order"


# pragma: no mutate start (pytest glue, reached by the pytester tests only)
def make_seed() -> int:
    return int.from_bytes(os.urandom(4), "big")  # what secrets.randbits(32) draws


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
    unreadable = object()
    stored = cache.get(SEED_CACHE_KEY, unreadable)
    if stored is unreadable and cache._getvaluepath(SEED_CACHE_KEY).exists():
        raise pytest.UsageError(
            f"--atom-gates-seed=last: the cache entry {SEED_CACHE_KEY!r} in {cache._cachedir} "
            f"cannot be read (not JSON), so it holds no seed. "
            "Pass --atom-gates-seed=random to replace it, or clear it with --cache-clear."
        )
    if stored is unreadable or stored is None:
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


# pragma: no mutate end


def _digest(seed: int, key: str, size: int) -> int:
    return int.from_bytes(
        hashlib.blake2b(f"{seed}::{key}".encode(), digest_size=size).digest(), "big"
    )


def test_seed(seed: int, nodeid: str) -> int:
    """The RNG seed of one test: fixed by the session seed and the node id, in 0..2**32-1.

    CRC-32 rather than the order's hash: it is computed for every test, and only has to spread
    neighbouring node ids apart, not resist anyone.
    """
    return zlib.crc32(nodeid.encode(), seed)


test_seed.__test__ = False  # type: ignore[attr-defined]  # not a test, despite the name


def shuffled_order(
    chains: Sequence[Sequence[str]], seed: int, keep_order: Set[str] = frozenset()
) -> list[int]:
    """The shuffled positions of tests given by their chains of node ids (file, classes, test).

    Each level's key is hashed from the seed and that node's id alone; below a node named in
    ``keep_order`` the original order is kept instead. Returns indices into ``chains``.
    """
    hashed: dict[str, int] = {}
    keys: list[tuple[int, ...]] = []
    if not keep_order:  # the usual case, per test: a hash per node, each node hashed once
        known = hashed.get
        for chain in chains:
            levels = []
            for nodeid in chain:
                level = known(nodeid)
                if level is None:
                    level = hashed[nodeid] = _digest(seed, nodeid, 8)
                levels.append(level)
            keys.append(tuple(levels))
        return sorted(range(len(chains)), key=keys.__getitem__)
    first_seen: dict[str, int] = {}
    for index, chain in enumerate(chains):
        key: list[int] = []
        ordered = False
        for nodeid in chain:
            first_seen.setdefault(nodeid, index)
            if ordered:
                key.append(first_seen[nodeid])
            else:
                level = hashed.get(nodeid)
                if level is None:
                    level = hashed[nodeid] = _digest(seed, nodeid, 8)
                key.append(level)
            ordered = ordered or nodeid in keep_order
        keys.append(tuple(key))
    return sorted(range(len(chains)), key=keys.__getitem__)


# pragma: no mutate start (pytest glue, reached by the pytester tests only)
def shuffle_items(
    items: list[pytest.Item], seed: int, plain_ids: Mapping[str, str] | None = None
) -> None:
    """Shuffle ``items`` in place: files, then classes within a file, then tests within those.

    Below a file or class marked ``atom_gates_keep_order`` the file order is kept. A test is
    placed by its ``plain_ids`` entry, when it has one (its id without xdist's ``@group``).
    The keys are ``shuffled_order``'s, built here without a chain per test: the levels above a
    test are its parent's, hashed once per module or class.
    """
    plain = plain_ids or {}
    keep_order: set[str] = set()
    # The parent kept alive with its chain of node ids and their hashes.
    above: dict[int, tuple[object, list[str], tuple[int, ...]]] = {}
    keys: list[tuple[int, ...]] = []
    for item in items:
        parent = item.parent
        known = above.get(id(parent))
        if known is None:
            chain = _chain_of(parent, keep_order)
            hashes = tuple(_digest(seed, nodeid, 8) for nodeid in chain)
            known = above[id(parent)] = (parent, chain, hashes)
        nodeid = item.nodeid
        if plain:
            nodeid = plain.get(nodeid, nodeid)
        keys.append((*known[2], _digest(seed, nodeid, 8)))
    if keep_order:  # marks are rare: the general form, from each test's chain
        chains = [
            [*above[id(item.parent)][1], plain.get(item.nodeid, item.nodeid)] for item in items
        ]
        order = shuffled_order(chains, seed, keep_order)
    else:
        order = sorted(range(len(keys)), key=keys.__getitem__)
    items[:] = [items[i] for i in order]


def _chain_of(parent: pytest.Collector | None, keep_order: set[str]) -> list[str]:
    """The node ids from a test's file down to ``parent``; those marked to keep their order
    are added to ``keep_order``."""
    nodes = parent.listchain() if parent is not None else []
    start = next((i for i, node in enumerate(nodes) if isinstance(node, pytest.File)), 1)
    chain = []
    for node in nodes[start:]:
        chain.append(node.nodeid)
        if any(mark.name == KEEP_ORDER_MARKER for mark in node.own_markers):
            keep_order.add(node.nodeid)
    return chain


def seed_hypothesis_tests(config: pytest.Config, items: Sequence[pytest.Item], seed: int) -> None:
    """Give every Hypothesis test the session seed, as ``--hypothesis-seed`` would.

    A ``--hypothesis-seed`` given by the user, and a test's own ``@hypothesis.seed``, win.
    Hypothesis is only looked at when the test modules imported it.
    """
    if "hypothesis" not in sys.modules or config.getoption("hypothesis_seed", None) is not None:
        return
    from hypothesis import is_hypothesis_test
    from hypothesis import seed as hypothesis_seed

    seen: set[int] = set()
    for item in items:
        function = getattr(item, "function", None)
        if function is None or id(function) in seen:
            continue
        seen.add(id(function))
        if (
            is_hypothesis_test(function)
            and getattr(function, "_hypothesis_internal_use_seed", None) is None
        ):
            hypothesis_seed(seed)(function)


# pragma: no mutate end
