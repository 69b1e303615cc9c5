"""The flake history file: what its entries may hold, and a run reading it once."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pytest_atom_gates import history
from pytest_atom_gates.history import KEEP, FlakeHistory


def _document(tests: dict[str, object]) -> bytes:
    return json.dumps({"version": 2, "tests": tests}).encode()


@pytest.mark.parametrize(
    "tests",
    [
        {},
        {"t.py::a": 0, "t.py::b": 50},
        {"t.py::a": "P", "t.py::b": "K" * 50},
        {"t.py::a": 7, "t.py::b": "PPF", "t.py::c": 50},
    ],
)
def test_valid_entries_are_read_as_they_are(tests: dict[str, object]) -> None:
    assert history._parse(_document(tests)) == tests


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (51, "t.py::bad: 51 is not a count of runs from 0 to 50"),
        (-1, "t.py::bad: -1 is not a count of runs from 0 to 50"),
        (True, "t.py::bad: True is not 1 to 50 of the letters P, K, F"),
        (1.5, "t.py::bad: 1.5 is not 1 to 50 of the letters P, K, F"),
        (None, "t.py::bad: None is not 1 to 50 of the letters P, K, F"),
        ("", "t.py::bad: '' is not 1 to 50 of the letters P, K, F"),
        ("PX", "t.py::bad: 'PX' is not 1 to 50 of the letters P, K, F"),
        ("P" * 51, f"t.py::bad: '{'P' * 36}... is not 1 to 50 of the letters P, K, F"),
    ],
)
@pytest.mark.parametrize("neighbours", ["counts", "spelled", "both"])
def test_a_bad_entry_among_good_ones_is_named(bad: object, message: str, neighbours: str) -> None:
    """The entries are checked in bulk; one bad entry anywhere is still named, whichever kinds
    of entries surround it."""
    good: dict[str, object] = {
        "counts": {"t.py::a": 3, "t.py::z": 50},
        "spelled": {"t.py::a": "PK", "t.py::z": "F"},
        "both": {"t.py::a": 3, "t.py::z": "F"},
    }[neighbours]
    tests = {"t.py::a": good["t.py::a"], "t.py::bad": bad, "t.py::z": good["t.py::z"]}
    with pytest.raises(history._Damaged) as raised:
        history._parse(_document(tests))
    assert str(raised.value) == message


def _count_parses(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    parsed: list[bytes] = []
    real = history._parse

    def counting(content: bytes) -> dict[str, history.Outcomes]:
        parsed.append(content)
        return real(content)

    monkeypatch.setattr(history, "_parse", counting)
    return parsed


def test_the_end_of_a_run_reuses_what_its_start_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "history.json").write_bytes(_document({"t.py::a": 3, "t.py::b": "PF"}))
    parsed = _count_parses(monkeypatch)
    flake_history = FlakeHistory(tmp_path)
    known, warning = flake_history.load()
    assert (known, warning) == ({"t.py::a": 3, "t.py::b": "PF"}, None)
    recorded, warning = flake_history.record(["t.py::a"], [("t.py::b", "flaky")])
    assert (recorded, warning) == ({"t.py::a": 4, "t.py::b": "PFK"}, None)
    assert len(parsed) == 1
    assert known == {"t.py::a": 3, "t.py::b": "PF"}, "what the start read stays as it read it"
    written = json.loads((tmp_path / "history.json").read_text())
    assert written == {"version": 2, "tests": {"t.py::a": 4, "t.py::b": "PFK"}}


def test_a_history_replaced_since_it_was_read_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another session recorded its run in between: its outcomes are kept, not overwritten
    with what this run read at its start."""
    path = tmp_path / "history.json"
    path.write_bytes(_document({"t.py::a": 3}))
    parsed = _count_parses(monkeypatch)
    flake_history = FlakeHistory(tmp_path)
    flake_history.load()
    replacement = tmp_path / "other-session.json"
    replacement.write_bytes(_document({"t.py::a": 9, "t.py::other": "F"}))
    os.replace(replacement, path)
    recorded, _ = flake_history.record(["t.py::a"])
    assert recorded == {"t.py::a": 10, "t.py::other": "F"}
    assert len(parsed) == 2


def test_passes_are_counted_in_bulk_and_appended_to_spelled_out_histories(
    tmp_path: Path,
) -> None:
    """A count grows by one up to ``KEEP``; a spelled-out history gets a ``P``; a new test
    starts at one; the other outcomes are appended as letters."""
    (tmp_path / "history.json").write_bytes(
        _document({"t.py::full": KEEP, "t.py::mixed": "PF", "t.py::counted": 3, "t.py::f": 2})
    )
    recorded, warning = FlakeHistory(tmp_path).record(
        ["t.py::full", "t.py::mixed", "t.py::counted", "t.py::new"],
        [("t.py::f", "failed"), ("t.py::k", "flaky"), ("t.py::s", "skipped")],
    )
    assert (recorded, warning) == (
        {
            "t.py::full": KEEP,
            "t.py::mixed": "PFP",
            "t.py::counted": 4,
            "t.py::f": "PPF",
            "t.py::new": 1,
            "t.py::k": "K",
        },
        None,
    )
