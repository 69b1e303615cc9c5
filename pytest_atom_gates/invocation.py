"""The options of this invocation, as a child pytest run must repeat them.

An alone-run must see the test under the same options as the run that failed it, or an
option-dependent failure (a ``--timeout``, a conftest's ``--env=prod``) looks order-dependent.
So the child repeats every option the invocation was given, from the ini file's ``addopts``,
``PYTEST_ADDOPTS`` and the command line, in that order, except two kinds: those that select
tests (the child names its own) and those the child replaces (parallelism, stopping early,
report paths, coverage, debugging). Arguments are split with pytest's own parser, so an option
of any plugin or conftest is recognised with its value.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import shlex
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pytest

HIDDEN = "***"

SELECTION_DESTS = frozenset(
    {
        "file_or_dir",
        "keyword",
        "markexpr",
        "deselect",
        "lf",
        "failedfirst",
        "newfirst",
        "last_failed_no_failures",
        "stepwise",
        "stepwise_skip",
        "stepwise_reset",
        # a CI shard: the child names its tests itself, which may lie in any shard
        "atom_gates_shard",
    }
)
"""Destinations of the options that choose which tests run (and positional arguments)."""

REPLACED_DESTS = frozenset(
    {
        # parallelism: the child runs in one process
        "numprocesses",
        "maxprocesses",
        "maxworkerrestart",
        "dist",
        "distload",
        "loadscopereorder",
        "tx",
        "px",
        "looponfail",
        # stopping early, debugging: one test, no terminal to debug in
        "maxfail",
        "usepdb",
        "usepdb_cls",
        "trace",
        # reports and scratch space the child must not overwrite
        "xmlpath",
        "report_log",
        "htmlpath",
        "basetemp",
        # this plugin's own options that the child sets itself
        "atom_gates",
        "atom_gates_seed",
        "atom_gates_report",
        "atom_gates_html",
        "atom_gates_durations",  # a whole run refreshes the file: the child is no such run
        "atom_gates_order_checks",
        "atom_gates_reruns",
        "atom_gates_new_test_runs",
    }
)
"""Destinations of the options the child replaces with its own."""

_REPLACED_PREFIXES = ("cov_", "no_cov", "json_report")
"""pytest-cov's and pytest-json-report's options: coverage and reports are the child's own."""

ARGS_FILES = pytest.version_tuple >= (8, 2)
"""pytest reads arguments from ``@file`` since 8.2."""

_SECRET_NAME = re.compile(
    r"secret|token|passw|pwd|credential|auth|api.?key|access.?key|private.?key|account.?key|"
    r"sas|signature|cookie",
    re.IGNORECASE,
)


@functools.cache
def _secret_patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """A ``key=`` or ``key:``, the end of its value, and a URI's user information: compiled
    on first use, as only failures and TQ-01's commands are searched for secrets.

    A key (and a URI's scheme) starts where a run of its characters starts: tried from inside a
    run as well, a long run with no "=" after it (30,000 "x" in a failure message) would cost
    quadratic time.
    """
    return (
        re.compile(r"(?<![A-Za-z0-9_.-])[A-Za-z0-9_.-]+[=:]"),
        re.compile(r"[\s,;&]|$"),
        re.compile(r"(?<![A-Za-z0-9+.-])(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@"),
    )


class Argument(NamedTuple):
    """One option with its value, or one positional argument, as given."""

    tokens: tuple[str, ...]
    dest: str | None
    """The option's destination in pytest's namespace; ``file_or_dir`` for positionals;
    None for what the parser does not know."""
    secret_name: bool = False
    """The option's own name says its value is a secret (``--api-token``)."""

    @property
    def repeated(self) -> bool:
        dest = self.dest
        if dest is None:
            return True
        return not (
            dest in SELECTION_DESTS or dest in REPLACED_DESTS or dest.startswith(_REPLACED_PREFIXES)
        )

    def shown(self) -> tuple[str, ...]:
        """The tokens with every secret-bearing value hidden."""
        if self.secret_name:
            head, sep, _ = self.tokens[0].partition("=")
            if sep:
                return (f"{head}={HIDDEN}", *self.tokens[1:])
            return (self.tokens[0], *(HIDDEN for _ in self.tokens[1:]))
        return tuple(hide_secrets(token) for token in self.tokens)


def hide_secrets(text: str) -> str:
    """``text`` with the values of secret-looking ``key=value`` pairs, and any user name and
    password in a URI, replaced by ``***``."""
    keys, value_end, userinfo = _secret_patterns()
    text = userinfo.sub(rf"\g<scheme>{HIDDEN}@", text)
    hidden: list[tuple[int, int]] = []
    for key in keys.finditer(text):  # keys inside values too: a=b=c has the keys a and b
        if _SECRET_NAME.search(key.group()):
            end = value_end.search(text, key.end())
            stop = end.start() if end is not None else len(text)
            if stop > key.end():
                hidden.append((key.end(), stop))
    for start, stop in reversed(_merged(hidden)):
        text = text[:start] + HIDDEN + text[stop:]
    return text


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, stop in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(stop, merged[-1][1]))
        else:
            merged.append((start, stop))
    return merged


def _actions(config: pytest.Config) -> dict[str, argparse.Action]:
    parser: Any = config._parser
    # pytest 9 keeps its argparse parser; older pytest builds it on demand.
    optparser = getattr(parser, "optparser", None) or parser._getparser()
    return dict(optparser._option_string_actions)


def _takes_value(action: argparse.Action) -> bool:
    return action.nargs != 0


def _expand_files(tokens: Iterable[str], base: Path) -> list[str]:
    """``@file`` arguments replaced by the file's lines, one argument each, as pytest reads them."""
    expanded: list[str] = []
    for token in tokens:
        if ARGS_FILES and token.startswith("@") and len(token) > 1:
            try:
                lines = (base / token[1:]).read_text(encoding="utf-8").splitlines()
            except OSError:
                expanded.append(token)  # pytest itself refused it already, or will
                continue
            expanded += _expand_files(lines, base)
        else:
            expanded.append(token)
    return expanded


def split_arguments(actions: dict[str, argparse.Action], tokens: Sequence[str]) -> list[Argument]:
    """Group command-line tokens into options with their values and positional arguments."""
    arguments: list[Argument] = []
    # One pass over an iterator: an option that takes its value from the next token consumes it.
    remaining = iter(tokens)

    def option(tokens: tuple[str, ...], action: argparse.Action, name: str) -> Argument:
        return Argument(tokens, action.dest, bool(_SECRET_NAME.search(name.lstrip("-"))))

    for token in remaining:
        if token == "--":  # everything after it is positional
            arguments += [Argument((rest,), "file_or_dir") for rest in remaining]
            break
        if not token.startswith("-") or token == "-":
            arguments.append(Argument((token,), "file_or_dir"))
            continue
        name, sep, _ = token.partition("=")
        action = actions.get(name)
        if token.startswith("--") or (sep and action is not None):
            if action is None:
                arguments.append(Argument((token,), None))
            elif _takes_value(action) and not sep:
                arguments.append(option(_with_value(token, remaining), action, name))
            else:
                arguments.append(option((token,), action, name))
            continue
        # A cluster of short options: -xq, -n2, -k expr, -rA.
        for position in range(1, len(token)):
            short = f"-{token[position]}"
            action = actions.get(short)
            if action is None:
                arguments.append(Argument((f"-{token[position:]}",), None))
                break
            if not _takes_value(action):
                arguments.append(option((short,), action, short))
                continue
            value = token[position + 1 :]
            if value:
                arguments.append(option((short + value,), action, short))
            else:
                arguments.append(option(_with_value(short, remaining), action, short))
            break
    return arguments


def _with_value(option: str, remaining: Iterator[str]) -> tuple[str, ...]:
    """The option and the next token, its value; the option alone when it ends the line."""
    value = next(remaining, None)
    return (option,) if value is None else (option, value)


def _given(config: pytest.Config, tokens: Sequence[str]) -> list[Argument]:
    base = config.invocation_params.dir
    return split_arguments(_actions(config), _expand_files(tokens, base))


def environment_addopts() -> list[str]:
    return shlex.split(os.environ.get("PYTEST_ADDOPTS", ""))


def given_arguments(config: pytest.Config) -> list[Argument]:
    """Every argument given for this run: in ``PYTEST_ADDOPTS`` and on the command line, not
    the ini file's ``addopts``."""
    return _given(config, [*environment_addopts(), *config.invocation_params.args])


_AS_SCRIPT = "import sys; del sys.path[0]; import pytest; sys.exit(pytest.console_main())"
"""``python -c`` puts the working directory first on ``sys.path``; the ``pytest`` script does
not."""


class Launcher(NamedTuple):
    """How the session was started, as far as a child must repeat it: ``python -m pytest`` puts
    the invocation directory on ``sys.path``, the ``pytest`` script does not, and a test that
    imports a root-level module passes under the one and fails under the other."""

    module: bool

    @classmethod
    def of_session(cls, invocation_dir: Path, path: Sequence[str]) -> Launcher:
        """From ``sys.path`` as the session starts, before a test can change it."""
        here = invocation_dir.resolve()
        return cls(any(Path(entry or ".").resolve() == here for entry in path))

    def child(self, python: str) -> list[str]:
        """The command that starts a child pytest the same way."""
        return [python, "-m", "pytest"] if self.module else [python, "-c", _AS_SCRIPT]

    @property
    def shown(self) -> list[str]:
        """How a reproduce command starts."""
        return ["python", "-m", "pytest"] if self.module else ["pytest"]


class Invocation:
    """What this run was given, split once, for every child run and reproduce command."""

    def __init__(self, config: pytest.Config) -> None:
        ini = [str(token) for token in config.getini("addopts")]
        self.from_ini = [a for a in _given(config, ini) if a.repeated]
        self.given = [a for a in given_arguments(config) if a.repeated]

    def child_args(self) -> list[str]:
        """Every repeated option, ini ``addopts`` included: the child runs with ``addopts``
        emptied and without ``PYTEST_ADDOPTS``, so what it must not repeat stays out."""
        return [token for argument in (*self.from_ini, *self.given) for token in argument.tokens]

    def shown_args(self) -> list[str]:
        """The options for a reproduce command, secrets hidden: those of ``PYTEST_ADDOPTS`` and
        the command line (the ini file's ``addopts`` apply by themselves when it is pasted)."""
        return [token for argument in self.given for token in argument.shown()]
