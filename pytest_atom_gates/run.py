"""What every part of one ``--atom-gates`` run shares, and which role this process plays.

The session, the features (reruns, coverage) and the outputs all read this; it imports none of
them, so that each of them can import it.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pytest

from pytest_atom_gates.cache import PluginCache
from pytest_atom_gates.clock import Stopwatch
from pytest_atom_gates.settings import Settings
from pytest_atom_gates.signals import SigtermAsInterrupt

if TYPE_CHECKING:
    from pytest_atom_gates.changes import Base, ChangedLines
    from pytest_atom_gates.gates.base import GateVerdict, RunFacts
    from pytest_atom_gates.history import FlakeHistory
    from pytest_atom_gates.new_tests import NewTestPlan
    from pytest_atom_gates.shard import ShardFacts

WORKER_SEED_KEY = "atom_gates_seed"
WORKER_BUDGET_KEY = "atom_gates_budget_left"
FILE_ORDER_KEY = "atom_gates_file_order"
LATE_GATE_HOOKS_KEY = "atom_gates_late_gate_hooks"
DESELECTED_KEY = "atom_gates_deselected"
PLAIN_IDS_KEY = "atom_gates_plain_ids"
COLLECTED_FILES_KEY = "atom_gates_collected_files"


@dataclass(eq=False, repr=False)  # one per run, known by identity: no generated code
class GatesRun:
    """What every part of one run shares, kept in ``config.stash``."""

    settings: Settings
    seed: int
    clock: Stopwatch
    budget_left: float
    """Seconds of the session budget left when this process started."""
    cache: PluginCache = field(default_factory=lambda: PluginCache(None))
    """The plugin's cache folder; on the controller only, as workers never write the cache."""
    history: FlakeHistory | None = None
    """The flake history in that folder, or None without one: one object for the run, so
    that what the start read is not parsed again when the end records."""
    notes: list[str] = field(default_factory=list)
    sigterm: SigtermAsInterrupt = field(default_factory=SigtermAsInterrupt)
    durations: dict[str, float] = field(default_factory=dict)
    """A shard's recorded test durations, which it splits by."""
    shard: ShardFacts | None = None
    """This process's part of a CI shard split, once collected."""
    shard_deselected: int = 0
    file_order: list[str] | None = None
    """The selected tests in collection order, before the shuffle."""
    collected_files: dict[str, str] = field(default_factory=dict)
    """Every file collected, by node id, in collection order, those whose tests were all
    deselected included: what the process imported before its first test. TQ-01's replays of
    a process collect them too. Each with its path: a file outside the root directory has a
    node id that is no path from there. Workers send theirs."""
    started: bool = False
    """Set once start-up is over: the gates are added, the initial conftests loaded."""
    change_base: Base | None = None
    """Where the change starts (``--atom-gates-changed-since``), where the run judges."""
    changed_files: tuple[str, ...] = ()
    """Every file the change touches, deleted ones included, relative to the rootdir."""
    change: ChangedLines | None = None
    """What changed since the base, line by line, for TQ-06; None without a base, or when
    TQ-06 or TQ-05 is off."""
    new_tests: NewTestPlan | None = None
    """What counts as new and how much repeating it may cost (TQ-04); None: nothing is."""
    environment: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    """The environment as the session started, before any test could change it: TQ-01's checks
    replay the tests in it, not in what the tests left behind."""
    path: list[str] = field(default_factory=lambda: list(sys.path))
    """``sys.path`` as the session started: whether the checks start pytest as a module."""
    plain_ids: dict[str, str] = field(default_factory=dict)
    """Under ``--dist loadgroup``: the node ids pytest-xdist gave an ``@group`` suffix, and
    the ids without it. The seeds, the shuffle, quarantine matching and the checks use the
    plain ones, so a run draws and decides as one process does. Workers send theirs."""
    deselected: list[str] = field(default_factory=list)
    """Tests deselected (``-m``, ``-k``, ``--deselect``), kept only with a quarantine file:
    an entry naming one of them still matches a test. Workers send theirs."""
    kept_bytecode: Path | None = None
    """Where the run keeps its assertion rewriting for TQ-01's checks (``kept_bytecode``)."""
    late_gate_hooks: list[str] = field(default_factory=list)
    """Conftests loaded after start-up (during collection) that implement
    ``pytest_atom_gates_add_gates``: their gates are not in the run. Workers send theirs."""


RUN_KEY = pytest.StashKey[GatesRun]()


def is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def is_xdist_controller(config: pytest.Config) -> bool:
    return (
        not is_xdist_worker(config)
        and config.getoption("dist", "no") != "no"
        and bool(config.getoption("tx", None))
    )


class Judged(Protocol):
    """The controller as the outputs for other tools see it: the facts and verdicts, once judged."""

    config: pytest.Config
    facts: RunFacts | None
    verdicts: list[GateVerdict] | None
