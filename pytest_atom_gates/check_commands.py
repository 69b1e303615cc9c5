"""How TQ-01's checks start a child pytest, and how a reproduce command reads.

A child repeats the session's invocation (its options, less those that select tests or that
the child replaces; its environment as the session started; started as the session was), with
the run's seed, on one process; a reproduce command is the same command as a user would paste.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from pytest_atom_gates.invocation import ARGS_FILES, Invocation, Launcher
from pytest_atom_gates.questions import INLINE_LIMIT, ChildSpec, selection_args
from pytest_atom_gates.settings import SHARD_ENV

_CHILD_ENV_DROP = (
    "PYTEST_XDIST_WORKER",
    "PYTEST_XDIST_WORKER_COUNT",
    "PYTEST_XDIST_TESTRUNUID",
    "PYTEST_CURRENT_TEST",
    # The child is given these options on its command line, less what it must not repeat.
    "PYTEST_ADDOPTS",
    "GITHUB_ACTIONS",
    "GITHUB_STEP_SUMMARY",
    # Set by coverage.py's subprocess measurement of this run, which has ended by now: the
    # child's data would only be left behind beside the combined data file.
    "COVERAGE_PROCESS_CONFIG",
    # A CI shard's number selects tests; the child names its own (see SELECTION_DESTS).
    *SHARD_ENV,
)


def _engine_overrides(config: pytest.Config) -> list[str]:
    """Switch off parallelism and coverage so the child runs exactly one process."""
    overrides = []
    if config.pluginmanager.hasplugin("xdist"):
        overrides += ["-n", "0"]
    if config.pluginmanager.hasplugin("_cov"):
        overrides.append("--no-cov")
    return overrides


def _args_file_name(nodeid: str) -> str:
    """A file name for ``nodeid``'s reproduce arguments, one per node id.

    The readable part drops punctuation (``test_x-y.py`` and ``test_x_y.py`` read alike), so a
    hash of the whole node id tells them apart.
    """
    readable = "".join(c if c.isalnum() else "_" for c in nodeid)[-60:]
    digest = hashlib.blake2b(nodeid.encode(), digest_size=6).hexdigest()
    return f"reproduce-{readable}-{digest}.txt"


class CheckCommands:
    """The commands of one session's checks."""

    def __init__(
        self,
        config: pytest.Config,
        seed: int,
        *,
        extra_args: Sequence[str] = (),
        environment: Mapping[str, str] | None = None,
        path: Sequence[str] | None = None,
    ) -> None:
        self.config = config
        self.seed = seed
        self.environment = dict(os.environ if environment is None else environment)
        self.launcher = Launcher.of_session(
            config.invocation_params.dir, sys.path if path is None else path
        )
        self.extra_args = list(extra_args)
        self.invocation_dir = config.invocation_params.dir
        self.invocation = Invocation(config)
        self.one_process = _engine_overrides(config)
        self.plain_ids: Mapping[str, str] = {}
        """Node ids with pytest-xdist's ``@group`` suffix, and without it (``GatesRun``)."""
        self.file_paths: Mapping[str, str] = {}
        """The path of each file collected, by node id (``GatesRun.collected_files``)."""
        self.kept_bytecode: Path | None = None
        """Where the run kept its assertion rewriting (``GatesRun``)."""

    def plain_id(self, nodeid: str) -> str:
        """A node id without pytest-xdist's ``@group`` suffix; an "@" in a parameter id stays."""
        return self.plain_ids.get(nodeid, nodeid)

    def cli_id(self, nodeid: str) -> str:
        """A node id as an argument that works from the invocation directory."""
        nodeid = self.plain_id(nodeid)
        path, sep, rest = nodeid.partition("::")
        # Outside the root directory a file's node id is no path from there.
        target = Path(self.file_paths.get(path) or self.config.rootpath / path)
        try:
            relative = os.path.relpath(target, self.invocation_dir)
        except ValueError:  # another drive on Windows
            relative = str(target)
        return relative + sep + rest

    def command(self, invocation_args: Sequence[str], *, file_order: bool = False) -> list[str]:
        """The gates with this run's seed, the invocation's options, then one process (in file
        order, for a brittle test's passing order)."""
        order = ["--atom-gates-order=file"] if file_order else []
        return [
            "--atom-gates",
            f"--atom-gates-seed={self.seed}",
            *invocation_args,
            *self.one_process,
            *order,
        ]

    def reproduce_command(
        self,
        nodeid: str,
        ran_before: Sequence[str],
        *,
        file_order: bool = False,
        collected: Sequence[str] = (),
    ) -> str:
        """The command that replays ``nodeid`` after the tests that ran before it, having
        collected the ``collected`` files first; a file among the tests is collected too, its
        tests deselected (``questions.selection_args``).

        Long lists go into an argument file (``pytest @file``, one argument per line, pytest 8.2
        and newer) in pytest's cache, so the command stays short enough to paste.
        """
        args = selection_args((*ran_before, nodeid), collected, self.cli_id, self.plain_id)
        command = [
            *self.launcher.shown,
            *self.command(self.invocation.shown_args(), file_order=file_order),
        ]
        cache = getattr(self.config, "cache", None)
        if len(args) <= INLINE_LIMIT + 1 or cache is None or not ARGS_FILES:
            return shlex.join([*command, *args])
        try:
            args_file = cache.mkdir("atom_gates") / _args_file_name(nodeid)
            args_file.write_text("\n".join(args) + "\n", encoding="utf-8")
        except OSError:  # an unusable cache costs only the command's length
            return shlex.join([*command, *args])
        return shlex.join([*command, f"@{args_file}"])

    def child_spec(self, repetitions: Mapping[str, int]) -> ChildSpec:
        """How a child pytest that answers questions is started."""
        command = [
            *self.launcher.child(sys.executable),
            *self.command(self.invocation.child_args()),
            "-o",
            "addopts=",
            "--atom-gates-order-checks=0",
            "--atom-gates-reruns=0",
            "--atom-gates-new-test-runs=0",
            # Its own TQ-05 would erase the coverage data file that the run which started it
            # has just written.
            "--atom-gates-mode=TQ-05:off",
            "-q",
            # Only outcomes are read: a failure's traceback would cost more than its test.
            "--tb=no",
            *self.extra_args,
        ]
        env = {k: v for k, v in self.environment.items() if k not in _CHILD_ENV_DROP}
        return ChildSpec(
            command,
            self.invocation_dir,
            env,
            self.cli_id,
            repetitions,
            self.plain_id,
            [str(arg) for arg in self.config.args],
            self.kept_bytecode,
        )
