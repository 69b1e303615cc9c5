"""Unit tests: how the invocation's arguments are split, filtered and shown."""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_atom_gates.invocation import HIDDEN, Argument, hide_secrets, split_arguments
from tests.conftest import NO_COVERAGE


def _actions() -> dict[str, argparse.Action]:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("-x", action="store_const", const=1, dest="maxfail")
    parser.add_argument("-q", action="count", dest="verbose")
    parser.add_argument("-n", dest="numprocesses")
    parser.add_argument("-k", dest="keyword")
    parser.add_argument("-p", action="append", dest="plugins")
    parser.add_argument("--timeout", dest="timeout")
    parser.add_argument("--api-token", dest="api_token")
    parser.add_argument("--strict-markers", action="store_true", dest="strict_markers")
    parser.add_argument("--cov-report", dest="cov_report")
    return dict(parser._option_string_actions)


def test_split_groups_values_clusters_and_positionals() -> None:
    tokens = [
        "-xq",
        "-n2",
        "-k",
        "a or b",
        "--timeout",
        "3",
        "--strict-markers",
        "tests",
        "-pno:randomly",
        "--cov-report=term",
        "--unknown=1",
        "--",
        "-odd",
    ]
    split = split_arguments(_actions(), tokens)
    assert [(a.tokens, a.dest) for a in split] == [
        (("-x",), "maxfail"),
        (("-q",), "verbose"),
        (("-n2",), "numprocesses"),
        (("-k", "a or b"), "keyword"),
        (("--timeout", "3"), "timeout"),
        (("--strict-markers",), "strict_markers"),
        (("tests",), "file_or_dir"),
        (("-pno:randomly",), "plugins"),
        (("--cov-report=term",), "cov_report"),
        (("--unknown=1",), None),
        (("-odd",), "file_or_dir"),
    ]
    assert [a.tokens for a in split if a.repeated] == [
        ("-q",),
        ("--timeout", "3"),
        ("--strict-markers",),
        ("-pno:randomly",),
        ("--unknown=1",),
    ]


def test_a_short_option_with_equals_sign() -> None:
    (argument,) = split_arguments(_actions(), ["-n=2"])
    assert (argument.tokens, argument.dest) == (("-n=2",), "numprocesses")


@pytest.mark.parametrize(
    ("tokens", "shown"),
    [
        (["--api-token", "s3cr3t"], ("--api-token", HIDDEN)),
        (["--api-token=s3cr3t"], (f"--api-token={HIDDEN}",)),
        (["--timeout=3"], ("--timeout=3",)),
    ],
)
def test_secret_named_options_hide_their_value(tokens: list[str], shown: tuple[str, ...]) -> None:
    (argument,) = split_arguments(_actions(), tokens)
    assert argument.shown() == shown


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "atom_gates_lancedb_storage_options=aws_secret_access_key=SOSECRET",
            "atom_gates_lancedb_storage_options=aws_secret_access_key=***",
        ),
        ("s3://user:pw@bucket/x?token=abc&region=eu", "s3://***@bucket/x?token=***&region=eu"),
        ("aws_session_token=a,region=eu", "aws_session_token=***,region=eu"),
        ("password:hunter2", "password:***"),
        ("region=us-east-1", "region=us-east-1"),
        ("https://example.invalid/path", "https://example.invalid/path"),
        ("api_key=", "api_key="),
    ],
)
def test_hide_secrets(text: str, shown: str) -> None:
    assert hide_secrets(text) == shown


def test_an_unknown_argument_is_repeated() -> None:
    assert Argument(("--whatever",), None).repeated


def test_nested_secret_keys_hide_one_merged_span() -> None:
    assert hide_secrets("api_token=a_secret=xyz,next=1") == "api_token=***,next=1"
    assert hide_secrets("x=1 password=p token=t") == "x=1 password=*** token=***"


def test_split_edges() -> None:
    actions = _actions()
    assert [(a.tokens, a.dest) for a in split_arguments(actions, ["-", "-n"])] == [
        (("-",), "file_or_dir"),
        (("-n",), "numprocesses"),
    ]
    assert [(a.tokens, a.dest) for a in split_arguments(actions, ["--timeout"])] == [
        (("--timeout",), "timeout")
    ]
    assert [(a.tokens, a.dest) for a in split_arguments(actions, ["-qZk", "x"])] == [
        (("-q",), "verbose"),
        (("-Zk",), None),
        (("x",), "file_or_dir"),
    ]
    assert [(a.tokens, a.dest) for a in split_arguments(actions, ["-qk", "x", "-q"])] == [
        (("-q",), "verbose"),
        (("-k", "x"), "keyword"),
        (("-q",), "verbose"),
    ]
    (secret,) = split_arguments(actions, ["--api-token=a=b"])
    assert secret.secret_name is True
    assert secret.shown() == ("--api-token=***",)
    (plain,) = split_arguments(actions, ["--strict-markers"])
    assert plain.secret_name is False


def test_the_invocation_repeats_ini_env_and_command_line_options(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_atom_gates.invocation import ARGS_FILES, Invocation

    pytester.makeini("[pytest]\naddopts = -p no:randomly -x\n")
    (pytester.path / "args.txt").write_text("--strict-markers\ntest_a.py\n", encoding="utf-8")
    monkeypatch.setenv("PYTEST_ADDOPTS", "--tb=short -k slow")
    from_file = ["@args.txt"] if ARGS_FILES else ["--strict-markers", "test_a.py"]
    config = pytester.parseconfig("-v", *from_file, "-n", "0", "--junitxml=j.xml", "test_b.py")
    invocation = Invocation(config)
    assert invocation.child_args() == ["-p", "no:randomly", "--tb=short", "-v", "--strict-markers"]
    assert invocation.shown_args() == ["--tb=short", "-v", "--strict-markers"]


def test_the_check_child_repeats_no_selection_from_any_source(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child names its tests itself: ``-k``, ``-m``, ``--deselect``, ``--lf`` and paths from
    the command line, the ini file or ``PYTEST_ADDOPTS`` would narrow it to nothing."""
    from pytest_atom_gates.invocation import Invocation

    pytester.makeini("[pytest]\naddopts = --deselect=test_a.py::test_x -m 'not slow'\n")
    monkeypatch.setenv("PYTEST_ADDOPTS", "--deselect test_a.py::test_y --lf")
    config = pytester.parseconfig(
        "--deselect", "test_a.py::test_z", "-k", "fast", "--strict-markers", "test_a.py"
    )
    invocation = Invocation(config)
    assert invocation.child_args() == ["--strict-markers"]
    assert invocation.shown_args() == ["--strict-markers"]


def test_argument_files_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_atom_gates.invocation import ARGS_FILES, _expand_files, environment_addopts

    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    assert environment_addopts() == []
    monkeypatch.setenv("PYTEST_ADDOPTS", "-v 'a b'")
    assert environment_addopts() == ["-v", "a b"]
    (tmp_path / "outer.txt").write_text("-q\n@inner.txt\n", encoding="utf-8")
    (tmp_path / "inner.txt").write_text("--tb=short\n", encoding="utf-8")
    expanded = _expand_files(["@outer.txt", "@", "@missing.txt", "x"], tmp_path)
    if ARGS_FILES:
        assert expanded == ["-q", "--tb=short", "@", "@missing.txt", "x"]
    else:
        assert expanded == ["@outer.txt", "@", "@missing.txt", "x"]


LAUNCHER_SUITE = {
    "helper.py": "FLAG = {'on': False}\n",
    "tests/test_order.py": (
        "import pytest\n"
        "pytestmark = pytest.mark.atom_gates_keep_order\n"
        "def test_switch_on():\n"
        "    import helper\n"
        "    helper.FLAG['on'] = True\n"
        "def test_needs_it_off():\n"
        "    import helper\n"
        "    assert not helper.FLAG['on']\n"
    ),
    "pytest.ini": "[pytest]\n",
}


@pytest.mark.many_processes  # the launcher does not depend on the Python: py311 runs it
@pytest.mark.parametrize("launcher", ["pytest", "python -m pytest"])
def test_the_checks_start_pytest_as_the_session_was_started(
    pytester: pytest.Pytester, launcher: str
) -> None:
    """The tests import a root-level module: under the ``pytest`` script (the root not on
    sys.path) they fail alone too; under ``python -m pytest`` one depends on the other, and the
    reproduce command, pasted, replays its failure."""
    for name, text in LAUNCHER_SUITE.items():
        (pytester.path / name).parent.mkdir(parents=True, exist_ok=True)
        (pytester.path / name).write_text(text, encoding="utf-8")
    script = Path(sys.executable).with_name("pytest")
    start = [str(script)] if launcher == "pytest" else [sys.executable, "-m", "pytest"]
    options = ["--atom-gates", NO_COVERAGE, "--atom-gates-min-pass-rate=0", "-p", "no:randomly"]
    done = subprocess.run(
        [*start, *options, "--atom-gates-report=report.json"],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads((pytester.path / "report.json").read_text(encoding="utf-8"))
    checks = {c["nodeid"]: c for c in report["order_checks"]}
    victim = checks["tests/test_order.py::test_needs_it_off"]
    if launcher == "pytest":
        assert {c["result"] for c in checks.values()} == {"fails-alone"}, done.stdout
        assert done.returncode == 0, done.stdout
        return
    assert victim["result"] == "order-dependent", done.stdout
    assert victim["reproduce"].startswith("python -m pytest --atom-gates ")
    pasted = subprocess.run(
        victim["reproduce"].replace("python", shlex.quote(sys.executable), 1),
        shell=True,
        cwd=pytester.path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "1 failed, 1 passed" in pasted.stdout, pasted.stdout
