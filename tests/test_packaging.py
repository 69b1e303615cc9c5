"""The sdist is complete: it holds every tracked file, and its own suite collects from it.

Distributions rebuild from sdists and run their tests there; a file missing from the sdist is
a suite that cannot run. The long description on the package index starts with what the
project is and links nowhere relative.
"""

from __future__ import annotations

import email
import email.message
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

import pytest_atom_gates

ROOT = Path(__file__).resolve().parent.parent
HOME = "https://github.com/pytest-atom-gates/pytest-atom-gates"


@pytest.fixture(scope="module")
def sdist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist built from this tree by the project's build backend (hatchling)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "--target", "sdist", "--directory", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (path,) = out.glob("*.tar.gz")
    return path


def members(sdist: Path) -> tuple[str, set[str]]:
    with tarfile.open(sdist) as archive:
        names = [m.name for m in archive.getmembers() if m.isfile()]
    top = names[0].split("/", 1)[0]
    return top, {name.split("/", 1)[1] for name in names}


def tracked_files() -> set[str] | None:
    """What git tracks here or would (not ignored), or None outside a git checkout."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return None
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {line for line in listing.splitlines() if (ROOT / line).is_file()}


def test_sdist_holds_every_tracked_file(sdist: Path) -> None:
    tracked = tracked_files()
    if tracked is None:
        pytest.skip("not a git checkout: nothing to compare the sdist with")
    _, files = members(sdist)
    assert files - tracked == {"PKG-INFO"}
    assert tracked - files == set()


@pytest.mark.one_python  # the sdist's files are the same for every Python
def test_the_unpacked_sdist_collects_its_whole_suite(sdist: Path, tmp_path: Path) -> None:
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path, filter="data")
    top, files = members(sdist)
    unpacked = tmp_path / top
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=unpacked,
        check=False,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    collected = {line.split("::", 1)[0] for line in result.stdout.splitlines() if "::" in line}
    test_files = {f for f in files if re.fullmatch(r"tests/(.+/)?test_[^/]+\.py", f)}
    # Only modules that skip themselves without an optional extra (LanceDB's S3 emulator) may
    # collect nothing; every other test module of the tree is collected from the sdist.
    skipped = set(re.findall(r"SKIPPED \[\d+\] (\S+?):\d+: could not import", result.stdout))
    assert collected == test_files - skipped
    assert "tests/test_packaging.py" in collected


def _metadata(sdist: Path) -> email.message.Message:
    """The sdist's PKG-INFO: what the package index shows and pip reads."""
    top, _ = members(sdist)
    with tarfile.open(sdist) as archive:
        info = archive.extractfile(f"{top}/PKG-INFO")
        assert info is not None
        return email.message_from_bytes(info.read())


def test_long_description_opens_with_the_project_and_links_absolutely(sdist: Path) -> None:
    metadata = _metadata(sdist)
    description = metadata.get_payload()
    assert isinstance(description, str)
    assert description.startswith("\nOne pytest plugin for a CI pipeline's test-quality gates.")
    assert "pip install -q tox" not in description  # the developers' commands stay on README
    links = re.findall(r"\]\(([^)]+)\)", description)
    assert links, "README.md links somewhere"
    assert [link for link in links if not re.match(r"https://|#", link)] == []
    assert f"{HOME}/blob/main/docs/sharding.md" in links
    assert sorted(metadata.get_all("Project-URL") or []) == [
        f"Changelog, {HOME}/blob/main/CHANGELOG.md",
        "Documentation, https://pytest-atom-gates.github.io/pytest-atom-gates/",
        f"Issues, {HOME}/issues",
        f"Source, {HOME}",
    ]


def test_the_published_metadata_names_only_what_users_install(sdist: Path) -> None:
    """The test dependencies are a dependency group, not an extra; pluggy comes with pytest."""
    metadata = _metadata(sdist)
    assert sorted(metadata.get_all("Provides-Extra") or []) == [
        "html",
        "json-report",
        "lancedb",
        "xdist",
    ]
    requires = [r for r in metadata.get_all("Requires-Dist") or [] if "extra ==" not in r]
    assert sorted(requires) == ["coverage>=7.5", "pytest>=8.0"]


def test_the_changelog_is_a_release_log_led_by_this_version() -> None:
    """One section per release, for users; the newest is this version, dated when tagged."""
    root = Path(__file__).resolve().parents[1]
    changelog = (root / "CHANGELOG.md").read_text(encoding="utf-8")
    pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
    version = re.search(r'^version = "([^"]+)"$', pyproject, re.M)
    assert version is not None
    sections = re.findall(r"^## (.*)$", changelog, re.M)
    dated = r"\d+\.\d+\.\d+ - (unreleased|\d{4}-\d{2}-\d{2})"
    assert [section for section in sections if not re.fullmatch(dated, section)] == []
    assert sections[0].startswith(f"{version.group(1)} - ")
    release = (root / ".github" / "workflows" / "release.yml").read_text(encoding="utf-8")
    assert 'grep -Eq "^## ${TAG#v} - [0-9]{4}-[0-9]{2}-[0-9]{2}$" CHANGELOG.md' in release


def test_a_tox_environment_tests_the_wheel_it_installed() -> None:
    """tox builds the wheel once and installs it in each environment, so the suite tests what is
    released. The mutation environment's editable wheel bears the same file name, and built in
    the same packaging environment it replaced the wheel for every environment set up after it:
    they imported the package from the source tree."""
    env_dir = os.environ.get("TOX_ENV_DIR")
    if env_dir is None:
        pytest.skip("not run by tox")
    direct_url = importlib.metadata.distribution("pytest-atom-gates").read_text("direct_url.json")
    if direct_url and json.loads(direct_url).get("dir_info", {}).get("editable"):
        pytest.skip("an editable install, as asked (tox --develop)")
    package = Path(pytest_atom_gates.__file__).resolve()
    assert package.is_relative_to(Path(env_dir).resolve()), package
