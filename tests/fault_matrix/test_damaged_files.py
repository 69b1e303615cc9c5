"""Fault matrix: damaged files the plugin reads or writes never cost a verdict or a report."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_atom_gates.cov.results import _publish
from pytest_atom_gates.ordering import shuffled_order
from tests.conftest import Gates, no_traceback

CACHE_WARNING_SHOWN = ("-W", "default::pytest.PytestCacheWarning")
HISTORY = (".pytest_cache", "d", "atom_gates", "history.json")


def _history(pytester: pytest.Pytester) -> Path:
    path = pytester.path.joinpath(*HISTORY)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\xff\xfe\x00\x01", "not UTF-8 text"),
        (b'{"version": 2, "tests": {"t.py::a": 99999999999999999999999999}}', "t.py::a: "),
        (b'{"version": 2, "tests": {"t.py::a": 10000000000}}', "t.py::a: "),
        (b'{"version": 2, "tests": {"t.py::a": -5}}', "t.py::a: "),
        (b'{"version": 2, "tests": {"t.py::a": "KXZ"}}', "t.py::a: "),
        (b'{"version": 2, "tests": {"t.py::a": ""}}', "t.py::a: "),
        (b'{"version": 2, "tests": {"t.py::a": true}}', "t.py::a: "),
        # Too deep for JSON's decoder before Python 3.13 ("nested too deep"); 3.13 decodes it,
        # and the entry check refuses it: damaged either way, never a RecursionError.
        (b'{"version": 2, "tests": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5001, ""),
    ],
    ids=[
        "not-utf8",
        "huge-count",
        "10e10-count",
        "negative",
        "unknown-letters",
        "empty",
        "bool",
        "deep",
    ],
)
def test_damaged_history_entry_is_set_aside(
    pytester: pytest.Pytester, any_engine: Gates, content: bytes, reason: str
) -> None:
    pytester.makepyfile(test_s="def test_ok(): pass\n")
    history = _history(pytester)
    history.write_bytes(content)
    run = any_engine.run()
    assert run.ret == 0, run.output
    assert no_traceback(run.output)
    warning = run.report["determinism"]["history_warning"]
    assert warning.startswith("flake history ")
    assert f"is damaged ({reason}" in warning
    assert warning.endswith("); a new one is started")
    assert json.loads(history.read_text())["tests"] == {"test_s.py::test_ok": 1}
    assert history.with_suffix(".damaged.json").read_bytes() == content
    assert [v["verdict"] for v in run.report["verdicts"]] == ["PASS"] * 4 + ["OFF", "OFF"]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("-5", "-5 is not a count of runs from 0 to 50"),
        ('"KXZ"', "'KXZ' is not 1 to 50 of the letters P, K, F"),
        ("99999999999999999999999999", "99999999999999999999999999 is not a count of runs"),
    ],
)
def test_damaged_history_names_the_entry(pytester: pytest.Pytester, value: str, shown: str) -> None:
    pytester.makepyfile(test_s="def test_ok(): pass\n")
    _history(pytester).write_text(f'{{"version": 2, "tests": {{"t.py::a": {value}}}}}')
    listing = pytester.runpytest("--atom-gates-history")
    assert listing.ret == 0
    assert no_traceback(listing.stdout.str() + listing.stderr.str())
    listing.stdout.fnmatch_lines(
        [
            f"atom-gates: flake history *history.json is damaged (t.py::a: {shown}*); "
            "a new one is started"
        ]
    )


def test_history_listing_survives_a_non_utf8_file(pytester: pytest.Pytester) -> None:
    _history(pytester).write_bytes(b"\xff\xfe\x00\x01")
    listing = pytester.runpytest("--atom-gates-history")
    assert listing.ret == 0
    assert no_traceback(listing.stdout.str() + listing.stderr.str())
    listing.stdout.fnmatch_lines(
        [
            "atom-gates: flake history *history.json is damaged (not UTF-8 text); "
            "a new one is started",
            "*history.json: 0 tests recorded; in their last 50 runs 0 flaky, 0 broken "
            "(failed each of their last 3 runs)",
        ]
    )


def test_cache_that_is_a_file_costs_no_verdict(
    pytester: pytest.Pytester, any_engine: Gates
) -> None:
    pytester.makepyfile(test_s="def test_ok(): pass\n")
    (pytester.path / ".pytest_cache").write_text("garbage\n")
    # As a user sees it: this suite's own filter would make pytest's warning an error in process.
    run = any_engine.run(*CACHE_WARNING_SHOWN)
    assert run.ret == 0, run.output
    assert no_traceback(run.output)
    assert [v["verdict"] for v in run.report["verdicts"]] == ["PASS"] * 4 + ["OFF", "OFF"]
    cache = pytester.path / ".pytest_cache"
    assert run.report["determinism"]["history_warning"] == (
        f"flake history was not updated: pytest's cache {cache} is unusable (Not a directory)"
    )
    run.result.stdout.fnmatch_lines(
        [
            f"atom-gates: pytest's cache {cache} is unusable (Not a directory): "
            "the seed and the flake history are not saved",
            "*PytestCacheWarning: could not create cache path*",
            "  flake history was not updated: *(Not a directory)",
        ]
    )
    assert cache.read_text() == "garbage\n"


def test_cache_that_is_a_file_keeps_long_reproduce_commands_inline(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    """The argument file has nowhere to go: the command holds every node id instead."""
    pytester.makepyfile(
        test_s="""
        import pytest
        @pytest.mark.parametrize("n", range(45))
        def test_other(n): pass
        def test_lonely(request):
            assert request.session.testscollected == 1, "not alone"
    """
    )
    (pytester.path / ".pytest_cache").write_text("garbage\n")
    chains = [["test_s.py", f"test_s.py::test_other[{n}]"] for n in range(45)]
    chains.append(["test_s.py", "test_s.py::test_lonely"])
    seed = next(s for s in range(500) if shuffled_order(chains, s).index(45) > 35)
    # The alone-run only: a polluter search would shorten the command to the polluter.
    run = gates.run(
        f"--atom-gates-seed={seed}",
        "--atom-gates-min-pass-rate=0",
        "--atom-gates-order-checks=1",
        *CACHE_WARNING_SHOWN,
    )
    assert no_traceback(run.output)
    (check,) = run.report["order_checks"]
    assert check["result"] == "order-dependent"
    command = shlex.split(check["reproduce"])
    assert not any(arg.startswith("@") for arg in command)
    assert command[-len(check["ran_before"]) - 1 :] == [
        *check["ran_before"],
        "test_s.py::test_lonely",
    ]


def test_history_listing_with_a_cache_that_is_a_file(pytester: pytest.Pytester) -> None:
    (pytester.path / ".pytest_cache").write_text("garbage\n")
    listing = pytester.runpytest("--atom-gates-history", *CACHE_WARNING_SHOWN)
    assert listing.ret == pytest.ExitCode.USAGE_ERROR
    assert no_traceback(listing.stdout.str() + listing.stderr.str())
    listing.stdout.fnmatch_lines(
        [
            f"atom-gates: the flake history needs pytest's cache: pytest's cache "
            f"{pytester.path / '.pytest_cache'} is unusable (Not a directory)"
        ]
    )


def test_quarantine_file_with_a_byte_order_mark(pytester: pytest.Pytester, gates: Gates) -> None:
    """Windows editors save UTF-8 with a BOM; it is no part of the first entry."""
    pytester.makepyfile(test_s="def test_known_bad(): assert 0\ndef test_ok(): pass\n")
    (pytester.path / "quarantine.txt").write_bytes(b"\xef\xbb\xbftest_s.py::test_known_bad\n")
    run = gates.run("--atom-gates-quarantine=quarantine.txt", "--atom-gates-reruns=0")
    assert run.ret == 0, run.output
    assert run.report["determinism"]["quarantined"] == [
        {"nodeid": "test_s.py::test_known_bad", "reason": "quarantine.txt:1", "outcome": "failed"}
    ]
    assert run.report["determinism"]["unused_quarantine_entries"] == []


@pytest.fixture
def immutable_coverage_file(pytester: pytest.Pytester) -> Iterator[Path]:
    """A ``.coverage`` that not even root may replace (``chattr +i``), where that is possible."""
    data_file = pytester.path / ".coverage"
    data_file.write_bytes(b"")
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(data_file)], check=False).returncode:
        pytest.skip("needs chattr +i (Linux, root, a file system with the immutable flag)")
    try:
        yield data_file
    finally:
        subprocess.run([chattr, "-i", str(data_file)], check=True)


def test_immutable_coverage_file_leaves_no_temporary_file(
    pytester: pytest.Pytester, immutable_coverage_file: Path
) -> None:
    pytester.mkpydir("pkg")
    (pytester.path / "pkg" / "calc.py").write_text("def one():\n    return 1\n")
    pytester.makepyfile(test_calc="from pkg.calc import one\ndef test_one(): assert one() == 1\n")
    pytester.makepyprojecttoml('[tool.coverage.run]\nsource = ["pkg"]\n')
    run = Gates(pytester, with_coverage=True).run(subprocess=True)
    assert run.ret == 0, run.output
    assert run.verdict("TQ-05")["verdict"] == "PASS"
    warnings = run.report["coverage"]["warnings"]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"could not save the combined data as {immutable_coverage_file}:")
    assert sorted(p.name for p in pytester.path.glob(".coverage*")) == [".coverage"]


def test_unreplaceable_coverage_file_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same, where chattr is not available: the rename itself refuses."""
    session_file = tmp_path / ".coverage.atom-gates-0123abcd"
    session_file.write_bytes(b"data")

    def refuse(source: object, target: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError):
        _publish(session_file, tmp_path / ".coverage")
    assert sorted(p.name for p in tmp_path.iterdir()) == [session_file.name]
