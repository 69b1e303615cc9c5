"""CI shards: the selected tests split into N disjoint parts, the same on every machine.

Every machine collects the whole suite and keeps its own part, so the split must be a pure
function of what they all share: the collection, the seed and the recorded durations. Tests are
balanced by duration (longest processing time first: the heaviest part goes to the lightest
shard); a test without a recorded duration weighs as much as the recorded average, so that
without any durations the split is by count. A module stays whole, its module-scoped fixtures set
up once, unless it alone outweighs a shard's share, or keeping it whole leaves the shards
unbalanced or one of them empty: then its tests are split, and the report says which modules.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from pytest_atom_gates.gates.base import GateVerdict, Verdict
from pytest_atom_gates.ledger import module_of

if TYPE_CHECKING:
    import pytest

WHOLE_SUITE_GATES = ("TQ-02", "TQ-05", "TQ-06")
"""Gates whose figure only means something over the whole suite: a shard defers them."""

BALANCE = 1.05
"""A module is split when the heaviest shard would otherwise carry more than this times the
mean."""


@dataclass(frozen=True)
class ShardSpec:
    """Shard ``index`` (1-based) of ``total``, and where that was set."""

    index: int
    total: int
    source: str = "--atom-gates-shard"

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"


@dataclass
class Split:
    """The parts, each in collection order, and the modules whose tests were spread."""

    shards: list[list[str]]
    split_modules: list[str] = field(default_factory=list)


def _tie_break(seed: int, key: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8).digest(), "big")


def split_tests(
    tests: Sequence[str], durations: Mapping[str, float], total: int, seed: int
) -> Split:
    """Split ``tests`` (in collection order) into ``total`` parts; none is empty while there are
    at least ``total`` tests."""
    known = [durations[t] for t in tests if t in durations]
    default = sum(known) / len(known) if known else 1.0
    # A zero duration still weighs something, so that every shard gets tests.
    weight = {t: max(durations.get(t, default), 1e-6) for t in tests}
    modules: dict[str, list[str]] = {}
    for test in tests:
        modules.setdefault(module_of(test), []).append(test)
    share = sum(weight.values()) / total
    spread = {m for m, members in modules.items() if sum(weight[t] for t in members) > share}
    while True:
        parts = _assign(modules, spread, weight, total, seed)
        load, heaviest = max(parts, key=lambda part: part[0])
        if len(tests) >= total and any(not members for _, members in parts):
            looked_at = [key for _, members in parts for key in members]  # fill the empty one
        elif load > share * BALANCE:
            looked_at = heaviest
        else:
            break
        whole = [key for key in looked_at if key in modules and key not in spread]
        whole = [key for key in whole if len(modules[key]) > 1]
        if not whole:
            break
        # The heaviest module that stays whole is spread, and the shards assigned again.
        spread.add(max(whole, key=lambda m: (sum(weight[t] for t in modules[m]), m)))
    position = {test: i for i, test in enumerate(tests)}
    shards = []
    for _, members in parts:
        chosen_tests = [t for key in members for t in modules.get(key, [key])]
        shards.append(sorted(chosen_tests, key=position.__getitem__))
    split_modules = [m for m in modules if m in spread and len(modules[m]) > 1]
    return Split(shards, split_modules)


def _assign(
    modules: Mapping[str, list[str]],
    spread: set[str],
    weight: Mapping[str, float],
    total: int,
    seed: int,
) -> list[tuple[float, list[str]]]:
    """Longest processing time first: each item, heaviest first, to the lightest shard."""
    items: list[tuple[str, float]] = []
    for module, tests in modules.items():
        if module in spread:
            items += [(test, weight[test]) for test in tests]
        else:
            items.append((module, sum(weight[test] for test in tests)))
    items.sort(key=lambda item: (-item[1], _tie_break(seed, item[0])))
    loads = [0.0] * total
    counts = [0] * total
    members: list[list[str]] = [[] for _ in range(total)]
    for key, heavy in items:
        lightest = min(range(total), key=lambda i: (loads[i], counts[i], i))
        loads[lightest] += heavy
        counts[lightest] += 1
        members[lightest].append(key)
    return list(zip(loads, members, strict=True))


SHARED_SEED_ENV = ("GITHUB_RUN_ID", "CI_PIPELINE_ID", "BUILDKITE_BUILD_ID", "CIRCLE_WORKFLOW_ID")
"""Where a CI names the run that all its shard jobs belong to (GitHub Actions, GitLab CI,
Buildkite, CircleCI): the same value on every shard, and a new one on every run."""


def shared_seed(environ: Mapping[str, str], spec: ShardSpec) -> tuple[int, str]:
    """The seed of a shard left at ``random``: one its sibling shards share, from the CI run.

    A seed of each shard's own would split the suite differently on every machine, and the
    merge would refuse the shards; so outside a known CI run this is a usage error.
    """
    import pytest

    from pytest_atom_gates.settings import MAX_SEED

    for name in SHARED_SEED_ENV:
        value = environ.get(name, "").strip()
        if value:
            digest = hashlib.blake2b(value.encode(), digest_size=8).digest()
            return int.from_bytes(digest, "big") % (MAX_SEED + 1), name
    raise pytest.UsageError(
        f"{spec.source}={spec}: every shard must use the same seed, and 'random' gives each its "
        f"own. Accepted: --atom-gates-seed=N with the same N on every shard (the CI run's id, "
        f"say), or run where one of {', '.join(SHARED_SEED_ENV)} is set."
    )


SHARD_KEY = "shard"
"""Where the shard's facts go: ``RunFacts.extras``, the JSON report, an xdist worker's output."""


@dataclass
class ShardFacts:
    """What a shard knows of the split, for ``atom-gates merge`` to check the shards against."""

    index: int
    total: int
    collection: list[str]
    """Every selected test, in collection order, before the split: the whole the shards share."""
    assigned: list[str]
    split_modules: list[str]
    durations_known: int
    durations_digest: str

    def to_payload(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "total": self.total,
            "tests": len(self.collection),
            "assigned": len(self.assigned),
            "split_modules": list(self.split_modules),
            "durations": {"known": self.durations_known, "digest": self.durations_digest},
            "collection": list(self.collection),
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any], assigned: Sequence[str]) -> ShardFacts:
        """The facts from ``to_payload``'s output (an xdist worker's), with the tests that
        this shard was found to hold."""
        durations = payload["durations"]
        return cls(
            int(payload["index"]),
            int(payload["total"]),
            list(payload["collection"]),
            list(assigned),
            list(payload["split_modules"]),
            int(durations["known"]),
            str(durations["digest"]),
        )


def plan(
    spec: ShardSpec, collection: Sequence[str], durations: Mapping[str, float], seed: int
) -> ShardFacts:
    """This shard's part of ``collection``, and the facts that let the merge check it."""
    from pytest_atom_gates.durations import durations_digest

    split = split_tests(collection, durations, spec.total, seed)
    return ShardFacts(
        spec.index,
        spec.total,
        list(collection),
        split.shards[spec.index - 1],
        split.split_modules,
        sum(1 for test in collection if test in durations),
        durations_digest(durations, collection),
    )


# pragma: no mutate start (pytest glue, reached by the pytester tests only)
def select_shard(
    config: pytest.Config,
    items: list[pytest.Item],
    spec: ShardSpec,
    durations: Mapping[str, float],
    seed: int,
) -> ShardFacts:
    """Keep this shard's tests in ``items``; the others are deselected, as ``-k`` would."""
    facts = plan(spec, [item.nodeid for item in items], durations, seed)
    mine = set(facts.assigned)
    kept = [item for item in items if item.nodeid in mine]
    others = [item for item in items if item.nodeid not in mine]
    if others:
        config.hook.pytest_deselected(items=others)
    items[:] = kept
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller never collects
        workeroutput[SHARD_KEY] = facts.to_payload()
    return facts


def defer_whole_suite(verdict: GateVerdict, facts: ShardFacts) -> GateVerdict:
    """A whole-suite gate's verdict on one shard: judged at merge; this shard's figure kept."""
    if verdict.gate not in WHOLE_SUITE_GATES or verdict.verdict is Verdict.OFF:
        return verdict
    alone = verdict.verdict.value + (f": {verdict.reason}" if verdict.reason else "")
    reason = (
        f"judged by atom-gates merge over all {facts.total} shards; "
        f"shard {facts.index} alone: {alone}"
    )
    return replace(verdict, verdict=Verdict.DEFERRED, reason=reason)


# pragma: no mutate end
