"""Atomic report writes and the session stopwatch, without a pytest run."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from pytest_atom_gates.clock import Stopwatch
from pytest_atom_gates.reporting.atomic import check_writable, display_path, write_atomically


def test_check_writable(tmp_path: Path) -> None:
    assert check_writable(tmp_path / "new" / "deeper" / "r.json") is None
    assert (tmp_path / "new" / "deeper").is_dir()
    assert list((tmp_path / "new" / "deeper").iterdir()) == []  # the probe file is gone
    assert check_writable(tmp_path / "r.json") is None  # an existing, writable folder
    assert check_writable(tmp_path) == "it is a directory"
    (tmp_path / "file").write_text("x")
    assert (
        check_writable(tmp_path / "file" / "r.json")
        == f"{tmp_path / 'file'} is a file, not a directory"
    )


@pytest.mark.skipif(
    os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root writes anywhere"
)
def test_check_writable_read_only_folder(tmp_path: Path) -> None:
    tmp_path.chmod(0o500)
    try:
        assert check_writable(tmp_path / "r.json") == "Permission denied"
    finally:
        tmp_path.chmod(0o700)


def test_write_atomically_text_and_stream(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "r.json"
    write_atomically(path, '{"a": 1}')
    assert path.read_text(encoding="utf-8") == '{"a": 1}'
    write_atomically(path, lambda stream: stream.write('{"b": 2}'))
    assert json.loads(path.read_text(encoding="utf-8")) == {"b": 2}
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text("old", encoding="utf-8")

    def fail(stream: object) -> None:
        stream.write("half")  # type: ignore[attr-defined]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomically(path, fail)
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_display_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert display_path(tmp_path / "a" / "r.json") == os.path.join("a", "r.json")


def test_stopwatch() -> None:
    readings = iter([5.0, 7.25, 9.0])
    watch = Stopwatch(lambda: next(readings))
    assert (watch.elapsed(), watch.elapsed()) == (2.25, 4.0)
    real = Stopwatch()
    before = time.perf_counter()
    assert 0 <= real.elapsed() <= time.perf_counter() - before + 1


def test_the_temporary_file_is_hidden_beside_the_report_with_a_deep_new_parent(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a" / "b" / "r.json"
    seen: list[str] = []

    def look(stream: object) -> None:
        seen.extend(p.name for p in path.parent.iterdir())
        stream.write("\u00e9t\u00e9")  # type: ignore[attr-defined]

    write_atomically(path, look)
    assert len(seen) == 1
    assert seen[0].startswith(".r.json.")
    assert seen[0].endswith(".tmp")
    assert path.read_bytes() == "\u00e9t\u00e9".encode()


def test_a_new_file_follows_the_umask_and_an_old_one_keeps_its_mode(tmp_path: Path) -> None:
    previous = os.umask(0o027)
    try:
        new = tmp_path / "new.json"
        write_atomically(new, "{}")
        assert new.stat().st_mode & 0o777 == 0o640
        old = tmp_path / "old.json"
        old.write_text("{}")
        old.chmod(0o604)
        write_atomically(old, "[]")
        assert old.stat().st_mode & 0o777 == 0o604
        assert os.umask(0o027) == 0o027  # the umask itself is left as it was
    finally:
        os.umask(previous)


def test_a_phase_is_timed_without_the_report_made_of_it() -> None:
    """As pytest times it: the phase alone. The report made afterwards (a failure's traceback,
    which can take longer than the test) is not the test's time."""
    from types import SimpleNamespace

    from pytest_atom_gates.protocol import _TestRun

    clock = [100.0]

    def call(item: object) -> None:
        clock[0] += 1.0  # the phase itself

    def makereport(item: object, call: object) -> SimpleNamespace:
        clock[0] += 5.0  # the report made of it
        return SimpleNamespace(duration=None, failed=False)

    hooks = SimpleNamespace(pytest_runtest_call=call, pytest_runtest_makereport=makereport)
    test = _TestRun(object(), hooks, seed=0, reruns=0, tags=None, reraise=(), delay=0.0)  # type: ignore[arg-type]
    report = test.phase("call", now=lambda: clock[0])
    assert report.duration == 1.0
