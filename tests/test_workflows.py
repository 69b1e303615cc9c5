"""Every pytest command in the project's workflows and the example workflows selects tests.

A command that collects nothing exits 5 in CI and tests nothing: the LanceDB workflow once ran
``pytest -m lancedb`` over a suite in which no test carries that marker.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.one_python  # workflow files, which every Python reads alike

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = {
    ROOT / ".github" / "workflows": ROOT,  # the project's own, run from its root
    ROOT / "examples" / "github-actions": ROOT / "examples",  # a user's, run on the example suite
}
_RUN = re.compile(r"^\s*(?:-\s*)?run:\s*(?P<command>.*\bpytest\b.*)$")
_COLLECTED = re.compile(r"(?P<count>\d+)(?:/\d+)? tests? collected")


def _pytest_commands() -> list[tuple[str, Path, list[str]]]:
    commands = []
    for folder, cwd in WORKFLOWS.items():
        for workflow in sorted(folder.glob("*.yml")):
            for line in workflow.read_text(encoding="utf-8").splitlines():
                match = _RUN.match(line)
                if match is None or "pip install" in match.group("command"):
                    continue
                words = shlex.split(match.group("command"))
                start = words.index("pytest") + 1
                commands.append((f"{workflow.name}: {match.group('command')}", cwd, words[start:]))
    return commands


def _without_workers(args: list[str]) -> list[str]:
    """The command's own options, less xdist's worker count: collecting needs no workers."""
    kept, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg == "-n":
            skip = True
        elif not arg.startswith("-n"):
            kept.append(arg)
    return kept


COMMANDS = _pytest_commands()


def test_the_workflows_hold_pytest_commands() -> None:
    assert len(COMMANDS) >= 3, COMMANDS


@pytest.mark.parametrize(
    ("cwd", "args"), [(cwd, args) for _, cwd, args in COMMANDS], ids=[c[0] for c in COMMANDS]
)
def test_each_workflow_pytest_command_collects_tests(cwd: Path, args: list[str]) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *_without_workers(args),
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    counts = [int(m.group("count")) for m in _COLLECTED.finditer(done.stdout)]
    assert counts, done.stdout
    assert counts[-1] > 0, done.stdout


@pytest.mark.parametrize(
    "workflow",
    [path for folder in WORKFLOWS for path in sorted(folder.glob("*.yml"))],
    ids=lambda path: path.name,
)
def test_every_job_has_a_time_limit(workflow: Path) -> None:
    """A hung job holds a runner for GitHub's default of six hours; each job says its own."""
    text = workflow.read_text(encoding="utf-8")
    jobs = re.findall(r"^(\s*)runs-on:", text, re.MULTILINE)
    limits = re.findall(r"^(\s*)timeout-minutes: \d+$", text, re.MULTILINE)
    assert jobs
    assert limits == jobs


def test_every_claimed_python_is_tested_by_tox_and_the_ci_matrix() -> None:
    """The classifiers, tox's ``pyXY`` environments (``pyXY-pytestNN`` too: 3.10 runs with the
    oldest pytest) and the GitHub matrix name the same Python versions: a version claimed but
    tested nowhere is how 3.14 went unclaimed a year."""
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    claimed = set(re.findall(r'"Programming Language :: Python :: (3\.\d+)"', pyproject))
    tox_ini = (ROOT / "tox.ini").read_text(encoding="utf-8")
    tox_envs = re.findall(r"^\s+py3(\d+)(?:-pytest\d+)?$", tox_ini, re.M)
    matrix = re.findall(
        r'python: "(3\.\d+)", env: py3\d+ }',
        (ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"),
    )
    assert claimed == {"3.10", "3.11", "3.12", "3.13", "3.14"}
    assert {f"3.{minor}" for minor in tox_envs} == claimed
    assert set(matrix) == claimed


def test_the_sharded_workflow_brings_the_merged_durations_back_to_the_next_run() -> None:
    """The merge refreshes the durations file; the next run's shards must split by it."""
    workflow = (ROOT / "examples" / "github-actions" / "sharded.yml").read_text(encoding="utf-8")
    shard, merge = workflow.split("\n  merge:\n")
    key = "key: atom-gates-durations-${{ github.ref_name }}-${{ github.run_id }}"
    restore = shard.index("uses: actions/cache/restore@")
    assert shard.index("path: .test-durations.json", restore) < shard.index(key, restore)
    assert "restore-keys: |\n            atom-gates-durations-${{ github.ref_name }}-\n" in shard
    assert restore < shard.index("--atom-gates-durations=.test-durations.json")
    written = merge.index("--durations=.test-durations.json")
    save = merge.index("uses: actions/cache/save@")
    assert written < save
    assert merge.index("path: .test-durations.json", save) < merge.index(key, save)
    assert "if: ${{ !cancelled() && hashFiles('.test-durations.json') != '' }}" in merge
