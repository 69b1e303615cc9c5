"""actionlint and zizmor over every workflow: this project's own and the examples users copy;
zizmor also over the Dependabot configuration.

Both tools take workflow files, not folders of them, so this finds the files. zizmor runs offline
(no look-ups of action tags) with its strictest persona; any finding of either tool fails.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = (ROOT / ".github" / "workflows", ROOT / "examples" / "github-actions")
DEPENDABOT = ".github/dependabot.yml"


def main() -> int:
    files = [
        path.relative_to(ROOT).as_posix()
        for folder in FOLDERS
        for path in sorted(folder.glob("*.yml"))
    ]
    if not files:
        print("no workflow files found", file=sys.stderr)
        return 1
    failed = False
    for command in (
        ["actionlint", *files],
        ["zizmor", "--offline", "--persona=auditor", *files, DEPENDABOT],
    ):
        print(f"{command[0]}: {len(files)} workflow files", flush=True)
        failed |= subprocess.run(command, cwd=ROOT, check=False).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
