"""Options, ini keys and their validation: the one place where settings are read.

Every setting comes from the command line, else from its environment variable (for the few that
have one), else from the ini file, else from its default, and is validated here before any test is
collected. A bad value is a ``pytest.UsageError`` that names the option, the value and what is
accepted.
"""

from __future__ import annotations

import argparse
import enum
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

import pytest

MAX_SEED = 2**32 - 1
SHUFFLED_ORDER = "shuffled"
FILE_ORDER = "file"
ORDERS = (SHUFFLED_ORDER, FILE_ORDER)


class GateMode(enum.Enum):
    """How a gate's verdict affects the exit status."""

    ENFORCE = "enforce"
    WARN = "warn"
    OFF = "off"


@dataclass(frozen=True)
class GateInfo:
    """A gate's stable id, its human name and the aliases accepted for it in options."""

    id: str
    name: str
    aliases: tuple[str, ...]


GATES: tuple[GateInfo, ...] = (
    GateInfo("TQ-01", "independence", ("independence", "order")),
    GateInfo("TQ-02", "pass rate", ("pass-rate", "pass_rate", "passrate")),
    GateInfo("TQ-03", "duration", ("duration", "time")),
    GateInfo("TQ-04", "determinism", ("determinism", "flaky")),
    GateInfo("TQ-05", "coverage", ("coverage", "cov")),
    GateInfo("TQ-06", "patch coverage", ("patch-coverage", "patch_coverage", "patch")),
)
GATE_NAMES: Mapping[str, str] = {gate.id: gate.name for gate in GATES}


def _gate_lookup() -> dict[str, str]:
    lookup: dict[str, str] = {}
    for gate in GATES:
        lookup[gate.id.lower()] = gate.id
        lookup[gate.id.lower().replace("-", "")] = gate.id
        for alias in gate.aliases:
            lookup[alias] = gate.id
    return lookup


_GATE_LOOKUP = _gate_lookup()


@dataclass(frozen=True)
class FlakyLimit:
    """TQ-04's limit on flaky tests: a count, or a percentage of the tests counted by TQ-02."""

    count: int | None = None
    percent: Decimal | None = None

    def __str__(self) -> str:
        return f"{self.count}" if self.count is not None else f"{self.percent} %"


@dataclass(frozen=True)
class Settings:
    """Validated settings of one ``--atom-gates`` run."""

    seed: int | str
    """An explicit seed, or ``"random"`` or ``"last"`` before the seed is resolved."""
    min_pass_rate: Decimal
    max_duration: float
    max_test_duration: float | None
    stop_on_budget: bool
    modes: Mapping[str, GateMode]
    report_path: Path | None
    strict: bool
    order_checks: int
    order_check_time: Decimal
    """The share of the run's own duration, in percent, that TQ-01's checks may take."""
    slowest: int
    min_coverage: Decimal
    coverage_sources: tuple[str, ...]
    """What TQ-05 measures; empty means coverage.py's own configuration decides."""
    coverage_reports: tuple[CoverageReport, ...]
    min_coverage_per_package: tuple[tuple[str, Decimal], ...]
    coverage_baseline: Path | None = None
    """TQ-05's ratchet: the recorded per-file figures a whole run must not fall below."""
    coverage_drop: Decimal = Decimal("0.1")
    """Percentage points the total may fall below the baseline's."""
    min_patch_coverage: Decimal = Decimal(100)
    """TQ-06: the share of changed executable lines (and branches) that must be covered."""
    patch_min_lines: int = 0
    """TQ-06: a change with fewer changed executable lines is not judged."""
    reruns: int = 2
    reruns_off_by: str = "--atom-gates-reruns=0"
    """What switched reruns off when ``reruns`` is 0: the setting, or a debugger option."""
    rerun_delay: float = 1.0
    rerun_only: tuple[re.Pattern[str], ...] = ()
    rerun_except: tuple[re.Pattern[str], ...] = ()
    rerun_cap: Decimal = Decimal(20)
    rerun_cap_min: int = 10
    max_flaky: FlakyLimit | None = None
    new_test_runs: int = 5
    """Extra runs of each new test that passed its first attempt; 0 switches them off."""
    new_test_max_duration: float = 10.0
    """A new test whose first attempt took longer is not repeated."""
    new_test_budget: Decimal = Decimal(10)
    """The share of the TQ-03 budget, in percent, that repetitions of new tests may take."""
    changed_since: str | None = None
    """A git revision: the tests of files changed since it are new; ``auto`` is the pull
    request's base branch."""
    quarantine_path: Path | None = None
    order: str = SHUFFLED_ORDER
    """``file`` keeps the collection order: nothing is shuffled, so TQ-01 cannot pass."""
    shard: tuple[int, int] | None = None
    """Shard K of N (1-based), from the command line or the CI's environment."""
    shard_source: str = "--atom-gates-shard"
    durations_path: Path | None = None
    html_path: Path | None = None

    def mode(self, gate_id: str, default: GateMode = GateMode.ENFORCE) -> GateMode:
        return self.modes.get(gate_id, default)


COVERAGE_REPORT_KINDS = ("term", "term-missing", "xml", "html", "json", "lcov")
_REPORTS_WITH_PATH = ("xml", "html", "json", "lcov")


@dataclass(frozen=True)
class CoverageReport:
    """One coverage report to produce at the end: its kind and, for files, where it goes."""

    kind: str
    path: Path | None = None
    """None writes to the place coverage.py's configuration names (coverage.xml, htmlcov...)."""


class _Invalid(ValueError):
    """A value that cannot be used; the message says why."""


# -- value parsers: each takes the raw text and returns the typed value or raises _Invalid --


def _percentage(text: str) -> Decimal:
    cleaned = text.strip().removesuffix("%").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise _Invalid("not a number") from None
    if not value.is_finite():
        raise _Invalid("not a finite number")
    return value


def parse_percent(text: str) -> Decimal:
    value = _percentage(text)
    if not Decimal(0) <= value <= Decimal(100):
        raise _Invalid("outside 0..100")
    return value


def parse_share(text: str) -> Decimal:
    """A percentage that may exceed 100: a share of some duration."""
    value = _percentage(text)
    if value < 0:
        raise _Invalid("negative")
    return value


_NUMBER = r"[0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?"
# A bare number of seconds, or parts with units from the largest down: 1h30m, 2m30s, 500ms.
_BARE_SECONDS = re.compile(rf"^{_NUMBER}$")
_DURATION_PART = re.compile(rf"({_NUMBER})\s*(h|min|ms|m|sec|s)\s*")
_UNIT_SECONDS = {"h": 3600.0, "min": 60.0, "m": 60.0, "sec": 1.0, "s": 1.0, "ms": 0.001}
_UNIT_RANK = {"h": 0, "min": 1, "m": 1, "sec": 2, "s": 2, "ms": 3}


def _duration_parts(text: str) -> list[tuple[float, str]] | None:
    """``text``'s (number, unit) parts, or ``None`` unless it is a run of them, largest unit
    first and each unit once."""
    parts: list[tuple[float, str]] = []
    position = 0
    while position < len(text):
        match = _DURATION_PART.match(text, position)
        if match is None:
            return None
        unit = match.group(2)
        if parts and _UNIT_RANK[unit] <= _UNIT_RANK[parts[-1][1]]:
            return None
        parts.append((float(match.group(1)), unit))
        position = match.end()
    return parts or None


def parse_delay(text: str) -> float:
    """A duration in seconds that may be zero: ``90``, ``1.5h``, ``1h30m``, ``500ms``."""
    cleaned = text.strip().lower()
    if _BARE_SECONDS.match(cleaned):
        seconds = float(cleaned)
    else:
        parts = _duration_parts(cleaned)
        if parts is None:
            if cleaned.startswith("-"):
                raise _Invalid("negative")
            raise _Invalid("not a duration")
        seconds = sum(number * _UNIT_SECONDS[unit] for number, unit in parts)
    if not math.isfinite(seconds):
        raise _Invalid("not a finite duration")
    return seconds


def parse_seconds(text: str) -> float:
    """A positive duration in seconds."""
    seconds = parse_delay(text)
    if seconds <= 0:
        raise _Invalid("not a positive duration")
    return seconds


def parse_regex(text: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as exc:
        raise _Invalid(f"not a regular expression: {exc}") from None


def parse_flaky_limit(text: str) -> FlakyLimit:
    cleaned = text.strip()
    if cleaned.endswith("%"):
        return FlakyLimit(percent=parse_percent(cleaned))
    try:
        return FlakyLimit(count=parse_count(cleaned))
    except _Invalid:
        raise _Invalid("not a whole number >= 0 or a percentage like 2%") from None


def parse_count(text: str) -> int:
    cleaned = text.strip()
    if not _digits(cleaned):
        raise _Invalid("not a whole number >= 0")
    return int(cleaned)


def _digits(text: str) -> bool:
    """One or more of 0-9 and nothing else (``int`` takes other digits and signs too): a
    regular expression would be compiled in every run for it."""
    return text.isascii() and text.isdigit()


def parse_revision(text: str) -> str:
    """A git revision as the user gave it; whether it exists is for git to say."""
    cleaned = text.strip()
    if not cleaned:
        raise _Invalid("empty")
    if cleaned.startswith("-"):
        raise _Invalid("starts with '-', which git would read as an option")
    if any(c.isspace() or ord(c) < 32 for c in cleaned):
        raise _Invalid("holds white space or a control character")
    return cleaned


def parse_seed(text: str) -> int | str:
    cleaned = text.strip().lower()
    if cleaned in ("random", "last"):
        return cleaned
    if cleaned.startswith("-") and _digits(cleaned[1:]):
        raise _Invalid("negative")
    if not _digits(cleaned):
        raise _Invalid("not a whole number, 'random' or 'last'")
    value = int(cleaned)
    if value > MAX_SEED:
        raise _Invalid(f"larger than {MAX_SEED}")
    return value


def parse_shard(text: str) -> tuple[int, int]:
    """``K/N``: shard K of N, 1-based."""
    match = re.fullmatch(r"\s*([0-9]+)\s*/\s*([0-9]+)\s*", text)
    if match is None:
        raise _Invalid("not K/N")
    index, total = int(match.group(1)), int(match.group(2))
    if total < 1:
        raise _Invalid("N must be at least 1")
    if not 1 <= index <= total:
        raise _Invalid(f"K must be from 1 to {total}")
    return index, total


SHARD_ENV = ("CI_NODE_INDEX", "CI_NODE_TOTAL")
"""Where GitLab CI's ``parallel:`` (and others after it) number a job: index 1-based."""


def shard_from_environment(environ: Mapping[str, str]) -> tuple[int, int] | None:
    """The shard the CI numbered this job, or None; a usage error for a half or bad pair."""
    index, total = (environ.get(name, "").strip() for name in SHARD_ENV)
    if not index and not total:
        return None
    source = f"{SHARD_ENV[0]}={index!r} and {SHARD_ENV[1]}={total!r}"
    if not index or not total:
        raise pytest.UsageError(
            f"{source}: both or neither must be set. Accepted: {SHARD_ENV[0]} from 1 to "
            f"{SHARD_ENV[1]}, or --atom-gates-shard=K/N."
        )
    try:
        return parse_shard(f"{index}/{total}")
    except _Invalid as exc:
        raise pytest.UsageError(
            f"{source}: invalid shard ({exc}). Accepted: {SHARD_ENV[0]} from 1 to "
            f"{SHARD_ENV[1]}, whole numbers, or --atom-gates-shard=K/N."
        ) from None


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def parse_bool(text: str) -> bool:
    cleaned = text.strip().lower()
    if cleaned in _TRUE:
        return True
    if cleaned in _FALSE:
        return False
    raise _Invalid("not a boolean")


def parse_order(text: str) -> str:
    cleaned = text.strip().lower()
    if cleaned not in ORDERS:
        raise _Invalid("not an order")
    return cleaned


EXTENSION_GATE_ID = re.compile(r"[A-Z][A-Z0-9]{0,7}-[0-9]{2}")
"""An extension's gate id (``SK-01``); whether a gate has it is known once the gates are added."""


def parse_gate_id(text: str) -> str:
    """Map a gate id or alias (``TQ-05``, ``tq05``, ``coverage``) to its id; an extension's
    gate id (``SK-01``) is taken as given and checked once the extensions added their gates."""
    gate = _GATE_LOOKUP.get(text.strip().lower())
    if gate is not None:
        return gate
    if EXTENSION_GATE_ID.fullmatch(text.strip().upper()) and not text.strip().upper().startswith(
        "TQ-"
    ):
        return text.strip().upper()
    raise _Invalid(f"unknown gate {text.strip()!r}")


def parse_mode(text: str) -> tuple[str, GateMode]:
    gate_text, sep, mode_text = text.partition(":")
    if not sep:
        raise _Invalid("missing ':' between gate and mode")
    gate = parse_gate_id(gate_text)
    try:
        mode = GateMode(mode_text.strip().lower())
    except ValueError:
        raise _Invalid(f"unknown mode {mode_text.strip()!r}") from None
    return gate, mode


def parse_package_minimum(text: str) -> tuple[str, Decimal]:
    package, sep, percent = text.partition(":")
    if not sep:
        raise _Invalid("missing ':' between package and percentage")
    name = package.strip()
    if not name:
        raise _Invalid("no package before ':'")
    return name, parse_percent(percent)


def parse_coverage_report(text: str) -> tuple[str, str | None]:
    """``KIND`` or ``KIND:PATH``; the path is resolved later, against where it was given."""
    kind, sep, path = text.strip().partition(":")
    kind = kind.strip().lower()
    if kind not in COVERAGE_REPORT_KINDS:
        raise _Invalid(f"unknown report {kind!r}")
    if sep and kind not in _REPORTS_WITH_PATH:
        raise _Invalid(f"{kind} is shown in the terminal and takes no path")
    if sep and not path.strip():
        raise _Invalid("empty path after ':'")
    return kind, path.strip() if sep else None


def parse_source(text: str) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise _Invalid("empty")
    return cleaned


# pragma: no mutate start (pytest glue, reached by the pytester tests only)
@dataclass(frozen=True)
class OptionSpec:
    """One setting: its command line flag, ini key, default and what it accepts."""

    name: str
    metavar: str
    help: str
    accepted: str
    default: str | None = None
    flag: bool = False
    repeatable: bool = False
    former_ini: str | None = None
    """The ini key's former name: still read, with a warning, until ``FORMER_INI_UNTIL``."""
    ini_type: Literal["string", "args", "linelist"] = "string"
    cli_only: bool = False
    """An action rather than a setting (``--atom-gates-history``): no ini key."""
    env: str | None = None
    """An environment variable that overrides the ini key (and yields to the command line)."""
    parse: Callable[[str], Any] = field(default=str, repr=False)
    show: Callable[[str], str] = field(default=str, repr=False)
    """How a bad value is quoted in the usage error; settings that may hold secrets hide them."""

    @property
    def option(self) -> str:
        return f"--atom-gates-{self.name}"

    @property
    def help_with_default(self) -> str:
        """The help as ``--help`` shows it: with the default, where the setting has one."""
        if self.default is None or self.flag:
            return self.help
        return f"{self.help} Default: {self.default}."

    @property
    def dest(self) -> str:
        return "atom_gates_" + self.name.replace("-", "_")

    @property
    def ini(self) -> str:
        """The ini key: the option's name with underscores (``atom_gates_mode``)."""
        return self.dest


_GATE_CHOICES = ", ".join(gate.id for gate in GATES)

OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec(
        "seed",
        "N|random|last",
        "Seed of the shuffled order and of the per-test RNG reseeding.",
        f"a whole number from 0 to {MAX_SEED}, 'random' or 'last' (the previous run's seed)",
        default="random",
        parse=parse_seed,
    ),
    OptionSpec(
        "min-pass-rate",
        "PCT",
        "TQ-02: minimum share of tests that pass, after reruns.",
        "a percentage from 0 to 100, such as 98 or 99.5",
        default="98",
        parse=parse_percent,
    ),
    OptionSpec(
        "max-duration",
        "SECONDS",
        "TQ-03: time budget of the whole session.",
        "a positive number of seconds, optionally with units: 3600, 90s, 45m, 1.5h, 1h30m",
        default="3600",
        parse=parse_seconds,
    ),
    OptionSpec(
        "max-test-duration",
        "SECONDS",
        "TQ-03: time budget of a single test attempt (off unless set).",
        "a positive number of seconds, optionally with units: 30, 90s, 2m, 1m30s, 500ms",
        parse=parse_seconds,
    ),
    OptionSpec(
        "stop-on-budget",
        "",
        "TQ-03: stop starting new tests once the session budget is spent; the run is incomplete.",
        "true or false",
        default="false",
        flag=True,
        parse=parse_bool,
    ),
    OptionSpec(
        "mode",
        "GATE:MODE",
        "Set a gate to enforce, warn or off, e.g. TQ-05:off (repeatable).",
        f"GATE:MODE pairs, GATE one of {_GATE_CHOICES} (or its name) or an extension's gate "
        "id, MODE one of enforce, warn, off",
        repeatable=True,
        former_ini="atom_gates_modes",
        ini_type="args",
        parse=parse_mode,
    ),
    OptionSpec(
        "report",
        "PATH",
        "Write the JSON report of the run to PATH.",
        "a file path in a writable directory",
        parse=str,
    ),
    OptionSpec(
        "html",
        "PATH",
        "Write the gate report as one self-contained HTML page to PATH (needs the html extra: "
        "pip install 'pytest-atom-gates[html]').",
        "a file path in a writable directory",
        parse=str,
    ),
    OptionSpec(
        "strict",
        "",
        "Partial runs (-k, -m, node ids, --lf) fail whole-suite gates instead of warning.",
        "true or false",
        default="false",
        flag=True,
        parse=parse_bool,
    ),
    OptionSpec(
        "order",
        "shuffled|file",
        "TQ-01: run the tests shuffled, or in file order to replay the order a brittle test "
        "passes in; in file order TQ-01 cannot pass, it warns.",
        "shuffled or file",
        default=SHUFFLED_ORDER,
        parse=parse_order,
    ),
    OptionSpec(
        "shard",
        "K/N",
        "Run shard K of N of the selected tests (also from CI_NODE_INDEX and CI_NODE_TOTAL); "
        "the pass rate and coverage are judged by atom-gates merge.",
        "K/N with 1 <= K <= N, such as 2/4",
        cli_only=True,
        parse=parse_shard,
    ),
    OptionSpec(
        "durations",
        "PATH",
        "Balance shards by the test durations recorded in PATH; a whole run (or atom-gates "
        "merge) records them there.",
        "a file path in a writable directory",
        parse=str,
    ),
    OptionSpec(
        "order-checks",
        "N",
        "TQ-01: at most this many questions (runs of failed tests alone, after earlier tests, "
        "in a forked copy or a fresh process) check the failed tests for order dependence.",
        "a whole number >= 0",
        default="1000",
        parse=parse_count,
    ),
    OptionSpec(
        "order-check-time",
        "PCT",
        "TQ-01: the alone-runs and the polluter search stop after this share of the run's own "
        "duration (and never before two minutes).",
        "a percentage >= 0, such as 100 or 250",
        default="100",
        parse=parse_share,
    ),
    OptionSpec(
        "slowest",
        "N",
        "TQ-03: how many of the slowest tests the summary lists.",
        "a whole number >= 0",
        default="5",
        parse=parse_count,
    ),
    OptionSpec(
        "min-coverage",
        "PCT",
        "TQ-05: minimum total coverage, compared as coverage.py's fail_under is.",
        "a percentage from 0 to 100, such as 25 or 87.5",
        default="25",
        parse=parse_percent,
    ),
    OptionSpec(
        "cov",
        "PACKAGE_OR_PATH",
        "TQ-05: measure this package or directory (repeatable); "
        "default: coverage.py's configuration ([run] source).",
        "a package name or a directory",
        repeatable=True,
        ini_type="args",
        parse=parse_source,
    ),
    OptionSpec(
        "cov-report",
        "KIND[:PATH]",
        "TQ-05: also write a coverage report: term, term-missing, xml[:PATH], html[:DIR], "
        "json[:PATH] or lcov[:PATH] (repeatable).",
        "term, term-missing, xml[:PATH], html[:DIR], json[:PATH] or lcov[:PATH]",
        repeatable=True,
        ini_type="args",
        parse=parse_coverage_report,
    ),
    OptionSpec(
        "min-coverage-per-package",
        "PACKAGE:PCT",
        "TQ-05: minimum coverage of one package, e.g. core:60 (repeatable).",
        "PACKAGE:PCT pairs such as core:60 api:40, PCT from 0 to 100",
        repeatable=True,
        ini_type="args",
        parse=parse_package_minimum,
    ),
    OptionSpec(
        "coverage-baseline",
        "PATH",
        "TQ-05: the coverage ratchet: a whole run compares each file's covered lines and the "
        "total with those recorded in PATH (failing on a drop), then records its own.",
        "a file path in a writable directory",
        parse=str,
    ),
    OptionSpec(
        "coverage-drop",
        "POINTS",
        "TQ-05: with --atom-gates-coverage-baseline, the total may fall by at most this many "
        "percentage points.",
        "a number of percentage points from 0 to 100, such as 0.1 or 1",
        default="0.1",
        parse=parse_percent,
    ),
    OptionSpec(
        "min-patch-coverage",
        "PCT",
        "TQ-06: minimum coverage of the lines changed since --atom-gates-changed-since: every "
        "changed executable line (and branch) by default.",
        "a percentage from 0 to 100, such as 100 or 90",
        default="100",
        parse=parse_percent,
    ),
    OptionSpec(
        "patch-min-lines",
        "N",
        "TQ-06: a change with fewer changed executable lines than N is not judged.",
        "a whole number >= 0",
        default="0",
        parse=parse_count,
    ),
    OptionSpec(
        "reruns",
        "N",
        "TQ-04: rerun a failed test up to N more times, each after --atom-gates-rerun-delay: it "
        "waits in a queue while later tests run, or in place when a module or class fixture "
        "holds it.",
        "a whole number >= 0 (0 switches reruns off)",
        default="2",
        parse=parse_count,
    ),
    OptionSpec(
        "rerun-delay",
        "SECONDS",
        "TQ-04: pause between a failed attempt and its rerun.",
        "a number of seconds >= 0, optionally with units: 1, 0.5s, 500ms, 0",
        default="1",
        parse=parse_delay,
    ),
    OptionSpec(
        "rerun-only",
        "REGEX",
        "TQ-04: rerun only failures whose 'ExceptionType: message' matches (repeatable).",
        "a Python regular expression, one per option or ini line",
        repeatable=True,
        ini_type="linelist",
        parse=parse_regex,
    ),
    OptionSpec(
        "rerun-except",
        "REGEX",
        "TQ-04: never rerun failures whose 'ExceptionType: message' matches (repeatable).",
        "a Python regular expression, one per option or ini line",
        repeatable=True,
        ini_type="linelist",
        parse=parse_regex,
    ),
    OptionSpec(
        "rerun-cap",
        "PCT",
        "TQ-04: stop rerunning once more than PCT of the tests failed their first attempt.",
        "a percentage from 0 to 100, such as 20",
        default="20",
        parse=parse_percent,
    ),
    OptionSpec(
        "rerun-cap-min",
        "N",
        "TQ-04: the rerun cap applies only once at least N tests failed their first attempt.",
        "a whole number >= 0",
        default="10",
        parse=parse_count,
    ),
    OptionSpec(
        "max-flaky",
        "N|PCT%",
        "TQ-04: fail when more tests than this are flaky (default: flaky tests only warn).",
        "a whole number >= 0, or a percentage of the counted tests such as 2%",
        parse=parse_flaky_limit,
    ),
    OptionSpec(
        "new-test-runs",
        "N",
        "TQ-04: run each new test (absent from the flake history, or in a file changed since "
        "--atom-gates-changed-since) N more times after it passed; a new flaky test fails TQ-04.",
        "a whole number >= 0 (0 switches repetitions off)",
        default="5",
        parse=parse_count,
    ),
    OptionSpec(
        "new-test-max-duration",
        "SECONDS",
        "TQ-04: do not repeat a new test whose first attempt took longer than this.",
        "a positive number of seconds, optionally with units: 10, 2.5s, 1min, 1m30s",
        default="10",
        parse=parse_seconds,
    ),
    OptionSpec(
        "new-test-budget",
        "PCT",
        "TQ-04: repetitions of new tests may take at most PCT of the TQ-03 budget "
        "(--atom-gates-max-duration) in all.",
        "a percentage from 0 to 100, such as 10",
        default="10",
        parse=parse_percent,
    ),
    OptionSpec(
        "changed-since",
        "REF",
        "TQ-04 and TQ-06: what git says changed since REF (its merge base with HEAD, plus "
        "uncommitted and untracked files): tests in changed test files are new, and changed "
        "lines must be covered; 'auto' is a GitHub pull request's base branch "
        "(GITHUB_BASE_REF).",
        "a git revision (a branch, tag or commit), or auto",
        parse=parse_revision,
    ),
    OptionSpec(
        "quarantine",
        "PATH",
        "File of quarantined tests (node ids or globs, one per line, # comments): they run, "
        "but their failures count against neither TQ-02 nor TQ-04.",
        "a readable text file",
        parse=str,
    ),
    OptionSpec(
        "history",
        "",
        "Show the flakiest tests recorded in pytest's cache, then exit.",
        "a flag",
        flag=True,
        cli_only=True,
        parse=parse_bool,
    ),
)


_TOML_TYPES: dict[Callable[[str], Any], type] = {
    parse_seed: int,
    parse_percent: float,
    parse_share: float,
    parse_seconds: float,
    parse_delay: float,
    parse_count: int,
    parse_flaky_limit: int,
    parse_bool: bool,
}
"""The TOML type a setting's value may also have, by the parser that reads its text."""


def _ini_type(spec: OptionSpec) -> Any:
    """The ini type to register for ``spec``.

    pytest 9's native TOML tables (``[tool.pytest]``, ``pytest.toml``) give each value its TOML
    type and reject a number or a boolean for a ``string`` key. From pytest 9.2 a union
    ``str | T`` lets them in, while ini files and ``-o`` keep giving the text (its first member);
    either way the setting's own parser reads the value's text, with its own messages.
    """
    native = _TOML_TYPES.get(spec.parse)
    if spec.ini_type != "string" or native is None or pytest.version_tuple < (9, 2):
        return spec.ini_type
    return str | native


def add_options(parser: pytest.Parser, specs: Sequence[OptionSpec] = OPTIONS) -> None:
    """Declare the ``--atom-gates*`` flags and ``atom_gates_*`` ini keys."""
    group = parser.getgroup("atom-gates", "test-quality gates (pytest-atom-gates)")
    for spec in specs:
        if spec.flag:
            group.addoption(
                spec.option, action="store_const", const="true", dest=spec.dest, help=spec.help
            )
        else:
            group.addoption(
                spec.option,
                action="append" if spec.repeatable else "store",
                dest=spec.dest,
                metavar=spec.metavar,
                help=spec.help_with_default,
            )
        if not spec.cli_only:
            # "" as for a string key: an unset key falls through to the setting's default.
            parser.addini(
                spec.ini,
                f"{spec.help_with_default} Accepts {spec.accepted}.",
                type=_ini_type(spec),
                default="" if spec.ini_type == "string" else [],
            )
        if spec.former_ini:
            parser.addini(
                spec.former_ini,
                f"Former name of {spec.ini}, read with a warning until {FORMER_INI_UNTIL}.",
                type=_ini_type(spec),
                default="" if spec.ini_type == "string" else [],
            )


FORMER_INI_UNTIL = "0.2.0"


def _ini_key(config: pytest.Config, spec: OptionSpec) -> str:
    """The ini key to read ``spec`` from: its own, else its former name (with a warning, once)."""
    if spec.former_ini is None or not _ini_given(config, spec.former_ini):
        return spec.ini
    warned: set[str] = config.stash.setdefault(_FORMER_INI_WARNED, set())
    if spec.former_ini not in warned:
        warned.add(spec.former_ini)
        if _ini_given(config, spec.ini):
            message = f"both {spec.ini} and its former name {spec.former_ini} are set: "
            message += f"{spec.former_ini} is ignored; remove it"
        else:
            message = f"{spec.former_ini} is the former name of the ini key {spec.ini} "
            message += f"(like {spec.option}): rename it; the old name is read until "
            message += FORMER_INI_UNTIL
        from pytest_atom_gates.config_warnings import warn_at_config

        warn_at_config(config, message)
    return spec.ini if _ini_given(config, spec.ini) else spec.former_ini


_FORMER_INI_WARNED = pytest.StashKey[set[str]]()


def _describe_ini(config: pytest.Config, spec: OptionSpec, key: str | None = None) -> str:
    where = f" in {config.inipath}" if config.inipath else ""
    return f"ini option {key or spec.ini}{where}"


def _ini_given(config: pytest.Config, key: str) -> bool:
    """Whether the ini file or ``-o`` sets ``key`` at all, even to an empty string."""
    overrides = getattr(config, "_override_ini", ()) or ()  # pytest < 9
    if any(str(item).partition("=")[0].strip() == key for item in overrides):
        return True
    # pytest 9 keeps the file's values and the overrides in one private dict and deprecates
    # the public one, which older pytest offers.
    inicfg: Any = config.__dict__.get("_inicfg")
    if inicfg is None:
        inicfg = config.__dict__.get("inicfg") or {}
    return key in inicfg


def _cli(config: pytest.Config, spec: OptionSpec, namespace: argparse.Namespace | None) -> Any:
    """The command line value; before pytest parsed it fully, from the namespace of known args."""
    if namespace is not None:
        return getattr(namespace, spec.dest, None)
    return config.getoption(spec.dest, None)


def _read(
    config: pytest.Config, spec: OptionSpec, namespace: argparse.Namespace | None = None
) -> list[tuple[str, str]]:
    """The raw values of a setting with where each came from; CLI > environment > ini > default."""
    cli = _cli(config, spec, namespace)
    if cli not in (None, []):
        values = cli if isinstance(cli, list) else [cli]
        return [(str(value), spec.option) for value in values]
    env = os.environ.get(spec.env, "") if spec.env else ""
    if env.strip():
        return [(env, f"environment variable {spec.env}")]
    key = None if spec.cli_only else _ini_key(config, spec)
    ini = None if key is None else config.getini(key)
    if key is not None and ini == "" and _ini_given(config, key):
        return [("", _describe_ini(config, spec, key))]  # set, though empty: judged like any
    if key is not None and ini not in (None, "", []):
        values = ini if isinstance(ini, list) else [ini]
        return [(str(value), _describe_ini(config, spec, key)) for value in values]
    if spec.default is None:
        return []
    return [(spec.default, "default")]


def _parse(spec: OptionSpec, value: str, source: str) -> Any:
    try:
        return spec.parse(value)
    except _Invalid as exc:
        raise pytest.UsageError(
            f"{source}: invalid value {spec.show(value)!r} ({exc}). Accepted: {spec.accepted}."
        ) from None


def read_setting(
    config: pytest.Config, spec: OptionSpec, namespace: argparse.Namespace | None = None
) -> Any:
    """The parsed value of a single-valued setting, or None when it is unset."""
    values = _read(config, spec, namespace)
    if not values:
        return None
    value, source = values[-1]
    return _parse(spec, value, source)


def read_all(
    config: pytest.Config, spec: OptionSpec, namespace: argparse.Namespace | None = None
) -> list[Any]:
    """The parsed values of a repeatable setting, from the command line or else the ini file."""
    return [_parse(spec, value, source) for value, source in _read(config, spec, namespace)]


def _read_modes(
    config: pytest.Config, spec: OptionSpec, namespace: argparse.Namespace | None
) -> dict[str, GateMode]:
    """Gate modes from the ini file, then the command line on top, gate by gate."""
    key = _ini_key(config, spec)
    ini = config.getini(key) or []
    cli = _cli(config, spec, namespace) or []
    sources = [(str(v), _describe_ini(config, spec, key)) for v in ini]
    sources += [(str(v), spec.option) for v in cli]
    modes: dict[str, GateMode] = {}
    for raw, source in sources:
        for part in filter(None, (piece.strip() for piece in raw.split(","))):
            gate, mode = _parse(spec, part, source)
            modes[gate] = mode
    return modes


def _resolve_path(
    config: pytest.Config, spec: OptionSpec, namespace: argparse.Namespace | None
) -> Path | None:
    """A path setting: relative to the invocation directory, or to the ini file's folder."""
    values = _read(config, spec, namespace)
    if not values:
        return None
    raw, source = values[-1]
    if not raw.strip():
        raise pytest.UsageError(
            f"{source}: invalid value {raw!r} (empty). Accepted: {spec.accepted}."
        )
    return (path_base(config, spec, source) / Path(raw).expanduser()).absolute()


def path_base(config: pytest.Config, spec: OptionSpec, source: str) -> Path:
    """What a relative path read from ``source`` is relative to.

    A path in the ini file means the same wherever pytest is started, so it is relative to the ini
    file's directory; one from the command line or the environment is relative to where pytest was
    invoked, as a shell user expects.
    """
    if config.inipath is not None and source == _describe_ini(config, spec):
        return config.inipath.parent
    return config.invocation_params.dir


SPEC_BY_NAME: Mapping[str, OptionSpec] = {spec.name: spec for spec in OPTIONS}


def setting_source(config: pytest.Config, name: str) -> str:
    """Where the value in force of setting ``name`` was given, to name it in an error: the
    option, the environment variable or the ini key with its file."""
    spec = SPEC_BY_NAME[name]
    values = _read(config, spec)
    return values[-1][1] if values else spec.option


def _read_list(
    config: pytest.Config, spec: OptionSpec, namespace: argparse.Namespace | None
) -> list[tuple[Any, str]]:
    """Every value of a repeatable setting, parsed, with where it came from.

    Values may also be separated by commas, as in ``core:60,api:40``.
    """
    values = []
    for raw, source in _read(config, spec, namespace):
        for part in filter(None, (piece.strip() for piece in raw.split(","))):
            values.append((_parse(spec, part, source), source))
    return values


def _read_coverage_reports(
    config: pytest.Config, spec: OptionSpec, namespace: argparse.Namespace | None
) -> tuple[CoverageReport, ...]:
    reports = []
    for (kind, path), source in _read_list(config, spec, namespace):
        where = None
        if path is not None:
            where = (path_base(config, spec, source) / Path(path).expanduser()).absolute()
        reports.append(CoverageReport(kind, where))
    return tuple(reports)


def load_settings(config: pytest.Config, namespace: argparse.Namespace | None = None) -> Settings:
    """Read and validate every setting; raises ``pytest.UsageError`` on the first bad one.

    Before pytest has parsed the whole command line (``pytest_load_initial_conftests``), pass
    ``early_config.known_args_namespace`` as ``namespace``.
    """

    def value(name: str) -> Any:
        return read_setting(config, SPEC_BY_NAME[name], namespace)

    def each(name: str) -> list[Any]:
        return [parsed for parsed, _ in _read_list(config, SPEC_BY_NAME[name], namespace)]

    shard, shard_source = value("shard"), SPEC_BY_NAME["shard"].option
    if shard is None:
        shard, shard_source = shard_from_environment(os.environ), " and ".join(SHARD_ENV)

    return Settings(
        seed=value("seed"),
        min_pass_rate=value("min-pass-rate"),
        max_duration=value("max-duration"),
        max_test_duration=value("max-test-duration"),
        stop_on_budget=value("stop-on-budget"),
        modes=_read_modes(config, SPEC_BY_NAME["mode"], namespace),
        report_path=_resolve_path(config, SPEC_BY_NAME["report"], namespace),
        strict=value("strict"),
        order=value("order"),
        shard=shard,
        shard_source=shard_source,
        durations_path=_resolve_path(config, SPEC_BY_NAME["durations"], namespace),
        html_path=_resolve_path(config, SPEC_BY_NAME["html"], namespace),
        order_checks=value("order-checks"),
        order_check_time=value("order-check-time"),
        slowest=value("slowest"),
        min_coverage=value("min-coverage"),
        coverage_sources=tuple(each("cov")),
        coverage_reports=_read_coverage_reports(config, SPEC_BY_NAME["cov-report"], namespace),
        # A package named twice keeps the minimum named last.
        min_coverage_per_package=tuple(dict(each("min-coverage-per-package")).items()),
        coverage_baseline=_resolve_path(config, SPEC_BY_NAME["coverage-baseline"], namespace),
        coverage_drop=value("coverage-drop"),
        min_patch_coverage=value("min-patch-coverage"),
        patch_min_lines=value("patch-min-lines"),
        reruns=value("reruns"),
        rerun_delay=value("rerun-delay"),
        rerun_only=tuple(read_all(config, SPEC_BY_NAME["rerun-only"], namespace)),
        rerun_except=tuple(read_all(config, SPEC_BY_NAME["rerun-except"], namespace)),
        rerun_cap=value("rerun-cap"),
        rerun_cap_min=value("rerun-cap-min"),
        max_flaky=value("max-flaky"),
        new_test_runs=value("new-test-runs"),
        new_test_max_duration=value("new-test-max-duration"),
        new_test_budget=value("new-test-budget"),
        changed_since=value("changed-since"),
        quarantine_path=_resolve_path(config, SPEC_BY_NAME["quarantine"], namespace),
    )


# pragma: no mutate end
