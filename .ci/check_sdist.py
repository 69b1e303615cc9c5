"""The sdist is complete: unpacked, it holds the project's tests, docs and examples, and its
own suite collects against the package installed from it.

    python .ci/check_sdist.py DIST_DIR
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REQUIRED = (
    "tests/__init__.py",
    "tests/conftest.py",
    "tests/lancedb",
    "tests/unit",
    "tox.ini",
    "CHANGELOG.md",
    "mkdocs.yml",
    "docs/index.md",
    "examples",
    "pytest_atom_gates/report.schema.json",
)


def main(dist: Path) -> int:
    (sdist,) = dist.glob("*.tar.gz")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"{sdist}[test]"], check=True)
    with tempfile.TemporaryDirectory() as scratch:
        with tarfile.open(sdist) as archive:
            archive.extractall(scratch, filter="data")
        (root,) = Path(scratch).iterdir()
        missing = [name for name in REQUIRED if not (root / name).exists()]
        if missing:
            print(f"{sdist.name} lacks {', '.join(missing)}")
            return 1
        collected = subprocess.run(
            [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        if collected.returncode != 0:
            print(f"the suite of {sdist.name} does not collect:\n{collected.stdout}")
            return 1
        print(f"{sdist.name}: complete; {collected.stdout.strip().splitlines()[-1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1])))
