"""Gates of your own, judged like TQ-01 to TQ-05 from the same run.

A conftest.py or a plugin implements the ``pytest_atom_gates_add_gates`` hook and adds its gates::

    from pytest_atom_gates.extension import ExtensionGate, GateFacts, GateVerdict, Verdict

    class MaxSkipped(ExtensionGate):
        id = "SK-01"
        name = "skipped tests"

        def evaluate(self, facts: GateFacts) -> GateVerdict:
            share = 100 * facts.count("skipped") / max(len(facts.outcomes), 1)
            verdict = Verdict.PASS if share <= 2 else Verdict.FAIL
            return self.verdict(verdict, f"{share:.1f} % skipped", "<= 2 %")

    def pytest_atom_gates_add_gates(config, gates):
        gates.add(MaxSkipped())

Each gate gets a line in the gate table, a verdict in the JSON report (and its own section under
``extensions``), a mode (``--atom-gates-mode=SK-01:warn``) and, enforced, a say in the exit status.
The built-in reruns (TQ-04) and coverage (TQ-05) come in through the same hook.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from pytest_atom_gates.features import EXTENSIONS_KEY, Feature, Writer
from pytest_atom_gates.gates.base import GateVerdict, RunFacts, Verdict
from pytest_atom_gates.settings import EXTENSION_GATE_ID, GATE_NAMES, GateMode, setting_source

if TYPE_CHECKING:
    from pytest_atom_gates.gate_facts import GateFacts
    from pytest_atom_gates.run import GatesRun

__all__ = [
    "ExtensionGate",
    "GateFacts",
    "GateMode",
    "GateRegistry",
    "GateVerdict",
    "Verdict",
]


def __getattr__(name: str) -> Any:
    """``GateFacts``, imported where it is first asked for: only a run with an extension's
    gate makes one, and making its class costs every run's start-up."""
    if name == "GateFacts":
        from pytest_atom_gates.gate_facts import GateFacts

        return GateFacts
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class ExtensionGate:
    """Base class of an extension's gate: set ``id`` and ``name``, write ``evaluate``.

    ``id`` is one to eight capitals and digits, a hyphen and two digits (``SK-01``), and not
    ``TQ-*``, which are the built-in gates'. The other methods are optional.
    """

    id: str = ""
    name: str = ""
    default_mode: GateMode = GateMode.ENFORCE
    """The mode when the settings name none for this gate; ``warn`` for a gate on probation."""

    def evaluate(self, facts: GateFacts) -> GateVerdict:
        """Judge the run: PASS, WARN or FAIL, what was measured against what is required."""
        raise NotImplementedError(f"{type(self).__name__} does not define evaluate()")

    def verdict(
        self,
        verdict: Verdict,
        measured: str,
        required: str,
        reason: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> GateVerdict:
        """A verdict of this gate; ``data`` holds the figures for the JSON report."""
        return GateVerdict(self.id, verdict, measured, required, reason, data=dict(data or {}))

    def header(self) -> str:
        """This gate's part of the header line."""
        return f"{self.id} {self.name}"

    def report_section(self, facts: GateFacts) -> Mapping[str, Any]:
        """This gate's section of the JSON report, under ``extensions``; JSON-serialisable."""
        return {}

    def summary_lines(self, facts: GateFacts) -> Sequence[str]:
        """Lines shown under the gate table, after a heading with the gate's id and name."""
        return ()


class GateRegistry:
    """The ``gates`` of ``pytest_atom_gates_add_gates``: where a run's gates are added."""

    def __init__(self, config: pytest.Config, run: GatesRun, add_feature: Callable[..., None]):
        self.config = config
        self.run = run
        """The run's shared state; for the built-in features, not part of the stable API."""
        self._add_feature = add_feature
        self.added: list[str] = []
        self.closed = False
        """Set once the hook returned: gates are added at start-up only."""

    @property
    def settings(self) -> Any:
        """The run's settings (thresholds, modes); read-only."""
        return self.run.settings

    def add(self, gate: ExtensionGate) -> None:
        """Add ``gate`` to the run. Raises ``pytest.UsageError`` for a gate it cannot take."""
        if self.closed:
            raise RuntimeError(
                f"cannot add {gate!r}: gates are added inside pytest_atom_gates_add_gates only, "
                "before the run starts"
            )
        problem = _problem_with(gate, self.added)
        if problem:
            raise pytest.UsageError(
                f"pytest_atom_gates_add_gates: cannot add {gate!r}: {problem}. Accepted: an "
                "ExtensionGate with a unique id of 1 to 8 capitals and digits, a hyphen and two "
                "digits, not TQ-*, a name, and evaluate()."
            )
        self.added.append(gate.id)
        self._add_feature(ExtensionFeature(gate, self.run))

    def add_feature(
        self,
        feature: Feature,
        observe: Callable[..., None] | None = None,
        tags: frozenset[str] = frozenset(),
    ) -> None:
        """A built-in feature (reruns, coverage): its gate, facts and outputs, and a callback
        for every rerun report and each test's last report that carries one of ``tags``."""
        self._add_feature(feature, observe, tags)

    def check_modes(self) -> None:
        """Every gate the settings set a mode for exists in this run. Raises UsageError."""
        known = [*GATE_NAMES, *self.added]
        unknown = [gate for gate in self.run.settings.modes if gate not in known]
        if unknown:
            raise pytest.UsageError(
                f"{setting_source(self.config, 'mode')}: no gate {', '.join(unknown)} in this "
                f"run. Accepted: {', '.join(known)}, or an alias of TQ-01 to TQ-06."
            )


def _problem_with(gate: Any, added: Sequence[str]) -> str | None:
    if isinstance(gate, type):
        return "it is a class: add an instance of it"
    gate_id, name = getattr(gate, "id", None), getattr(gate, "name", None)
    if not isinstance(gate_id, str) or not EXTENSION_GATE_ID.fullmatch(gate_id):
        return f"its id {gate_id!r} is not like SK-01"
    if gate_id.startswith("TQ-"):
        return f"its id {gate_id} is a built-in gate's"
    if gate_id in added:
        return f"a gate with the id {gate_id} was added already"
    if not isinstance(name, str) or not name.strip():
        return "it has no name"
    if not callable(getattr(gate, "evaluate", None)):
        return "it has no evaluate()"
    mode = getattr(gate, "default_mode", GateMode.ENFORCE)
    if not isinstance(mode, GateMode):
        return f"its default_mode {mode!r} is not a GateMode"
    return None


class ExtensionFeature:
    """An extension's gate as the controller runs every feature: judged, reported, shown."""

    name = EXTENSIONS_KEY

    def __init__(self, gate: ExtensionGate, run: GatesRun) -> None:
        self.extension = gate
        self.run = run
        self.gate = _JudgedGate(gate)

    @property
    def gate_id(self) -> str:
        return self.extension.id

    def header(self) -> str:
        mode = self.run.settings.mode(self.gate_id, _default_mode(self.extension))
        suffix = "" if mode is GateMode.ENFORCE else f" ({mode.value})"
        return f"{_text(str(_safely(self.extension.header, self.extension.id)))}{suffix}"

    def contribute(self, facts: RunFacts) -> None:
        """Nothing: an extension judges the facts the run already has."""

    def _off(self) -> bool:
        return self.run.settings.mode(self.gate_id, self.gate.default_mode) is GateMode.OFF

    def report_section(self, facts: RunFacts) -> Mapping[str, Any]:
        if self._off():
            return {}
        section = _safely(lambda: self.extension.report_section(self.gate.facts_of(facts)), {})
        if not isinstance(section, Mapping):
            return {"problem": f"report_section() returned {type(section).__name__}, not a dict"}
        problem = _json_problem(dict(section))
        if problem:
            return {"problem": f"report_section() returned what JSON cannot hold: {problem}"}
        return dict(section)

    def render(self, write: Writer, verbosity: int, facts: RunFacts) -> None:
        if self._off() or verbosity < 0:
            return
        lines = _safely(lambda: list(self.extension.summary_lines(self.gate.facts_of(facts))), [])
        if lines:
            write("")
            write(f"{self.gate_id} {_text(self.extension.name)}:")
            for line in lines:
                write(f"  {_text(str(line))}")


def _default_mode(gate: Any) -> GateMode:
    mode = getattr(gate, "default_mode", GateMode.ENFORCE)
    return mode if isinstance(mode, GateMode) else GateMode.ENFORCE


def _safely(call: Callable[[], Any], fallback: Any) -> Any:
    """An extension's optional part; one that raises (anything: pytest.fail, SystemExit) is
    left out rather than end the run without its verdicts."""
    try:
        return call()
    except BaseException:
        return fallback


SHORT_TEXT = 200
LONG_TEXT = 2000
"""The longest ``measured``/``required`` and ``reason`` an extension's verdict shows: a table
line, a step summary and an annotation stay readable whatever a gate returns."""


def _text(value: str, limit: int | None = None) -> str:
    """An extension's text with its control characters escaped, so it cannot drive the
    terminal (``\x1b[31m``), and cut to ``limit`` characters; line breaks are left to the
    outputs, which keep lines whole."""
    if not value.isprintable():
        value = "".join(
            c if c.isprintable() or c in "\n\t" else c.encode("unicode_escape").decode()
            for c in value
        )
    if limit is not None and len(value) > limit:
        return f"{value[: limit - 3]}..."
    return value


def _json_problem(value: Any) -> str | None:
    """Why ``value`` cannot go into the JSON report as it is, if it cannot."""
    try:
        json.dumps(value, allow_nan=False, default=str)
    except (TypeError, ValueError, RecursionError) as exc:
        return str(exc)
    return None


class _JudgedGate:
    """The gate protocol over an extension's gate: facts in, a checked verdict out.

    A gate that raises, or returns something that is not its verdict, fails with the reason: a
    gate that could not judge must not pass.
    """

    def __init__(self, gate: ExtensionGate) -> None:
        self.extension = gate
        self.id = gate.id
        self.title = _text(gate.name)
        self.default_mode = _default_mode(gate)
        self._facts: tuple[RunFacts, GateFacts] | None = None

    def facts_of(self, facts: RunFacts) -> GateFacts:
        if self._facts is None or self._facts[0] is not facts:
            from pytest_atom_gates.gate_facts import GateFacts

            self._facts = (facts, GateFacts.of(facts))
        return self._facts[1]

    def evaluate(self, facts: RunFacts) -> GateVerdict:
        gate = self.extension
        where = f"{type(gate).__name__}.evaluate()"
        try:
            verdict = gate.evaluate(self.facts_of(facts))
        except BaseException as exc:  # pytest.fail, SystemExit: the gate could not judge
            return self._broken(f"{where} raised {_raised(exc)}")
        if not isinstance(verdict, GateVerdict):
            return self._broken(f"{where} returned {_shown(verdict)}, not a GateVerdict")
        if verdict.verdict not in (Verdict.PASS, Verdict.WARN, Verdict.FAIL):
            return self._broken(f"{where} said {_shown(verdict.verdict)}, not PASS, WARN or FAIL")
        texts = {"measured": verdict.measured, "required": verdict.required}
        if verdict.reason is not None:
            texts["reason"] = verdict.reason
        wrong = [name for name, value in texts.items() if not isinstance(value, str)]
        if wrong:
            return self._broken(f"{where} gave a verdict whose {', '.join(wrong)} is not text")
        problem = _json_problem(verdict.data) if isinstance(verdict.data, Mapping) else "no dict"
        if problem:
            return self._broken(f"{where} gave data that JSON cannot hold: {problem}")
        return replace(
            verdict,
            gate=self.id,
            title=self.title,
            measured=_text(verdict.measured, SHORT_TEXT),
            required=_text(verdict.required, SHORT_TEXT),
            reason=None if verdict.reason is None else _text(verdict.reason, LONG_TEXT),
            data=dict(verdict.data),
        )

    def _broken(self, why: str) -> GateVerdict:
        return GateVerdict(
            self.id,
            Verdict.FAIL,
            "-",
            "a verdict",
            f"the gate could not judge the run: {why}",
            title=self.title,
        )


def _raised(exc: BaseException) -> str:
    """``KeyError('budget')``; pytest's outcomes (``pytest.fail``) show only their message."""
    text = repr(exc)
    return text if text.startswith(type(exc).__name__) else f"{type(exc).__name__}({text!r})"


def _shown(value: Any) -> str:
    text = repr(value)
    return _text(text if len(text) <= 80 else f"{text[:77]}...")
