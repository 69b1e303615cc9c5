"""What a change touches: the files and lines git says changed since a base.

``--atom-gates-changed-since=REF`` names the base; the change is everything from REF's merge
base with HEAD to the working tree: commits, staged and unstaged edits, and untracked files.
TQ-04 takes the changed test files (their tests are new); TQ-06 the changed lines (each must be
covered). A REF that does not exist, or no git, is a usage error before any test runs.
"""

from __future__ import annotations

import codecs
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

AUTO_REF = "auto"
GITHUB_BASE = "GITHUB_BASE_REF"
"""Set by GitHub Actions on a pull request: the branch it merges into."""
_GIT_TIMEOUT = 60.0

_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", re.M)
# The new file's name: b/NAME, quoted C-style when it holds odd characters; git ends a name that
# holds a space with a tab.
_NEW_FILE = re.compile(rb'^\+\+\+ (?:"b/((?:[^"\\]|\\.)*)"|b/(.*?)\t?|/dev/null)$', re.M)


class _GitRefused(Exception):
    pass


def resolve_ref(ref: str, environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The revision ``ref`` stands for, and a note when there is none (``auto`` off a pull
    request)."""
    if ref != AUTO_REF:
        return ref, None
    base = environ.get(GITHUB_BASE, "").strip()
    if base:
        return f"origin/{base}", None
    return None, (
        f"--atom-gates-changed-since=auto: {GITHUB_BASE} is not set (not a pull request), so no "
        "file counts as changed"
    )


def _git(root: Path, *args: str) -> bytes:
    """Run git in ``root``; a usage error when git is missing or cannot run."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=root,
            capture_output=True,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise pytest.UsageError(
            "--atom-gates-changed-since needs git, which is not on the PATH. Accepted: a git "
            "revision in a git checkout, or no --atom-gates-changed-since."
        ) from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise pytest.UsageError(f"--atom-gates-changed-since: git could not run: {exc}") from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise _GitRefused(message[-1] if message else f"exit status {done.returncode}")
    return done.stdout


@dataclass(frozen=True)
class Base:
    """Where a change starts: the repository's top folder and the merge base's commit."""

    top: Path
    ref: str
    commit: str
    merge_base_found: bool = True
    """False when REF and HEAD share no history here: the change is compared with REF itself."""


def find_base(rootpath: Path, ref: str) -> Base:
    """``ref``'s merge base with HEAD in the repository that holds ``rootpath``."""
    try:
        top = Path(os.fsdecode(_git(rootpath, "rev-parse", "--show-toplevel").strip()))
    except _GitRefused:
        raise pytest.UsageError(
            f"--atom-gates-changed-since={ref}: {rootpath} is not in a git repository. "
            "Accepted: a git revision, in a git checkout."
        ) from None
    try:
        commit = _git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except _GitRefused:
        raise pytest.UsageError(
            f"--atom-gates-changed-since={ref}: no such revision in {top}. Accepted: a branch, "
            "tag or commit git knows (fetch it first: shallow CI checkouts lack the base "
            "branch), or auto on a pull request."
        ) from None
    found = commit.decode().strip()
    try:
        merge_base = _git(top, "merge-base", found, "HEAD").decode().strip()
    except _GitRefused:  # no common history (a shallow clone?), or no HEAD yet
        return Base(top, ref, found, merge_base_found=False)
    return Base(top, ref, merge_base)


def _untracked(base: Base) -> list[str]:
    names = _git(base.top, "ls-files", "--others", "--exclude-standard", "-z")
    return [os.fsdecode(name) for name in names.split(b"\0") if name]


def changed_files(rootpath: Path, base: Base) -> tuple[str, ...]:
    """The files changed since ``base``, committed or not, and the untracked ones, relative to
    ``rootpath`` (those outside it are left out)."""
    names = _git(base.top, "diff", "--name-only", "--no-renames", "-z", base.commit, "--")
    found = [os.fsdecode(name) for name in names.split(b"\0") if name] + _untracked(base)
    return _under(rootpath, base.top, found)


def _under(rootpath: Path, top: Path, names: list[str]) -> tuple[str, ...]:
    files = []
    root = rootpath.resolve()
    for name in dict.fromkeys(names):
        try:
            relative = (top / name).resolve().relative_to(root)
        except ValueError:
            continue
        files.append(relative.as_posix())
    return tuple(sorted(files))


@dataclass(frozen=True)
class ChangedLines:
    """The lines of each file that the change added or modified, by absolute path; a file
    git does not track yet is changed in every line (``None``)."""

    base: Base
    lines: Mapping[str, frozenset[int] | None] = field(default_factory=dict)


def changed_lines(base: Base) -> ChangedLines:
    """Every line added or modified since ``base``: ``git diff`` from it to the working tree
    (renamed files followed, so a moved file is changed only where it was edited)."""
    # The prefixes and filters are set here: a user's diff.noprefix, diff.mnemonicPrefix or
    # textconv would change what the diff says.
    diff = _git(
        base.top,
        *("-c", "core.quotePath=false", "diff", "--no-color", "--no-ext-diff", "--no-textconv"),
        *("--src-prefix=a/", "--dst-prefix=b/", "-U0", "--find-renames", "--diff-filter=AMRC"),
        *(base.commit, "--"),
    )
    found: dict[str, frozenset[int] | None] = {}
    for path, lines in parse_diff(diff).items():
        found[str(base.top / path)] = frozenset(lines)
    for name in _untracked(base):
        found[str(base.top / name)] = None
    # A symbolic link's one "line" is its target: the file it names is measured, not it.
    return ChangedLines(base, {p: n for p, n in found.items() if not os.path.islink(p)})


def parse_diff(diff: bytes) -> dict[str, set[int]]:
    """The new file's added or modified line numbers, per file, from a ``git diff -U0``."""
    changed: dict[str, set[int]] = {}
    current: set[int] | None = None
    for chunk in re.split(rb"^(?=diff --git )", diff, flags=re.M):
        target = _NEW_FILE.search(chunk)
        if target is None or target.group(1) is target.group(2) is None:  # deleted, or unedited
            continue
        if target.group(1) is not None:  # quoted: C escapes, octal bytes for non-ASCII
            name = codecs.escape_decode(target.group(1))[0]
        else:
            name = target.group(2)
        current = changed.setdefault(os.fsdecode(name), set())
        for hunk in _HUNK.finditer(chunk):
            start, count = int(hunk.group(1)), int(hunk.group(2) or 1)
            current.update(range(start, start + count))
    return changed
